"""A loopback HTTP proxy between a client and a test server that fails chosen requests for real.

The client under test is pointed at the proxy's URL; each request goes through `rule(request)`,
which answers "pass" (forwarded as it came: same Host header, so an S3 SigV4 signature still
holds), "reset" (the connection is closed with no answer: what the client sees when a network
or a server dies mid-request) or "hold" (kept unanswered until the proxy stops: a request in
flight when its process is killed). Every request seen is logged in `seen`.

Nothing in the code under test knows about the proxy: the failure is on the wire.
"""

from __future__ import annotations

import http.client
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Literal
from urllib.parse import parse_qs, urlsplit

Verdict = Literal["pass", "reset", "hold"]
# Not forwarded: the proxy answers `Expect: 100-continue` itself (SigV4 leaves it unsigned).
_HOP = {"connection", "keep-alive", "expect", "transfer-encoding", "proxy-connection"}


@dataclass(frozen=True)
class Request:
    method: str
    path: str  # without the query
    query: dict[str, list[str]]


class FaultProxy:
    def __init__(self, upstream: str, rule: Callable[[Request], Verdict] = lambda r: "pass"
                 ) -> None:
        target = urlsplit(upstream)
        self.upstream = (target.hostname or "127.0.0.1", target.port or 80)
        self.rule = rule
        self.seen: list[tuple[Request, Verdict]] = []
        self.released = threading.Event()
        self.held = threading.Event()  # set once a request is being held
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def _any(self) -> None:
                parts = urlsplit(self.path)
                request = Request(self.command, parts.path, parse_qs(parts.query,
                                                                     keep_blank_values=True))
                verdict = proxy.rule(request)
                proxy.seen.append((request, verdict))
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    body = self.rfile.read(length) if length else b""
                except OSError:  # the client gave up on this request (a retry follows)
                    self.close_connection = True
                    return
                if verdict == "reset":
                    self.close_connection = True
                    self.connection.close()
                    return
                if verdict == "hold":
                    proxy.held.set()
                    proxy.released.wait()
                    self.close_connection = True
                    self.connection.close()
                    return
                upstream = http.client.HTTPConnection(*proxy.upstream, timeout=60)
                try:
                    upstream.putrequest(self.command, self.path, skip_host=True,
                                        skip_accept_encoding=True)
                    for name, value in self.headers.items():
                        if name.lower() not in _HOP:
                            upstream.putheader(name, value)
                    upstream.endheaders(body or None)
                    answer = upstream.getresponse()
                    data = answer.read()
                finally:
                    upstream.close()
                self.send_response_only(answer.status, answer.reason)
                for name, value in answer.getheaders():
                    if name.lower() not in _HOP and name.lower() != "content-length":
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _any

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()
