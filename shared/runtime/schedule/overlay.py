"""The live overlay: calendar changes (`edu.classops.calendar.changed`) laid over the timetable
from `schedules.yaml` (pure). The changes are kept in the cluster, written by serve's calendar
handler and watched by its scheduler; this module says what they mean, and `read` fetches them
through a read port. Two forms are read, in this order:

- the ConfigMap `OVERLAY`, a JSON list under `changes` (the first form, still read);
- one small ConfigMap per change (`change_manifest`, label `OVERLAY_LABEL=change`), named after
  the event, created once: what the handler writes now. A burst of 1,000 changes is 1,000 small
  creates, each O(1), where rewriting one growing list made a burst quadratic (and each
  outcome record carried the whole list, cut once it outgrew 16 KiB). They are ordered by the
  event's `time` (when the sender made the change; the SDK stamps the time it was read when a
  sender gives none), then by when the handler kept them, then by name.

- `cancelled`: the meeting does not meet that day;
- `moved`: it meets on `to` instead (at `start`-`end` if given, else its usual times);
- `added`: one more meeting of that name (same kind and audience) on `date`, `start`-`end`.
Later changes win: they are applied in the order received.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time
from typing import Any

from shared.events import CALENDAR_CHANGED, CalendarChangedData
from shared.handlers.readers import KubeReader
from shared.timetable import Timetable
from shared.timetable.model import Cancellation, Meeting, Move, OneOff

OVERLAY, OVERLAY_LABEL = "classops-calendar-overlay", "classops.edu/overlay"
CHANGE_PREFIX = "classops-calendar-"


class OverlayError(ValueError):
    pass


def manifest(namespace: str, changes: list[dict[str, Any]]) -> dict[str, Any]:
    """The overlay's ConfigMap holding `changes` (what `parse` reads back)."""
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": OVERLAY, "namespace": namespace,
                         "labels": {OVERLAY_LABEL: "calendar"}},
            "data": {"changes": json.dumps(changes, sort_keys=True)}}


def change_name(source: str, event_id: str) -> str:
    digest = hashlib.sha256(f"{source}\0{event_id}".encode()).hexdigest()[:20]
    return f"{CHANGE_PREFIX}{digest}"


def change_manifest(namespace: str, source: str, event_id: str, change: dict[str, Any],
                    made: datetime, kept: datetime) -> dict[str, Any]:
    """One change's ConfigMap: created once (its name says which event), never rewritten."""
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": change_name(source, event_id), "namespace": namespace,
                         "labels": {OVERLAY_LABEL: "change"}},
            "data": {"change": json.dumps({**change, "event": event_id}, sort_keys=True),
                     "time": _utc(made), "kept": _utc(kept)}}


def _utc(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")  # sorts as it reads


def changes_of(objects: Iterable[Mapping[str, Any]]) -> list[CalendarChangedData]:
    """The changes kept in ConfigMaps of either form, in the order received."""
    legacy: list[CalendarChangedData] = []
    singles: list[tuple[str, str, str, str]] = []
    for obj in objects:
        data, meta = obj.get("data") or {}, obj.get("metadata") or {}
        if meta.get("name") == OVERLAY:
            legacy = parse(str(data.get("changes", "")))
        elif "change" in data:
            singles.append((str(data.get("time", "")), str(data.get("kept", "")),
                            str(meta.get("name", "")), str(data["change"])))
    return legacy + [CalendarChangedData.parse(CALENDAR_CHANGED, json.loads(text))
                     for *_, text in sorted(singles)]


def parse(text: str) -> list[CalendarChangedData]:
    """The changes as kept in the ConfigMap, in the order received (a `ValueError` if bad)."""
    return [CalendarChangedData.parse(CALENDAR_CHANGED, c) for c in json.loads(text or "[]")]


def read(kube: KubeReader, namespace: str) -> list[CalendarChangedData]:
    """The changes kept in `namespace`; none when there is no overlay yet."""
    return changes_of(o.raw for o in kube.list("v1", "ConfigMap", namespace, OVERLAY_LABEL))


def _time(text: str | None) -> time | None:
    return time.fromisoformat(text) if text else None


def apply(timetable: Timetable, changes: Iterable[CalendarChangedData]) -> Timetable:
    cancellations, moves, one_offs = (list(timetable.cancellations), list(timetable.moves),
                                      list(timetable.one_offs))
    for c in changes:
        day = date.fromisoformat(c.date)
        if c.change == "cancelled":
            cancellations.append(Cancellation(c.meeting, day, c.reason))
        elif c.change == "moved":
            if not c.to:
                raise OverlayError(f"moving {c.meeting} on {c.date} needs 'to'")
            moves.append(Move(c.meeting, day, date.fromisoformat(c.to), _time(c.start),
                              _time(c.end)))
        else:
            known: list[Meeting | OneOff] = [*timetable.meetings, *timetable.one_offs]
            like = next((m for m in known if m.name == c.meeting), None)
            start, end = _time(c.start), _time(c.end)
            if like is None or start is None or end is None:
                raise OverlayError(f"adding {c.meeting} on {c.date} needs a known meeting "
                                   f"name, start and end")
            one_offs.append(OneOff(c.meeting, like.kind, day, start, end, like.audience,
                                   like.attendance))
    return dataclasses.replace(timetable, cancellations=tuple(cancellations),
                               moves=tuple(moves), one_offs=tuple(one_offs))
