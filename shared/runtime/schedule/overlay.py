"""The live overlay: calendar changes (`edu.classops.calendar.changed`) laid over the timetable
from `schedules.yaml` (pure). The changes are kept in the cluster (the ConfigMap `OVERLAY`, a
JSON list under `changes`, written by serve's calendar handler and watched by its scheduler);
this module says what they mean, and `read` fetches them through a read port.

- `cancelled`: the meeting does not meet that day;
- `moved`: it meets on `to` instead (at `start`-`end` if given, else its usual times);
- `added`: one more meeting of that name (same kind and audience) on `date`, `start`-`end`.
Later changes win: they are applied in the order received.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable
from datetime import date, time
from typing import Any

from shared.events import CALENDAR_CHANGED, CalendarChangedData
from shared.handlers.readers import KubeReader
from shared.timetable import Timetable
from shared.timetable.model import Cancellation, Meeting, Move, OneOff

OVERLAY, OVERLAY_LABEL = "classops-calendar-overlay", "classops.edu/overlay"


class OverlayError(ValueError):
    pass


def manifest(namespace: str, changes: list[dict[str, Any]]) -> dict[str, Any]:
    """The overlay's ConfigMap holding `changes` (what `parse` reads back)."""
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": OVERLAY, "namespace": namespace,
                         "labels": {OVERLAY_LABEL: "calendar"}},
            "data": {"changes": json.dumps(changes, sort_keys=True)}}


def parse(text: str) -> list[CalendarChangedData]:
    """The changes as kept in the ConfigMap, in the order received (a `ValueError` if bad)."""
    return [CalendarChangedData.parse(CALENDAR_CHANGED, c) for c in json.loads(text or "[]")]


def read(kube: KubeReader, namespace: str) -> list[CalendarChangedData]:
    """The changes kept in `namespace`; none when there is no overlay yet."""
    found = kube.get("v1", "ConfigMap", OVERLAY, namespace)
    return parse(str((found.raw.get("data") or {}).get("changes", ""))) if found else []


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
