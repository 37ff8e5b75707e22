"""Inbox entries: one received event, its state and its outcome, as data (no I/O here).

An entry is stored as a ConfigMap named after the event's (source, id) (`ce-<sha256>`), so
"have we seen it?" is the API server's own uniqueness: a create answered 409 AlreadyExists is a
duplicate, with no race between replicas and no read-modify-write of a shared object. The
entry stays after the event ran, as its dedupe record and its outcome (`classops events`), until
it expires: `expired()` picks what a sweep deletes (older than the TTL, or beyond the cap of
kept entries, oldest first; pending ones are never dropped).

States: `pending` (to run, not before `not_before`), `done`, `failed` (a handler gave up or it
kept failing for `MAX_ATTEMPTS` runs).

Sizes: a ConfigMap holds at most 1 MiB of data (keys and values, in bytes) and 256 KiB of
annotations; a write over either is refused (422), which the webhook would answer 503 and the
sender would retry forever, or which would leave a settled entry pending. So the outcome is
kept under `OUTCOME_MAX` (`small()`: long lists of action results and long errors are cut, and
the record says how much), and an event is kept only if its stored form leaves room for that
(`too_large()`: the webhook answers 413 otherwise).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, TypeVar

LABEL = "classops.edu/inbox"
STATE = "classops.edu/state"
ANNOTATION = "classops.edu/"
MAX_ATTEMPTS = 5
KEEP = 5000  # entries kept at most, whatever their age
MAX_DATA = 1024 * 1024  # a ConfigMap's data, keys included
MAX_NOTES = 256 * 1024  # a ConfigMap's annotations
OUTCOME_MAX = 16 * 1024  # an outcome's JSON, at most
MAX_EVENT = MAX_DATA - len("event") - len("outcome") - OUTCOME_MAX  # the event's JSON, at most
NOTES_SPARE = 1024  # for annotations written after the put (attempts, not-before)


def entry_name(source: str, event_id: str) -> str:
    digest = hashlib.sha256(f"{source}\n{event_id}".encode()).hexdigest()[:40]
    return f"ce-{digest}"


@dataclass(frozen=True)
class Header:
    """An entry without its bodies (the event, the outcome): what ordering and picking work
    need, read from the ConfigMap's metadata alone. The leader keeps these, never `Entry`s."""

    source: str
    id: str
    type: str
    received: datetime
    state: str = "pending"
    attempts: int = 0
    not_before: datetime | None = None
    resource_version: str = ""

    @property
    def name(self) -> str:
        return entry_name(self.source, self.id)

    def due(self, now: datetime) -> bool:
        return self.state == "pending" and (self.not_before is None or self.not_before <= now)

    @classmethod
    def from_configmap(cls, obj: dict[str, Any]) -> Header:
        meta = obj.get("metadata") or {}
        notes, labels = meta.get("annotations") or {}, meta.get("labels") or {}
        a = ANNOTATION
        not_before = notes.get(f"{a}not-before")
        return cls(source=notes[f"{a}source"], id=notes[f"{a}id"], type=notes[f"{a}type"],
                   received=datetime.fromisoformat(notes[f"{a}received"]),
                   state=labels.get(STATE, "pending"),
                   attempts=int(notes.get(f"{a}attempts", "0")),
                   not_before=datetime.fromisoformat(not_before) if not_before else None,
                   resource_version=str(meta.get("resourceVersion", "")))


def without_data(obj: dict[str, Any]) -> dict[str, Any]:
    """The ConfigMap without its bodies, for what is kept in memory (a watch's index)."""
    return {k: v for k, v in obj.items() if k != "data"}


