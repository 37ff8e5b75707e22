"""The HTTP server of `classops serve`: waitress, threaded, in this process (never forking: the
elector and the leader's threads live here, and each fork would start another).

Why waitress: a production WSGI server in pure Python with no fork, whose I/O is asynchronous
and whose worker threads only ever see whole requests. A client that trickles its headers or
body in holds a connection (a buffer), never a worker; werkzeug's development server gave each
connection a thread for as long as the client cared to take.

Bounds (settings, see `shared.settings`):
- `connection_limit` open connections; past it the server stops accepting until some close
  (the kernel's backlog holds the rest), so a flood of slow clients cannot take all memory;
- `channel_timeout` seconds of inactivity on a connection without a request being served close
  it (checked every `cleanup_interval`), so idle or stalled clients give their place back; and
  a request must have arrived whole within `channel_timeout` of its first byte (waitress bounds
  only inactivity: a client trickling a byte a second would hold its connection for ever);
- a request body over the webhook's 1 MiB is refused by waitress itself (`max_request_body_size`).

Access logs are JSON lines through the `classops.http` logger (method, path without the query,
status, bytes, duration in ms, and the event id when the request carried one); never a header,
so never a token, and no ANSI colours.

Graceful stop (`drain` then `close`): stop accepting, answer what is in flight (bounded by a
grace), and only then does the caller release the Lease and close.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from waitress import create_server, wasyncore

from shared.logs import bind

EVENT_ID = "classops.event_id"  # the WSGI environ key where the app leaves the event id

StartResponse = Callable[..., Any]
App = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class _Counted:
    """The app's response, counted in bytes, logged and un-counted from in-flight once the
    server has sent it (WSGI `close()`)."""

    def __init__(self, body: Iterable[bytes], done: Callable[[int], None]) -> None:
        self.body, self.done, self.sent = body, done, 0

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.body:
            self.sent += len(chunk)
            yield chunk

    def close(self) -> None:
        try:
            close = getattr(self.body, "close", None)
            if close is not None:
                close()
        finally:
            self.done(self.sent)


class AccessLog:
    """WSGI middleware: one JSON access log line per request, and the count of requests in
    flight (what a graceful stop waits for)."""

    def __init__(self, app: App, log: logging.Logger | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.app, self.clock = app, clock
        self.log = bind(log or logging.getLogger("classops.http"))
        self._lock = threading.Condition()
        self.in_flight = 0

    def __call__(self, environ: dict[str, Any], start_response: StartResponse
                 ) -> Iterable[bytes]:
        began, status = self.clock(), ["-"]
        with self._lock:
            self.in_flight += 1

        def start(code: str, headers: list[tuple[str, str]], *rest: Any) -> Any:
            status[0] = code.split(" ", 1)[0]
            return start_response(code, headers, *rest)

        def done(sent: int) -> None:
            fields = {"method": environ.get("REQUEST_METHOD", ""),
                      "path": environ.get("PATH_INFO", ""), "status": int(status[0])
                      if status[0].isdigit() else 0, "bytes": sent,
                      "duration_ms": round((self.clock() - began) * 1000, 1)}
            if environ.get(EVENT_ID):
                fields["event_id"] = environ[EVENT_ID]
            self.log.info("%s %s %s", fields["method"], fields["path"], fields["status"],
                          extra=fields)
            with self._lock:
                self.in_flight -= 1
                self._lock.notify_all()

        try:
            body = self.app(environ, start)
        except BaseException:
            done(0)
            raise
        return _Counted(body, done)

    def wait_idle(self, timeout: float) -> bool:
        """Until no request is in flight (True), or `timeout` seconds (False)."""
        with self._lock:
            return self._lock.wait_for(lambda: self.in_flight == 0, timeout)


class HttpServer:
    def __init__(self, app: App, host: str, port: int, threads: int = 8,
                 connection_limit: int = 100, channel_timeout: float = 30.0,
                 max_body: int = 1024 * 1024, log: logging.Logger | None = None) -> None:
        self.log = log or logging.getLogger("classops.http")
        self.app = AccessLog(app, self.log)
        self.server: Any = create_server(
            self.app, host=host, port=port, threads=threads,
            connection_limit=connection_limit, channel_timeout=max(1, round(channel_timeout)),
            cleanup_interval=max(1, round(channel_timeout / 2)),
            # a little over the webhook's own limit, so the app answers 413 with its reasons
            max_request_body_size=max_body + 64 * 1024, ident="classops",
            expose_tracebacks=False)
        self._thread: threading.Thread | None = None
        self._closing = False
        self._bound_request_time(channel_timeout)

    def _bound_request_time(self, limit: float) -> None:
        """Close a connection whose request has been arriving for longer than `limit`, at the
        server's maintenance pass (waitress's own only closes inactive ones)."""
        original, server = self.server.maintenance, self.server
        receiving: dict[int, tuple[int, float]] = {}  # fd: (the partial request, since)

        def maintenance(now: float) -> None:
            original(now)
            seen = {}
            for fd, channel in list(server.active_channels.items()):
                partial = getattr(channel, "request", None)
                if partial is None or channel.requests:
                    continue  # nothing arriving, or a whole request being served
                first = receiving.get(fd)
                since = first[1] if first is not None and first[0] == id(partial) else now
                seen[fd] = (id(partial), since)
                if now - since > limit:
                    self.log.warning("closing a connection whose request took over %g s to "
                                     "arrive", limit)
                    channel.will_close = True
            receiving.clear()
            receiving.update(seen)

        server.maintenance = maintenance

    @property
    def port(self) -> int:
        return int(self.server.effective_port)

    @property
    def in_flight(self) -> int:
        return self.app.in_flight

    def start(self) -> HttpServer:
        self._thread = threading.Thread(target=self._serve, name="http", daemon=True)
        self._thread.start()
        return self

    def _serve(self) -> None:
        try:
            self.server.run()
        except (OSError, ValueError):
            if not self._closing:  # a socket closed under the loop by close(): expected
                raise

    def drain(self, grace: float) -> bool:
        """Stop accepting connections and wait for the requests in flight; False if some were
        still running after `grace` seconds."""
        self.server.accepting = False  # readable() turns false: no more accept()s
        self.server.pull_trigger()  # wake the loop so it stops polling the listener
        done = self.app.wait_idle(grace)
        if not done:
            self.log.warning("stopping with %d requests still in flight", self.app.in_flight)
        return done

    def close(self) -> None:
        self._closing = True
        self.server.close()  # the listener and the loop's trigger
        self.server.task_dispatcher.shutdown(timeout=5)
        wasyncore.close_all(self.server._map)  # the loop ends once its map is empty
        if self._thread is not None:
            self._thread.join(10)
