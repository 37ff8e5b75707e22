"""The sections that say when people meet: `meetings` (recurring) and `one_off`.

Besides the shape of each entry, this checks what needs the term: dates inside it, audiences
that name a real section, and wall times that exist on every day the meeting happens (a
02:30 meeting on a spring-forward Sunday would otherwise silently start at 03:30).
"""

from __future__ import annotations

from datetime import date, time, timedelta
from typing import Any

from .fields import DAY_NAMES, Node
from .localtimes import exists
from .model import KINDS, WHOLE_CLASS, Enrolment, Kind, Meeting, OneOff, Term
from .problems import did_you_mean
from .sections import section

MEETING_KEYS = ("name", "kind", "start", "end", "audience", "attendance")


def term_of(node: Node) -> Term | None:
    term = node.ctx.parsed.get("term")
    return term if isinstance(term, Term) else None


def audience(node: Node) -> str | None:
    """`class` or a section of the class (checked once the class has parsed)."""
    name = node.name()
    enrolment = node.ctx.parsed.get("class")
    if name is None or name == WHOLE_CLASS or not isinstance(enrolment, Enrolment):
        return name
    known = [s.name for s in enrolment.sections]
    if name not in known:
        node.problem(
            f"{name!r} is not a section of the class, expected 'class' or one of "
            f"{', '.join(known) or '(no sections defined)'}" + did_you_mean(name, known)
        )
        return None
    return name


def in_term(node: Node) -> date | None:
    """A date that falls inside the term."""
    day = node.date()
    term = term_of(node)
    if day and term and not term.start <= day <= term.end:
        node.problem(f"{day} is outside the term, expected {term.start} .. {term.end}")
        return None
    return day


def kind(node: Node) -> Kind | None:
    value = node.choice(KINDS)
    return next((k for k in KINDS if k == value), None)


def times(node: Node, day_list: list[date]) -> tuple[time, time] | None:
    """`start` and `end` of an entry: end after start, both existing on every day listed."""
    start = node.get("start", Node.clock)
    end = node.get("end", Node.clock)
    term = term_of(node)
    if start is None or end is None:
        return None
    end_node = node.child("end")
    if end <= start and end_node:
        end_node.problem(f"{end:%H:%M} is not after the start {start:%H:%M}, "
                         "expected a later time the same day")
        return None
    for key, at in (("start", start), ("end", end)):
        if term is None:
            break
        missing = [d for d in day_list if not exists(d, at, term.timezone)]
        where = node.child(key)
        if missing and where:
            where.problem(f"{at:%H:%M} does not exist on {missing[0]} in {term.timezone.key} "
                          "(the clocks skip it for DST), expected a time outside the gap")
            return None
    return start, end


def days_between(first: date, last: date, weekdays: frozenset[int]) -> list[date]:
    count = (last - first).days + 1
    every = (first + timedelta(days=i) for i in range(max(count, 0)))
    return [d for d in every if d.weekday() in weekdays]


def unique_name(node: Node, seen: set[str]) -> str | None:
    name = node.get("name", Node.name)
    where = node.child("name")
    if name in seen and where:
        where.problem(f"meeting {name!r} is defined twice, expected unique meeting names")
        return None
    if name:
        seen.add(name)
    return name


@section("meetings", needs=("term", "class", "knobs"))
def parse_meetings(node: Node) -> tuple[Meeting, ...]:
    result: list[Meeting] = []
    seen: set[str] = set()
    for item in node.items():
        required = ("name", "kind", "days", "start", "end")
        if not item.keys((*MEETING_KEYS, "days", "from", "until"), required):
            continue
        name = unique_name(item, seen)
        common: dict[str, Any] = {
            "kind": item.get("kind", kind),
            "audience": item.get("audience", audience, WHOLE_CLASS),
            "attendance": item.get("attendance", Node.fraction),
        }
        days = item.get("days", Node.days)
        first = item.get("from", in_term)
        last = item.get("until", in_term)
        term = term_of(item)
        until_node = item.child("until")
        if first and last and last < first and until_node:
            until_node.problem(f"{last} is before 'from' {first}, expected a later date")
            continue
        span = days_between(first or term.start, last or term.end, days) if term and days else []
        clock = times(item, span)
        bad = common["attendance"] is None and item.child("attendance") is not None
        if name and days and clock and common["kind"] and common["audience"] and not bad:
            result.append(Meeting(name=name, days=days, start=clock[0], end=clock[1],
                                  first=first, last=last, **common))
    return tuple(result)


@section("one_off", needs=("term", "class", "meetings"))
def parse_one_offs(node: Node) -> tuple[OneOff, ...]:
    result: list[OneOff] = []
    seen = {m.name for m in node.ctx.parsed.get("meetings") or ()}
    for item in node.items():
        if not item.keys((*MEETING_KEYS, "date"), ("name", "kind", "date", "start", "end")):
            continue
        name = unique_name(item, seen)
        day = item.get("date", in_term)
        clock = times(item, [day] if day else [])
        kind_: Kind | None = item.get("kind", kind)
        who = item.get("audience", audience, WHOLE_CLASS)
        attendance = item.get("attendance", Node.fraction)
        bad = attendance is None and item.child("attendance") is not None
        if name and day and clock and kind_ and who and not bad:
            result.append(OneOff(name, kind_, day, clock[0], clock[1], who, attendance))
    return tuple(result)


def weekday_names(days: frozenset[int]) -> str:
    return ",".join(DAY_NAMES[d] for d in sorted(days))
