"""Core `v1` Events, written as client-go's event recorder (`tools/record`) writes them.

Every emulated component (scheduler, kubelet, node autoscaler, node controller, and any other
controller) records through `record_event(emu, obj, reason, message, component=...)`. What the
real recorder's `EventCorrelator` does is done here, on the emulator's clock:

- **Dedupe.** An event identical to an earlier one (same source, object, type, reason and
  message) is not written again: the earlier Event gets `count + 1` and a new `lastTimestamp`
  (`kubectl get events` then shows "(x3 over 5m)").
- **Aggregation.** When one source has written 10 or more different messages with the same
  reason about one object within 10 minutes, further ones are folded into a single Event whose
  message starts "(combined from similar events): " (`EventAggregator`, maxEvents 10,
  maxIntervalInSeconds 600).
- **Spam filter.** At most 25 events per source and object in a burst, then one every 5 minutes
  (`EventSourceObjectSpamFilter`, a token bucket with qps 1/300); the rest are dropped.
- **Names and places.** `<object name>.<hex nanoseconds>`; events about cluster-scoped objects
  (Nodes) go to the `default` namespace, as the real recorder puts them.
- **Lifetime.** The apiserver keeps Events for one hour after their last write (`--event-ttl`);
  events written here older than that on the clock are deleted on a later write.

The real scheduler writes through the newer `events.k8s.io` recorder (series instead of
count); here every component uses this one, so `count`/`firstTimestamp`/`lastTimestamp` and
`source.component` are always set, which is what `kubectl describe` and `get events` read.
"""

from __future__ import annotations

import contextlib
import copy
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from .clock import timestamp
from .store import ApiError, Obj

if TYPE_CHECKING:
    from .emulator import Emulator

MAX_SIMILAR, SIMILAR_WINDOW = 10, 600.0
BURST, REFILL_SECONDS = 25, 300.0
TTL_SECONDS = 3600.0
COMBINED = "(combined from similar events): "


@dataclass
class _Bucket:
    tokens: float
    at: datetime


@dataclass
class _Similar:
    messages: set[str] = field(default_factory=set)
    last: datetime | None = None


