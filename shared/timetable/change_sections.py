"""The sections that change the regular week: `holidays`, `cancelled`, `moved`, `deadlines`.

Holidays remove every recurring meeting (from YAML or ICS) and weekly deadline on their days;
one-off meetings and one-off deadlines are explicit and stay. A cancellation or a move names
one meeting on one date, which must be a day that meeting really meets: one of its YAML days or
a day the ICS file has it. A deadline's time must exist on every day it is due (a 02:30 Sunday
deadline would otherwise silently fall due at 03:30 on the spring-forward day).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from .calendars import meeting_days, meeting_names
from .fields import Node
from .localtimes import exists
from .meeting_sections import days_between, in_term, term_of, times, weekday_names
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


@dataclass(frozen=True)
class _Meetings:
    """What a change may name, read once per section: YAML meetings and the ICS file's."""

    yaml: dict[str, Meeting]
    ics_names: set[str]
    ics_days: dict[str, set[date]]  # each ICS meeting's days in the term
    ics_file: str = ""

    @classmethod
    def of(cls, node: Node) -> _Meetings:
        yaml = {m.name: m for m in node.ctx.parsed.get("meetings") or ()}
        ics, term = node.ctx.parsed.get("ics"), term_of(node)
        if not isinstance(ics, IcsSource):
            return cls(yaml, set(), {})
        days = meeting_days(ics, term) if term is not None else {}
        return cls({} if ics.mode == "replace" else yaml, meeting_names(ics), days, ics.path.name)


def _meeting(node: Node, known: _Meetings) -> str | None:
    """The meeting an entry names: a YAML meeting or one from the ICS file."""
    name = node.get("meeting", Node.text)
    where = node.child("meeting")
    if name is None or where is None:
        return None
    if name not in known.yaml and name not in known.ics_names:
        names = sorted({*known.yaml, *known.ics_names})
        where.problem(f"{name!r} is not a meeting, expected one of {', '.join(names) or '(none)'}"
                      + did_you_mean(name, names))
        return None
    return name


def _meets_on(node: Node, known: _Meetings, name: str, day: date | None) -> bool:
    """Whether meeting `name` takes place on `day`, from the YAML or from the ICS file."""
    term, meeting = term_of(node), known.yaml.get(name)
    if day is None or term is None:
        return True
    days = set(known.ics_days.get(name, ()))
    if meeting is not None:
        first, last = meeting.first or term.start, meeting.last or term.end
        days.update(days_between(first, last, meeting.days))
    if day in days:
        return True
    if meeting is not None and name not in known.ics_names:
        node.child("date").problem(  # type: ignore[union-attr]
            f"{name!r} does not meet on {day} ({day:%a}), expected one of its days "
            f"({weekday_names(meeting.days)}) between {first} and {last}")
        return False
    before = max((d for d in days if d < day), default=None)
    after = min((d for d in days if d > day), default=None)
    nearest = " or ".join(f"{d} ({d:%a})" for d in (before, after) if d is not None)
    node.child("date").problem(  # type: ignore[union-attr]
        f"{name!r} does not meet on {day} ({day:%a}) in {known.ics_file}, expected a day it "
        + (f"meets, the nearest being {nearest}" if nearest else "meets, but it meets on no "
           "day of the term"))
    return False


@section("cancelled", needs=("term", "meetings", "ics"))
def parse_cancelled(node: Node) -> tuple[Cancellation, ...]:
    result, known = [], _Meetings.of(node)
    for item in node.items():
        if not item.keys(("meeting", "date", "reason"), ("meeting", "date")):
            continue
        name, day = _meeting(item, known), item.get("date", in_term)
        reason = item.get("reason", Node.text, "")
        if name and day and _meets_on(item, known, name, day):
            result.append(Cancellation(name, day, reason or ""))
    return tuple(result)


@section("moved", needs=("term", "meetings", "ics", "cancelled"))
def parse_moved(node: Node) -> tuple[Move, ...]:
    result, known = [], _Meetings.of(node)
    cancelled = {(c.meeting, c.date) for c in node.ctx.parsed.get("cancelled") or ()}
    for item in node.items():
        if not item.keys(("meeting", "date", "to", "start", "end"), ("meeting", "date", "to")):
            continue
        name, day, to = _meeting(item, known), item.get("date", in_term), item.get("to", in_term)
        if not (name and day and to and _meets_on(item, known, name, day)):
            continue
        if (name, day) in cancelled:
            item.problem(f"{name} on {day} is also cancelled, expected one or the other")
            continue
        if (item.child("start") is None) != (item.child("end") is None):
            item.problem("'start' and 'end' go together, expected both or neither")
            continue
        clock = times(item, [to]) if item.child("start") else None
        usual, term = known.yaml.get(name), term_of(item)
        skipped = [at for at in (usual.start, usual.end) if not exists(to, at, term.timezone)
                   ] if clock is None and usual and term else []
        if skipped and usual and term:
            item.child("to").problem(  # type: ignore[union-attr]
                f"{name!r} keeps its usual {usual.start:%H:%M}-{usual.end:%H:%M}, but "
                f"{skipped[0]:%H:%M} does not exist on {to} in {term.timezone.key} (the clocks "
                "skip it for DST), expected another day or a new 'start' and 'end'")
            continue
        if item.child("start") is None or clock:
            result.append(Move(name, day, to, *(clock or (None, None))))
    return tuple(result)


@section("deadlines", needs=("term", "holidays"))
def parse_deadlines(node: Node) -> tuple[Deadline, ...]:
    result = []
    holidays: tuple[Holiday, ...] = node.ctx.parsed.get("holidays") or ()
    for item in node.items():
        if not item.keys(("name", "at", "date", "days", "from", "until"), ("name", "at")):
            continue
        name, at = item.get("name", Node.name), item.get("at", Node.clock)
        day, days = item.get("date", in_term), item.get("days", Node.days)
        first, last = item.get("from", in_term), item.get("until", in_term)
        if (item.child("date") is None) == (item.child("days") is None):
            item.problem("needs either 'date' (once) or 'days' (weekly), expected one of the two")
            continue
        if day and (item.child("from") or item.child("until")):
            item.problem("'from' and 'until' bound weekly deadlines, expected them only with "
                         "'days' (a deadline with a 'date' is due once)")
            continue
        if first and last and last < first:
            item.child("until").problem(  # type: ignore[union-attr]
                f"{last} is before 'from' {first}, expected a later date")
            continue
        term = term_of(item)
        if at and term and (day or days):
            # Every day it is due, as expansion will see them: weekly ones skip holidays.
            dues = [day] if day else [
                d for d in days_between(first or term.start, last or term.end, days or frozenset())
                if not any(h.first <= d <= h.last for h in holidays)]
            missing = [d for d in dues if not exists(d, at, term.timezone)]
            if missing:
                item.child("at").problem(  # type: ignore[union-attr]
                    f"{at:%H:%M} does not exist on {missing[0]} in {term.timezone.key} (the "
                    "clocks skip it for DST), expected a time outside the gap")
                continue
        if name and at and (day or days):
            result.append(Deadline(name, at, day, days or frozenset(), first, last))
    return tuple(result)
