"""The inbox kept in the cluster: every replica puts, the leader takes, settles and sweeps.

Entries are ConfigMaps labelled `classops.edu/inbox=event` (see `shared.entries`), in the
course's namespace, so the inbox survives restarts and leader changes, and `kubectl get cm -l
classops.edu/inbox` shows it. A put is one create (new, or AlreadyExists: a duplicate); a
settle is one PUT guarded by the entry's resourceVersion.

`pending()` counts what waits to run, for the webhook's bound: a list at most `max_age` old
plus this replica's own puts since, so one replica never overshoots the bound, and several
overshoot it by at most what the others took within `max_age`. The list is small while the
leader keeps up, and only large when the bound is what protects the cluster.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from cloudevents.core.base import BaseCloudEvent
from cloudevents.core.formats.json import JSONFormat

from shared.entries import LABEL, STATE, Entry, entry_name, expired, in_order
from shared.ports.errors import ApiError
from shared.ports.kube import Kube

CONFIGMAP = ("v1", "ConfigMap")


class Inbox:
    def __init__(self, kube: Kube, namespace: str, clock: Callable[[], datetime]) -> None:
        self.kube, self.namespace, self.clock = kube, namespace, clock
        self._lock = threading.Lock()
        self._pending: tuple[int, float] | None = None  # (count, monotonic time of the list)

    def entry(self, event: BaseCloudEvent) -> Entry:
        """The entry `put` would store (`Entry.too_large()` says whether it fits)."""
        return Entry(event.get_source(), event.get_id(), event.get_type(), self.clock(),
                     JSONFormat().write(event).decode())

    def put(self, event: BaseCloudEvent | Entry) -> bool:
        """Keep the event to run; False if (source, id) is there already (a duplicate)."""
        entry = event if isinstance(event, Entry) else self.entry(event)
        try:
            self.kube.create(entry.to_configmap(self.namespace))
        except ApiError as err:
            if err.already_exists:
                return False
            raise
        with self._lock:
            if self._pending is not None:
                self._pending = (self._pending[0] + 1, self._pending[1])
        return True

    def pending(self, max_age: float = 2.0) -> int:
        """How many entries wait to run (see the module's docstring)."""
        with self._lock:
            if self._pending is None or time.monotonic() - self._pending[1] > max_age:
                listed = self.kube.list(*CONFIGMAP, self.namespace,
                                        label_selector=f"{LABEL}=event,{STATE}=pending")
                self._pending = (sum(1 for _ in listed), time.monotonic())
            return self._pending[0]

    def get(self, source: str, event_id: str) -> Entry | None:
        found = self.kube.get(*CONFIGMAP, entry_name(source, event_id), self.namespace)
        return Entry.from_configmap(dict(found.raw)) if found is not None else None

    def entries(self, state: str = "") -> list[Entry]:
        selector = f"{LABEL}=event" + (f",{STATE}={state}" if state else "")
        return in_order(Entry.from_configmap(dict(o.raw)) for o in self.kube.list(
            *CONFIGMAP, self.namespace, label_selector=selector))

    def due(self) -> list[Entry]:
        now = self.clock()
        return [e for e in self.entries("pending") if e.due(now)]

    def save(self, entry: Entry) -> Entry | None:
        """Write the entry back; None if it changed since it was read (someone else has it)."""
        try:
            written = self.kube.replace(entry.to_configmap(self.namespace))
        except ApiError as err:
            if err.status in (404, 409):
                return None
            raise
        return Entry.from_configmap(dict(written.raw))

    def sweep(self, ttl: timedelta) -> int:
        """Delete expired entries; how many."""
        gone = expired(self.entries(), self.clock(), ttl)
        for entry in gone:
            try:
                self.kube.delete(*CONFIGMAP, entry.name, self.namespace)
            except ApiError as err:
                if not err.not_found:
                    raise
        return len(gone)