class EventRecorder:
    """One per emulator (`recorder(emu)`); thread-safe, every controller thread shares it."""

    def __init__(self, emu: Emulator) -> None:
        self.emu = emu
        self._lock = threading.Lock()
        self._written: dict[tuple[Any, ...], tuple[str, str]] = {}  # key -> (namespace, name)
        self._similar: dict[tuple[Any, ...], _Similar] = {}
        self._buckets: dict[tuple[Any, ...], _Bucket] = {}
        self._last_write: dict[tuple[str, str], datetime] = {}
        self._swept: datetime | None = None
        self._serial = 0
        self.dropped = 0  # events the spam filter dropped, for a test to see

    def record(self, obj: Obj, reason: str, message: str, *, component: str,
               type: str = "Normal", host: str = "", field_path: str = "",
               related: Obj | None = None, when: datetime | None = None) -> Obj | None:
        now = when or self.emu.clock.now()
        meta = obj.get("metadata") or {}
        involved = {"kind": obj.get("kind", ""), "namespace": meta.get("namespace", ""),
                    "name": meta.get("name", ""), "uid": meta.get("uid", ""),
                    "apiVersion": obj.get("apiVersion", ""),
                    "resourceVersion": meta.get("resourceVersion", "")}
        if field_path:
            involved["fieldPath"] = field_path
        namespace = involved["namespace"] or "default"
        source = (component, host)
        subject = tuple(involved[k] for k in ("kind", "namespace", "name", "uid", "apiVersion"))
        with self._lock:
            if not self._allow((*source, *subject), now):
                self.dropped += 1
                return None
            similar_key = (*source, *subject, field_path, type, reason)
            similar = self._similar.setdefault(similar_key, _Similar())
            if similar.last is None or (now - similar.last).total_seconds() > SIMILAR_WINDOW:
                similar.messages = set()
            similar.last = now
            similar.messages.add(message)
            if len(similar.messages) >= MAX_SIMILAR:
                key: tuple[Any, ...] = similar_key
                message = COMBINED + message
            else:
                key = (*similar_key, message)
            event = self._write(key, namespace, involved, reason, message, type, component, host,
                                related, now)
            self._sweep(now)
            return event

    def _allow(self, key: tuple[Any, ...], now: datetime) -> bool:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(float(BURST), now)
        refill = max((now - bucket.at).total_seconds(), 0.0) / REFILL_SECONDS
        bucket.tokens, bucket.at = min(float(BURST), bucket.tokens + refill), now
        if bucket.tokens < 1:
            return False
        bucket.tokens -= 1
        return True

    def _write(self, key: tuple[Any, ...], namespace: str, involved: Obj, reason: str,
               message: str, type: str, component: str, host: str, related: Obj | None,
               now: datetime) -> Obj | None:
        res = self.emu.catalogue.find("", "v1", "events")
        assert res is not None
        reg, stamp = self.emu.registry, timestamp(now)
        where = self._written.get(key)
        if where is not None:
            old = self.emu.store.get(res.key, where)
            if old is not None:
                new = copy.deepcopy(old)
                new["count"] = int(old.get("count") or 1) + 1
                new["lastTimestamp"], new["message"] = stamp, message
                try:
                    written = reg.update(res, where[0], where[1], new, manager=component)
                except ApiError:
                    return None
                self._last_write[where] = now
                return written
        self._serial += 1
        nanos = int(now.timestamp() * 1e9) + self._serial  # unique within one instant
        body: Obj = {
            "metadata": {"name": f"{involved['name']}.{nanos:x}", "namespace": namespace},
            "involvedObject": involved, "reason": reason, "message": message, "type": type,
            "source": {"component": component, **({"host": host} if host else {})},
            "firstTimestamp": stamp, "lastTimestamp": stamp, "count": 1,
            "reportingComponent": component, "reportingInstance": host}
        if related is not None:
            rmeta = related.get("metadata") or {}
            body["related"] = {"kind": related.get("kind", ""),
                               "namespace": rmeta.get("namespace", ""),
                               "name": rmeta.get("name", ""), "uid": rmeta.get("uid", ""),
                               "apiVersion": related.get("apiVersion", "")}
        try:
            written = reg.create(res, namespace, body, manager=component)
        except ApiError:  # namespace gone or terminating: the real recorder gives up too
            return None
        where = (namespace, written["metadata"]["name"])
        self._written[key] = where
        self._last_write[where] = now
        return written

    def _sweep(self, now: datetime) -> None:
        if self._swept is not None and (now - self._swept).total_seconds() < 60:
            return
        self._swept = now
        res = self.emu.catalogue.find("", "v1", "events")
        assert res is not None
        limit = now - timedelta(seconds=TTL_SECONDS)
        for where, last in list(self._last_write.items()):
            if last < limit:
                del self._last_write[where]
                with contextlib.suppress(ApiError):
                    self.emu.registry.delete(res, where[0], where[1], {})
        live = set(self._last_write)
        self._written = {k: w for k, w in self._written.items() if w in live}


_MADE = threading.Lock()


def recorder(emu: Emulator) -> EventRecorder:
    """The emulator's one recorder, made on first use."""
    with _MADE:
        made: EventRecorder | None = getattr(emu, "_event_recorder", None)
        if made is None:
            made = EventRecorder(emu)
            emu._event_recorder = made  # type: ignore[attr-defined]
        return made


def record_event(emu: Emulator, obj: Obj, reason: str, message: str, *, component: str,
                 type: str = "Normal", host: str = "", field_path: str = "",
                 related: Obj | None = None, when: datetime | None = None) -> Obj | None:
    """Record a core v1 Event about `obj` (a stored object: kind, apiVersion, metadata) from
    `component` (e.g. "default-scheduler", "kubelet" with `host` = the node's name);
    `type` "Normal" or "Warning"; `field_path` e.g. "spec.containers{notebook}"; `when`
    defaults to the emulator's clock. Returns the Event as written, or None if the spam filter
    dropped it or its namespace is gone."""
    return recorder(emu).record(obj, reason, message, component=component, type=type, host=host,
                                field_path=field_path, related=related, when=when)
