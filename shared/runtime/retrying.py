"""Retries of watch-driven handlers, which have no inbox entry (watch events are too many to
store).

A watch event runs at once, in its watcher's thread. When its outcome asks for a retry (a
`TemporaryError`, an unexpected exception, or actions whose own retries are spent), the event
waits here and one thread runs it again after the delay asked for, doubled at each further
attempt (capped at `cap`), `MAX_ATTEMPTS` runs in all, as the inbox does; then it is given up.
A `PermanentError` ends it at once. The watcher goes on meanwhile.

An event that settled (ok, failed or given up) is remembered by its type and id
(`<uid>/<resourceVersion>`; the type too, since a DELETED synthesized by a re-list carries the
version last seen; the last `Settled.keep` of them, kept by the server across terms of
leadership) and is never run again, whoever delivers it; one that waits for its retry, or is
running, is not run a second time by a fresh delivery either. A lost Lease (`NotLeading`) drops
what waits: the next leader's watch lists again and delivers what is current.

Every ending is logged with the event id and counted in `classops_watch_events_total{outcome}`
(`ok`, `retry`, `failed`, `gave_up`). They are not written to `classops events`: a record per
watch event in the cluster is what the inbox avoids, and failures are found in the logs by id.
"""

from __future__ import annotations

import heapq
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Self

from prometheus_client import Counter

from shared.events import Event
from shared.logs import bind
from shared.runtime.inbox.entries import MAX_ATTEMPTS
from shared.runtime.running import NotLeading


def key(event: Event) -> str:
    return f"{event.type} {event.id}"


class Settled:
    """The keys of the last `keep` settled events (thread-safe)."""

    def __init__(self, keep: int = 10_000) -> None:
        self.keep, self._ids, self._lock = keep, OrderedDict[str, None](), threading.Lock()

    def add(self, event_key: str) -> None:
        with self._lock:
            self._ids[event_key] = None
            while len(self._ids) > self.keep:
                self._ids.popitem(last=False)

    def __contains__(self, event_key: object) -> bool:
        with self._lock:
            return event_key in self._ids


class DueWorker:
    """A thread that runs what is due (`run_due`: seconds until the next, None when nothing
    waits) and sleeps until then or until woken; a lost Lease (`NotLeading`) ends it."""

    thread_name = "due"

    def __init__(self) -> None:
        self._wake, self._stop = threading.Event(), threading.Event()

    def run_due(self) -> float | None:
        raise NotImplementedError

    def start(self) -> Self:
        threading.Thread(target=self._loop, name=self.thread_name, daemon=True).start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                wait = self.run_due()
            except NotLeading:
                return
            if wait == 0.0:
                continue
            self._wake.wait(wait)
            self._wake.clear()


class Retries(DueWorker):
    thread_name = "watch-retries"

    def __init__(self, run: Callable[[Event], dict[str, Any]], counter: Counter,
                 settled: Settled, cap: float = 3600.0, max_attempts: int = MAX_ATTEMPTS,
                 monotonic: Callable[[], float] = time.monotonic,
                 log: logging.Logger | None = None) -> None:
        super().__init__()
        self.run, self.counter, self.settled = run, counter, settled
        self.cap, self.max_attempts, self.monotonic = cap, max_attempts, monotonic
        self.log = bind(log or logging.getLogger("classops.retrying"))
        self._lock = threading.Lock()
        self._queue: list[tuple[float, int, str]] = []  # (due, sequence, key): a heap
        self._waiting: dict[str, tuple[Event, int]] = {}  # key -> (event, the next attempt)
        self._busy: set[str] = set()  # waiting or running
        self._sequence = 0

    def deliver(self, event: Event) -> None:
        """Run a delivered event now, unless it settled already or is busy."""
        with self._lock:
            if key(event) in self.settled or key(event) in self._busy:
                self.log.debug("watch event seen already", extra={"event_id": event.id})
                return
            self._busy.add(key(event))
        self._attempt(event, 1)

    def run_due(self) -> float | None:
        """Run the retries that are due; seconds until the next one (None: nothing waits)."""
        while not self._stop.is_set():
            with self._lock:
                if not self._queue:
                    return None
                due, _, event_key = self._queue[0]
                wait = due - self.monotonic()
                if wait > 0:
                    return wait
                heapq.heappop(self._queue)
                event, attempt = self._waiting.pop(event_key)
            self._attempt(event, attempt)
        return None

    def _attempt(self, event: Event, attempt: int) -> None:
        log = bind(self.log, event_id=event.id, event_type=event.type, attempt=attempt)
        try:
            outcome = self.run(event)
        except NotLeading:
            with self._lock:
                self._busy.discard(key(event))
            raise
        retry = outcome.get("retry")
        if retry is not None and attempt < self.max_attempts:
            delay = min(self.cap, float(retry) * 2 ** (attempt - 1))
            with self._lock:
                self._sequence += 1
                heapq.heappush(self._queue, (self.monotonic() + delay, self._sequence,
                                             key(event)))
                self._waiting[key(event)] = (event, attempt + 1)
            self._wake.set()
            self._end("retry", log.warning, f"watch event retried in {delay:.1f} s", outcome)
            return
        if retry is not None:
            self._end("gave_up", log.error, f"watch event given up after {attempt} runs",
                      outcome)
        elif outcome.get("failed"):
            self._end("failed", log.error, "watch event failed", outcome)
        else:
            self._end("ok", log.info if outcome.get("handlers") else log.debug,
                      "watch event handled", outcome)
        self.settled.add(key(event))
        with self._lock:
            self._busy.discard(key(event))

    def _end(self, how: str, say: Callable[..., None], message: str,
             outcome: dict[str, Any]) -> None:
        self.counter.labels(how).inc()
        say(message, extra={"outcome": how, "handlers": outcome.get("handlers")})
