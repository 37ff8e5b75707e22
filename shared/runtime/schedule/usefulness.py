"""When a firing is still worth doing, and what a restarted scheduler catches up (pure).

Each type has a window of usefulness, ending at `useful_until`:
- a warm-up until its meeting ends (a late one still helps the rest of the meeting, and the
  handler sizes to expected minus running);
- a deadline snapshot until the deadline plus its grace (`data.grace_seconds`);
- the term's start and end always (their work must happen, however late);
- anything else (backups, retention, cool-downs) until the next firing of the same trigger,
  which does the same work again.

`catch_up` decides, from the last fired instant of each trigger (kept in the cluster), which
missed firings fire now and which are skipped: missed ones are those after the trigger's last
fired instant and no older than `max_age` (the bound of Argo Events' catch-up; a first start
does not replay the term). All instants are compared in UTC.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from shared.events import DEADLINE, TERM_END, TERM_START, WARMUP
from shared.timetable import Occurrence

FOREVER = datetime.max.replace(tzinfo=UTC)


def useful_until(occurrence: Occurrence, following: datetime | None) -> datetime:
    """`following`: the next firing of the same trigger, if any."""
    data = occurrence.data
    if occurrence.type == WARMUP:
        return datetime.fromisoformat(data["end"]).astimezone(UTC)
    if occurrence.type == DEADLINE:
        due = datetime.fromisoformat(str(data.get("due") or occurrence.at.isoformat()))
        return due.astimezone(UTC) + timedelta(seconds=int(data.get("grace_seconds") or 0))
    if occurrence.type in (TERM_START, TERM_END) or following is None:
        return FOREVER
    return following.astimezone(UTC)


@dataclass(frozen=True)
class CatchUp:
    fire: list[Occurrence]  # missed and still useful: fire now, once
    skip: list[Occurrence]  # missed and no longer useful: record why, do nothing
    later: list[Occurrence]  # still to come: schedule


def following(occurrences: Sequence[Occurrence]) -> dict[str, datetime | None]:
    """For each occurrence id, the next firing of its trigger."""
    by_trigger: dict[str, list[Occurrence]] = {}
    for o in sorted(occurrences, key=lambda o: o.at.astimezone(UTC)):
        by_trigger.setdefault(o.trigger, []).append(o)
    nexts: dict[str, datetime | None] = {}
    for row in by_trigger.values():
        for o, n in zip(row, [*row[1:], None], strict=True):
            nexts[o.id] = n.at if n is not None else None
    return nexts


def catch_up(occurrences: Sequence[Occurrence], last_fired: Mapping[str, datetime],
             now: datetime, max_age: timedelta) -> CatchUp:
    nexts = following(occurrences)
    now_utc, oldest = now.astimezone(UTC), now.astimezone(UTC) - max_age
    fire: list[Occurrence] = []
    skip: list[Occurrence] = []
    later: list[Occurrence] = []
    for o in sorted(occurrences, key=lambda o: (o.at.astimezone(UTC), o.id)):
        at = o.at.astimezone(UTC)
        if at > now_utc:
            later.append(o)
            continue
        last = last_fired.get(o.trigger)
        if (last is not None and at <= last.astimezone(UTC)) or at < oldest:
            continue  # done before, or older than anything we catch up on
        (fire if now_utc < useful_until(o, nexts[o.id]) else skip).append(o)
    return CatchUp(fire, skip, later)
