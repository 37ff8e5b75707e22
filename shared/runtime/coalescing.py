"""Level-triggered watch handlers: a burst of events runs the handler once, with the newest.

A handler registered with `@on_watch(..., coalesce=True)` reads what is current in the cluster
(the warm-up's follow lists the servers and nodes), so the event only says "look again". Run
once per event, as the other handlers are, it re-reads the whole course for each of the
thousand pod changes of a lecture's login storm, and falls behind while the cluster is busiest.
As a controller's work queue does (client-go's, keyed by object; here one key per handler),
the `Coalescer` keeps only the newest event not yet run; one thread runs the handler:

- an event that comes while the handler runs is kept and runs next; those it replaces are
  counted as `coalesced` (`classops_watch_events_total{outcome}`), never lost as changes: the
  next run reads them from the cluster;
- runs start at least `interval` apart (1 s), so a steady stream of changes (a storm's pods
  changing a few times a second each) costs one run a second, not one per change: the warm-up
  sizes for an autoscaler that acts in minutes, and a second later is as good;
- the same event delivered twice (two watches whose selectors both match it) runs once;
- a run that asks for a retry runs again after its delay, doubled at each further retry
  (capped); a newer event runs instead, as soon as the interval allows;
- a lost Lease (`NotLeading`) ends the thread: the next leader's watch delivers what is current.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from prometheus_client import Counter

from shared.events import Event
from shared.logs import bind
from shared.runtime.retrying import DueWorker, key

INTERVAL = 1.0  # seconds between the starts of two runs, at least


class Coalescer(DueWorker):
    def __init__(self, handler_id: str, run: Callable[[Event], dict[str, Any]],
                 counter: Counter, cap: float = 3600.0, interval: float = INTERVAL,
                 monotonic: Callable[[], float] = time.monotonic,
                 log: logging.Logger | None = None) -> None:
        super().__init__()
        self.thread_name = f"coalesce-{handler_id}"
        self.handler_id, self.run, self.counter = handler_id, run, counter
        self.cap, self.interval, self.monotonic = cap, interval, monotonic
        self._next = 0.0  # the earliest start of the next run (monotonic)
        self.log = bind(log or logging.getLogger("classops.coalescing"), handler=handler_id)
        self._lock = threading.Lock()
        self._newest: Event | None = None  # the event to run next
        self._due = 0.0  # when it may run (monotonic): later after a retry
        self._last = ""  # the key of the event run last
        self._retries = 0  # consecutive runs that asked for a retry

    def offer(self, event: Event) -> None:
        """Run `event` soon; it replaces the one waiting, if any (that one is coalesced)."""
        with self._lock:
            if key(event) in (self._last, key(self._newest) if self._newest else ""):
                return  # delivered again by another watch
            if self._newest is not None:
                self.counter.labels("coalesced").inc()
            self._newest, self._retries = event, 0
            self._due = max(self.monotonic(), self._next)
        self._wake.set()

    def run_due(self) -> float | None:
        """Run the waiting event if it is due; seconds until it is (None: nothing waits)."""
        with self._lock:
            if self._newest is None:
                return None
            wait = self._due - self.monotonic()
            if wait > 0:
                return wait
            event, self._newest = self._newest, None
            self._last, self._next = key(event), self.monotonic() + self.interval
        outcome = self.run(event)  # NotLeading propagates: the thread ends
        retry = outcome.get("retry")
        how = "retry" if retry is not None else "failed" if outcome.get("failed") else "ok"
        self.counter.labels(how).inc()
        (self.log.warning if how != "ok" else self.log.debug)(
            "watch event %s", how, extra={"event_id": event.id, "retry": retry})
        if retry is not None:
            with self._lock:
                if self._newest is None:  # nothing newer came meanwhile: this one again
                    delay = min(self.cap, float(retry) * 2 ** self._retries)
                    self._newest, self._last = event, ""
                    self._due = max(self.monotonic() + delay, self._next)
                    self._retries += 1
        return 0.0
