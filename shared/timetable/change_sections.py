"""The sections that change the regular week: `holidays`, `cancelled`, `moved`, `deadlines`.

Holidays remove every recurring meeting (from YAML or ICS) and weekly deadline on their days;
one-off meetings and one-off deadlines are explicit and stay. A cancellation or a move names
one meeting on one date, which must be a day that meeting really meets.
"""

from __future__ import annotations

from datetime import date

from .calendars import meeting_names
from .fields import Node
from .localtimes import exists
from .meeting_sections import in_term, term_of, times, weekday_names
from .model import Cancellation, Deadline, Holiday, IcsSource, Meeting, Move
from .problems import did_you_mean
from .sections import section


@section("holidays", needs=("term",))
def parse_holidays(node: Node) -> tuple[Holiday, ...]:
    result = []
    for item in node.items():
        if not item.keys(("name", "date", "from", "until"), ("name",)):
            continue
        name = item.get("name", Node.text)
        single = item.get("date", in_term)
        first, last = item.get("from", in_term), item.get("until", in_term)
        has_date, has_range = item.child("date"), item.child("from") or item.child("until")
        if bool(has_date) == bool(has_range):
            item.problem("needs either 'date' or 'from' and 'until', expected one of the two")
        elif has_range and (first is None or last is None):
            if item.child("from") is None or item.child("until") is None:
                item.problem("'from' and 'until' go together, expected both")
        elif has_range and first and last and last < first:
            item.child("until").problem(  # type: ignore[union-attr]
                f"{last} is before 'from' {first}, expected a later date")
        elif name and (single or (first and last)):
            result.append(Holiday(name, single or first, single or last))  # type: ignore[arg-type]
    return tuple(result)


def _meeting(node: Node) -> tuple[str, Meeting | None] | None:
    """The meeting an entry names: a YAML meeting or one from the ICS file."""
    name = node.get("meeting", Node.text)
    yaml = {m.name: m for m in node.ctx.parsed.get("meetings") or ()}
    ics = node.ctx.parsed.get("ics")
    from_ics = meeting_names(ics) if isinstance(ics, IcsSource) else set()
    if isinstance(ics, IcsSource) and ics.mode == "replace":
        yaml = {}
    where = node.child("meeting")
    if name is None or where is None:
        return None
    if name not in yaml and name not in from_ics:
        known = sorted({*yaml, *from_ics})
        where.problem(f"{name!r} is not a meeting, expected one of {', '.join(known) or '(none)'}"
                      + did_you_mean(name, known))
        return None
    return name, yaml.get(name)


def _meets_on(node: Node, meeting: Meeting | None, day: date | None) -> bool:
    """Whether a YAML meeting takes place on `day` (ICS meetings are not checked here)."""
    term = term_of(node)
    if meeting is None or day is None or term is None:
        return True
    first, last = meeting.first or term.start, meeting.last or term.end
    if day.weekday() in meeting.days and first <= day <= last:
        return True
    node.child("date").problem(  # type: ignore[union-attr]
        f"{meeting.name!r} does not meet on {day} ({day:%a}), expected one of its days "
        f"({weekday_names(meeting.days)}) between {first} and {last}")
    return False


@section("cancelled", needs=("term", "meetings", "ics"))
def parse_cancelled(node: Node) -> tuple[Cancellation, ...]:
    result = []
    for item in node.items():
        if not item.keys(("meeting", "date", "reason"), ("meeting", "date")):
            continue
        found, day = _meeting(item), item.get("date", in_term)
        reason = item.get("reason", Node.text, "")
        if found and day and _meets_on(item, found[1], day):
            result.append(Cancellation(found[0], day, reason or ""))
    return tuple(result)


@section("moved", needs=("term", "meetings", "ics", "cancelled"))
def parse_moved(node: Node) -> tuple[Move, ...]:
    result = []
    cancelled = {(c.meeting, c.date) for c in node.ctx.parsed.get("cancelled") or ()}
    for item in node.items():
        if not item.keys(("meeting", "date", "to", "start", "end"), ("meeting", "date", "to")):
            continue
        found, day, to = _meeting(item), item.get("date", in_term), item.get("to", in_term)
        if not (found and day and to and _meets_on(item, found[1], day)):
            continue
        if (found[0], day) in cancelled:
            item.problem(f"{found[0]} on {day} is also cancelled, expected one or the other")
            continue
        if (item.child("start") is None) != (item.child("end") is None):
            item.problem("'start' and 'end' go together, expected both or neither")
            continue
        clock = times(item, [to]) if item.child("start") else None
        if item.child("start") is None or clock:
            result.append(Move(found[0], day, to, *(clock or (None, None))))
    return tuple(result)


@section("deadlines", needs=("term",))
def parse_deadlines(node: Node) -> tuple[Deadline, ...]:
    result = []
    for item in node.items():
        if not item.keys(("name", "at", "date", "days", "from", "until"), ("name", "at")):
            continue
        name, at = item.get("name", Node.name), item.get("at", Node.clock)
        day, days = item.get("date", in_term), item.get("days", Node.days)
        first, last = item.get("from", in_term), item.get("until", in_term)
        if (item.child("date") is None) == (item.child("days") is None):
            item.problem("needs either 'date' (once) or 'days' (weekly), expected one of the two")
            continue
        term = term_of(item)
        if day and at and term and not exists(day, at, term.timezone):
            item.child("at").problem(  # type: ignore[union-attr]
                f"{at:%H:%M} does not exist on {day} in {term.timezone.key} (DST gap), "
                "expected a time outside the gap")
            continue
        if name and at and (day or days):
            result.append(Deadline(name, at, day, days or frozenset(), first, last))
    return tuple(result)
