"""The inbox kept in the cluster: every replica puts, the leader takes, settles and sweeps.

Entries are ConfigMaps labelled `classops.edu/inbox=event` (see `entries`), in the
course's namespace, so the inbox survives restarts and leader changes, and `kubectl get cm -l
classops.edu/inbox` shows it. A put is one create (new, or AlreadyExists: a duplicate); a
settle is one PUT guarded by the entry's resourceVersion.

`pending()` counts what waits to run, for the webhook's bound: a list at most `max_age` old
plus this replica's own puts since, so one replica never overshoots the bound, and several
overshoot it by at most what the others took within `max_age`. The list is small while the
leader keeps up, and only large when the bound is what protects the cluster.

Memory (design: flat in the number of users). An entry's body is up to ~1 MiB and up to
`CLASSOPS_INBOX_MAX_PENDING` (10,000) may wait, so nothing here keeps bodies of many entries:
the leader's index is `headers()` (names, resourceVersions, state, received time, from
metadata; the data dropped as each page is decoded), and `read()` fetches one entry's body when
it is about to run. Lists go `PAGE` entries at a time, so one answer holds at most ~`PAGE`
MiB. Why a paged list and not an index fed by the pending watch: our API server (and the
emulator) gives no PartialObjectMetadata, so either way every body crosses the wire, and a list
per pass is what already proved at-least-once (a watch-fed index would have to be kept right
across 410s and leader changes); the pending watch only wakes the drainer and keeps no data
(`without_data`). `entries()` (bodies included) is for `classops events`, not the leader.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

from cloudevents.core.base import BaseCloudEvent
from cloudevents.core.formats.json import JSONFormat

from shared.events import KubeObject
from shared.ports.errors import ApiError
from shared.ports.kube import Kube
from shared.runtime.inbox.entries import LABEL, STATE, Entry, Header, entry_name, expired, in_order

CONFIGMAP = ("v1", "ConfigMap")
PAGE = 50  # entries per list answer: at most ~50 MiB of bodies in flight


class Inbox:
    def __init__(self, kube: Kube, namespace: str, clock: Callable[[], datetime]) -> None:
        self.kube, self.namespace, self.clock = kube, namespace, clock
        self._lock = threading.Lock()
        self._pending: tuple[int, float] | None = None  # (count, monotonic time of the list)

    def entry(self, event: BaseCloudEvent) -> Entry:
        """The entry `put` would store (`Entry.too_large()` says whether it fits)."""
        return Entry(event.get_source(), event.get_id(), event.get_type(), self.clock(),
                     event=JSONFormat().write(event).decode())

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
                listed = self.kube.list(*CONFIGMAP, self.namespace, page=PAGE,
                                        label_selector=f"{LABEL}=event,{STATE}=pending")
                self._pending = (sum(1 for _ in listed), time.monotonic())
            return self._pending[0]

    def get(self, source: str, event_id: str) -> Entry | None:
        return self.read(entry_name(source, event_id))

    def read(self, name: str) -> Entry | None:
        """One entry, its body included; None if it is gone."""
        found = self.kube.get(*CONFIGMAP, name, self.namespace)
        return Entry.from_configmap(dict(found.raw)) if found is not None else None

    def entries(self, state: str = "") -> list[Entry]:
        """Every entry with its body (for `classops events`; the leader uses `headers`)."""
        return in_order(Entry.from_configmap(dict(o.raw)) for o in self._list(state))

    def headers(self, state: str = "") -> list[Header]:
        """Every entry without its body, oldest first."""
        return in_order(Header.from_configmap(dict(o.raw)) for o in self._list(state))

    def due(self) -> list[Header]:
        now = self.clock()
        return [e for e in self.headers("pending") if e.due(now)]

    def _list(self, state: str) -> Iterator[KubeObject]:
        selector = f"{LABEL}=event" + (f",{STATE}={state}" if state else "")
        return self.kube.list(*CONFIGMAP, self.namespace, label_selector=selector, page=PAGE)

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
        gone = expired(self.headers(), self.clock(), ttl)
        for entry in gone:
            try:
                self.kube.delete(*CONFIGMAP, entry.name, self.namespace)
            except ApiError as err:
                if not err.not_found:
                    raise
        return len(gone)
