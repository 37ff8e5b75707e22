"""The leader drains the inbox: each due entry, oldest first, is run and settled.

Woken by the inbox watch (a new entry) or every `tick` seconds (entries waiting for a retry);
every `sweep_every` seconds expired entries are deleted. It runs only while leading; a lost
Lease (`NotLeading`) leaves the entry pending for the next leader.

It keeps no bodies: the due list is `Header`s (metadata only, see `store`), and each
entry's body is read just before it runs; one read again then no longer pending or due (settled
by another leader, or retried later) is skipped. The settle stays guarded by the
resourceVersion of that read, so an entry is never settled twice.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta
from typing import Any

from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent

from shared.events import typed
from shared.logs import bind
from shared.ports.errors import ApiError
from shared.runtime.inbox.entries import Entry
from shared.runtime.inbox.store import Inbox
from shared.runtime.running import NotLeading, Runner


class Drainer:
    def __init__(self, inbox: Inbox, runner: Runner, ttl: timedelta, tick: float = 5.0,
                 sweep_every: float = 600.0, log: logging.Logger | None = None) -> None:
        self.inbox, self.runner, self.ttl = inbox, runner, ttl
        self.tick, self.sweep_every = tick, sweep_every
        self.log = bind(log or logging.getLogger("classops.draining"))
        self._wake, self._stop = threading.Event(), threading.Event()
        self._thread: threading.Thread | None = None
        self._swept = 0.0

    def start(self) -> Drainer:
        self._wake.set()  # drain what waited while nobody led
        self._thread = threading.Thread(target=self._run, name="drainer", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def wake(self, *_: Any) -> None:
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.tick)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self.drain()
                if time.monotonic() - self._swept > self.sweep_every:
                    self._swept = time.monotonic()
                    if gone := self.inbox.sweep(self.ttl):
                        self.log.info("expired %d inbox entries", gone)
            except ApiError as err:
                self.log.warning("inbox: %s", err)
            except NotLeading:
                return

    def drain(self) -> int:
        """Run every due entry; how many were settled."""
        settled = 0
        for head in self.inbox.due():
            if self._stop.is_set():
                break
            entry = self.inbox.read(head.name)
            if entry is None or not entry.due(self.inbox.clock()):
                continue
            if self.inbox.save(self._run_one(entry)) is not None:
                settled += 1
        return settled

    def _run_one(self, entry: Entry) -> Entry:
        log = bind(self.log, event_id=entry.id, source=entry.source)
        try:
            event = typed(JSONFormat().read(CloudEvent, entry.event))
        except ValueError as err:  # the webhook checked it; a stored entry may still be bad
            log.error("cannot read the stored event: %s", err)
            return entry.settled({"failed": True, "error": str(err)}, self.inbox.clock())
        outcome = self.runner.run(event)
        done = entry.settled(outcome, self.inbox.clock())
        log.info("event %s", done.state, extra={"attempts": done.attempts})
        return done
