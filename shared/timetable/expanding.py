"""Pure expansion: `(timetable, window) -> occurrences`, with no clock read inside.

Sessions are built for the whole term first (a term is small: a few hundred meetings) and the
window is applied to the firings last, so a meeting moved into the window from outside it, or
a warm-up whose lead time crosses the window's edge, is handled without special cases.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, time, timedelta

from shared.events.types import (
    BACKUP_DUE,
    COOLDOWN,
    DEADLINE,
    RETENTION_DUE,
    TERM_END,
    TERM_START,
    WARMUP,
)

from . import calendars, crons
from .localtimes import local, shift
from .model import Enrolment, Knobs, Timetable
from .occurrences import Occurrence, Session

MIDNIGHT = time(0, 0)


def expand(timetable: Timetable, start: datetime, end: datetime) -> list[Occurrence]:
    """Every firing with start <= at < end, in time order (ties broken by id)."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("expand needs aware datetimes for its window")
    found = [*_term(timetable), *_deadlines(timetable), *_backups(timetable, start, end)]
    knobs = timetable.knobs
    for s in sessions(timetable):
        stamp = f"{s.meeting}/{s.start:%Y-%m-%dT%H:%M}"
        warm, cool = shift(s.start, -knobs.lead_time), shift(s.end, knobs.cooldown_grace)
        found.append(Occurrence(WARMUP, warm, f"warmup/{s.meeting}", stamp, s.data()))
        found.append(Occurrence(COOLDOWN, cool, f"cooldown/{s.meeting}", stamp, s.data()))
    zone = timetable.term.timezone
    # Compare and sort instants in UTC: within one zone Python compares wall times and
    # ignores `fold`, which misorders the repeated hour of a fall-back night.
    first, after = start.astimezone(UTC), end.astimezone(UTC)
    chosen = [
        o if o.at.tzinfo is zone else Occurrence(o.type, o.at.astimezone(zone), o.trigger,
                                                 o.subject, o.data)
        for o in found if first <= o.at.astimezone(UTC) < after
    ]
    return sorted(chosen, key=lambda o: (o.at.astimezone(UTC), o.id))


def sessions(timetable: Timetable) -> list[Session]:
    """Every meeting of the term on its day, after holidays, cancellations and moves."""
    term, enrolment, knobs = timetable.term, timetable.enrolment, timetable.knobs
    zone = term.timezone
    regular: list[Session] = []
    if timetable.ics is None or timetable.ics.mode == "add":
        for m in timetable.meetings:
            for day in _days(m.first or term.start, m.last or term.end, m.days):
                regular.append(Session(m.name, m.kind, m.audience,
                                       _expected(enrolment, knobs, m.audience, m.attendance),
                                       local(day, m.start, zone), local(day, m.end, zone)))
    if timetable.ics is not None:
        regular += calendars.sessions(timetable.ics, term, enrolment, knobs)
    cancelled = {(c.meeting, c.date) for c in timetable.cancellations}
    moves = {(m.meeting, m.date): m for m in timetable.moves}
    result: list[Session] = []
    for s in regular:
        key = (s.meeting, s.start.date())
        if timetable.is_holiday(s.start.date()) or key in cancelled:
            continue
        if (move := moves.get(key)) is not None:
            starts, ends = move.start or s.start.time(), move.end or s.end.time()
            s = Session(s.meeting, s.kind, s.audience, s.expected, local(move.to, starts, zone),
                        local(move.to, ends, zone), s.source, moved_from=s.start)
        result.append(s)
    for o in timetable.one_offs:
        result.append(Session(o.name, o.kind, o.audience,
                              _expected(enrolment, knobs, o.audience, o.attendance),
                              local(o.date, o.start, zone), local(o.date, o.end, zone)))
    return sorted(result, key=lambda s: (s.start.astimezone(UTC), s.meeting))


def _expected(enrolment: Enrolment, knobs: Knobs, audience: str, factor: float | None) -> int:
    share = knobs.attendance if factor is None else factor
    return math.ceil(enrolment.audience_size(audience) * share)


def _days(first: date, last: date, weekdays: frozenset[int]) -> list[date]:
    count = (last - first).days + 1
    return [d for i in range(max(count, 0))
            if (d := first + timedelta(days=i)).weekday() in weekdays]


def _term(timetable: Timetable) -> list[Occurrence]:
    term, zone = timetable.term, timetable.term.timezone
    data = {"course": timetable.course, "term": term.name,
            "start": term.start.isoformat(), "end": term.end.isoformat()}
    subject = f"{timetable.course}/{term.name}"
    return [
        Occurrence(TERM_START, local(term.start, MIDNIGHT, zone), "term/start", subject, data),
        # The term ends when its last day does.
        Occurrence(TERM_END, local(term.end + timedelta(days=1), MIDNIGHT, zone), "term/end",
                   subject, data),
    ]


def _deadlines(timetable: Timetable) -> list[Occurrence]:
    term, zone = timetable.term, timetable.term.timezone
    result = []
    for d in timetable.deadlines:
        dues: list[tuple[int | None, datetime]]
        if d.date is not None:
            dues = [(None, local(d.date, d.at, zone))]
        else:
            days = _days(d.first or term.start, d.last or term.end, d.days)
            # Numbered over the whole term, so "assignment-3" is the same in every window.
            open_days = [day for day in days if not timetable.is_holiday(day)]
            dues = [(n, local(day, d.at, zone)) for n, day in enumerate(open_days, 1)]
        for number, due in dues:
            subject = d.name if number is None else f"{d.name}-{number}"
            data = {"name": d.name, "number": number, "due": due.isoformat(),
                    "grace_seconds": int(timetable.knobs.deadline_grace.total_seconds())}
            result.append(Occurrence(DEADLINE, due, f"deadline/{d.name}", subject, data))
    return result


def _backups(timetable: Timetable, start: datetime, end: datetime) -> list[Occurrence]:
    backup, term, zone = timetable.backup, timetable.term, timetable.term.timezone
    if backup is None:
        return []
    # Backups run while the term does; term.end takes the final snapshots.
    first = max(start.astimezone(UTC), local(term.start, MIDNIGHT, zone).astimezone(UTC))
    after = min(end.astimezone(UTC), local(term.end + timedelta(days=1), MIDNIGHT, zone))
    subject = f"{timetable.course}/{term.name}"
    result = [Occurrence(BACKUP_DUE, at, "backup", subject, {"cron": backup.cron})
              for at in crons.fire_times(backup.cron, zone, first, after)] if first < after else []
    keep = backup.retention
    if keep is None:
        return result
    policy = {"keep_last": keep.keep_last, "keep_daily": keep.keep_daily,
              "keep_weekly": keep.keep_weekly}
    times = ([o.at for o in result] if keep.cron is None or first >= after
             else crons.fire_times(keep.cron, zone, first, after))
    return result + [Occurrence(RETENTION_DUE, at, "retention", subject, policy) for at in times]