@dataclass(frozen=True)
class Entry(Header):
    """A whole entry: the header's fields, the event itself and its outcome."""

    event: str = ""  # the CloudEvent, structured JSON
    outcome: dict[str, Any] = field(default_factory=dict)

    def too_large(self) -> str | None:
        """Why this entry cannot be stored with room for its outcome, or None."""
        size = len(self.event.encode())
        if size > MAX_EVENT:
            return (f"the event takes {size} bytes as structured JSON; at most {MAX_EVENT} are "
                    f"kept (a ConfigMap holds 1 MiB, with room for the outcome)")
        notes = sum(len(k.encode()) + len(v.encode())
                    for k, v in self.to_configmap("")["metadata"]["annotations"].items())
        if notes > MAX_NOTES - NOTES_SPARE:
            return (f"source, id and type take {notes} bytes; at most "
                    f"{MAX_NOTES - NOTES_SPARE} are kept")
        return None

    def settled(self, outcome: dict[str, Any], now: datetime) -> Entry:
        """The entry after one run: `outcome["retry"]` (seconds) asks for another run later."""
        outcome = small(outcome, OUTCOME_MAX - 256)  # room for "gave_up"
        attempts = self.attempts + 1
        retry = outcome.get("retry")
        if retry is None:
            state = "failed" if outcome.get("failed") else "done"
            return replace(self, state=state, attempts=attempts, outcome=outcome,
                           not_before=None)
        if attempts >= MAX_ATTEMPTS:
            return replace(self, state="failed", attempts=attempts, not_before=None,
                           outcome={**outcome, "gave_up": f"still failing after {attempts} runs"})
        return replace(self, attempts=attempts, outcome=outcome,
                       not_before=now + timedelta(seconds=float(retry)))

    def to_configmap(self, namespace: str) -> dict[str, Any]:
        a = ANNOTATION
        notes = {f"{a}source": self.source, f"{a}id": self.id, f"{a}type": self.type,
                 f"{a}received": self.received.isoformat(), f"{a}attempts": str(self.attempts)}
        if self.not_before is not None:
            notes[f"{a}not-before"] = self.not_before.isoformat()
        meta: dict[str, Any] = {"name": self.name, "namespace": namespace,
                                "labels": {LABEL: "event", STATE: self.state},
                                "annotations": notes}
        if self.resource_version:
            meta["resourceVersion"] = self.resource_version
        return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta,
                "data": {"event": self.event, "outcome": json.dumps(self.outcome,
                                                                    sort_keys=True)}}

    @classmethod
    def from_configmap(cls, obj: dict[str, Any]) -> Entry:
        head, data = Header.from_configmap(obj), obj.get("data") or {}
        return cls(**vars(head), event=data.get("event", ""),
                   outcome=json.loads(data.get("outcome") or "{}"))


Listed = TypeVar("Listed", Header, Entry)


def in_order(entries: Iterable[Listed]) -> list[Listed]:
    """Oldest first (received, then name, so the order is total)."""
    return sorted(entries, key=lambda e: (e.received, e.name))


def expired(entries: Sequence[Listed], now: datetime, ttl: timedelta,
            keep: int = KEEP) -> list[Listed]:
    """Settled entries to delete: older than `ttl`, and the oldest beyond `keep`."""
    settled = in_order(e for e in entries if e.state != "pending")
    old = [e for e in settled if now - e.received > ttl]
    young = [e for e in settled if now - e.received <= ttl]
    return old + young[:max(0, len(young) - keep)]


def _size(outcome: dict[str, Any]) -> int:
    return len(json.dumps(outcome, sort_keys=True).encode())


def _cut(text: Any, at: int = 500) -> Any:
    return text[:at] + f"... ({len(text) - at} more characters)" if (
        isinstance(text, str) and len(text) > at) else text


def small(outcome: dict[str, Any], limit: int = OUTCOME_MAX) -> dict[str, Any]:
    """The outcome, cut to fit `limit` bytes of JSON: first each handler's action results (the
    failed ones kept first, `actions_omitted` counts the rest) and long errors, at last
    everything but the verdict."""
    if _size(outcome) <= limit:
        return outcome
    handlers = []
    for h in outcome.get("handlers") or []:
        actions = sorted(h.get("actions") or [], key=lambda r: r.get("outcome") != "failed")
        kept = [{k: _cut(v) for k, v in r.items()} for r in actions[:5]]
        handlers.append({**h, "error": _cut(h.get("error")), "actions": kept,
                         "actions_omitted": len(actions) - len(kept)})
    cut = {k: _cut(v) for k, v in outcome.items() if k != "handlers"}
    cut = {**cut, "handlers": handlers, "trimmed": True}
    if _size(cut) <= limit:
        return cut
    return {"retry": outcome.get("retry"), "failed": outcome.get("failed", False),
            "at": outcome.get("at"), "handlers": [], "handlers_omitted": len(handlers),
            "trimmed": True}
