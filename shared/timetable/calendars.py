"""The `ics` section: meetings taken from an iCalendar file, as universities publish them.

The YAML says which file, whether its meetings `add` to or `replace` the YAML's recurring
`meetings`, and how an event maps to a kind and an audience: rules matched in order by a
CATEGORIES value and/or a SUMMARY regex. RRULE, RDATE, EXDATE and each event's own TZID are
expanded by `recurring-ical-events`; times are then shown in the term's timezone. All-day
events are not meetings and are skipped; an event no rule matches is a problem unless
`unmatched: ignore`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

from .fields import Node
from .meeting_sections import MEETING_KEYS, audience, kind
from .model import Enrolment, IcsRule, IcsSource, Kind, Knobs, Term
from .occurrences import Session
from .sections import section


def slug(text: str) -> str:
    """A meeting name from an event's SUMMARY ('CS 101: Lecture' -> 'cs-101-lecture')."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:63] or "event"


def categories(event: Any) -> set[str]:
    found = event.get("CATEGORIES")
    lines = found if isinstance(found, list) else [found] if found is not None else []
    return {str(c).strip().upper() for line in lines for c in line.cats}


def match(rules: tuple[IcsRule, ...], event: Any) -> IcsRule | None:
    summary = str(event.get("SUMMARY", ""))
    for rule in rules:
        if rule.category is not None and rule.category.upper() not in categories(event):
            continue
        if rule.summary is not None and not rule.summary.search(summary):
            continue
        return rule
    return None


def meeting_name(rule: IcsRule, event: Any) -> str:
    return rule.meeting or slug(str(event.get("SUMMARY", "")))


def events(calendar: Any) -> Iterator[Any]:
    """Timed VEVENTs (all-day ones are not meetings)."""
    for event in calendar.walk("VEVENT"):
        start = event.get("DTSTART")
        if start is not None and isinstance(start.dt, datetime):
            yield event


def meeting_names(source: IcsSource) -> set[str]:
    names = set()
    for event in events(source.calendar):
        rule = match(source.rules, event)
        if rule is not None:
            names.add(meeting_name(rule, event))
    return names


def instances(source: IcsSource, term: Term) -> Iterator[tuple[IcsRule, Any, datetime, datetime]]:
    """Each timed, matched event instance starting on a day of the term: rule, event, times."""
    zone = term.timezone
    first = datetime.combine(term.start, datetime.min.time(), zone)
    after = datetime.combine(term.end + timedelta(days=1), datetime.min.time(), zone)
    import recurring_ical_events  # here: only a term with an ICS feed pays for it

    for event in recurring_ical_events.of(source.calendar).between(first, after):
        start = event["DTSTART"].dt
        if not isinstance(start, datetime) or (rule := match(source.rules, event)) is None:
            continue
        end = event["DTEND"].dt if "DTEND" in event else start + event["DURATION"].dt
        yield rule, event, start.astimezone(zone), end.astimezone(zone)


def sessions(source: IcsSource, term: Term, enrolment: Enrolment, knobs: Knobs) -> list[Session]:
    """Every timed, matched event instance that starts on a day of the term."""
    result = []
    for rule, event, start, end in instances(source, term):
        default = 1.0 if rule.kind == "exam" else knobs.attendance  # exams: everybody
        attendance = default if rule.attendance is None else rule.attendance
        expected = math.ceil(enrolment.audience_size(rule.audience) * attendance)
        result.append(Session(meeting_name(rule, event), rule.kind, rule.audience, expected,
                              start, end, source="ics"))
    return result


def meeting_days(source: IcsSource, term: Term) -> dict[str, set[date]]:
    """The days (in the term's timezone) each ICS meeting meets: where it can be changed."""
    days: dict[str, set[date]] = {}
    for rule, event, start, _ in instances(source, term):
        days.setdefault(meeting_name(rule, event), set()).add(start.date())
    return days


def _rule(node: Node) -> IcsRule | None:
    keys = ("category", "summary", *(k for k in MEETING_KEYS if k not in ("start", "end")))
    if not node.keys(keys, ("kind",)):
        return None
    if node.child("category") is None and node.child("summary") is None:
        node.problem("matches nothing, expected 'category' and/or 'summary'")
        return None
    pattern = None
    summary = node.get("summary", Node.text)
    if summary is not None:
        try:
            pattern = re.compile(summary)
        except re.error as err:
            node.child("summary").problem(  # type: ignore[union-attr]
                f"{summary!r} is not a regular expression ({err}), expected a Python regex")
            return None
    kind_: Kind | None = node.get("kind", kind)
    who = node.get("audience", audience, "class")
    name = node.get("name", Node.name)
    attendance = node.get("attendance", Node.fraction)
    if kind_ is None or who is None:
        return None
    return IcsRule(kind_, who, node.get("category", Node.text), pattern, name, attendance)


@section("ics", needs=("term", "class", "meetings"))
def parse_ics(node: Node) -> IcsSource | None:
    if not node.keys(("file", "mode", "map", "unmatched"), ("file", "map")):
        return None
    mode = node.get("mode", lambda n: n.choice(("add", "replace")), "add")
    unmatched = node.get("unmatched", lambda n: n.choice(("error", "ignore")), "error")
    listed = node.child("map")
    items = listed.items() if listed else []
    rules = tuple(r for item in items if (r := _rule(item)))
    file_node = node.child("file")
    name = node.get("file", Node.text)
    if file_node is None or name is None or mode is None:
        return None
    path = node.ctx.base_dir / name
    import icalendar  # here: a term without an ICS feed never loads it (~0.1 s a process)

    try:
        calendar = icalendar.Calendar.from_ical(path.read_bytes())
    except OSError as err:
        file_node.problem(f"cannot read {path} ({err.strerror}), expected an .ics file")
        return None
    except ValueError as err:
        file_node.problem(f"{path} is not iCalendar ({err}), expected an .ics file")
        return None
    # With a broken rule, "matches no rule" would only repeat that problem.
    if listed is not None and unmatched == "error" and len(rules) == len(items):
        for event in events(calendar):
            if match(rules, event) is None:
                listed.problem(f"event {str(event.get('SUMMARY', ''))!r} (UID "
                               f"{event.get('UID')}) matches no rule, expected a rule for it "
                               "or 'unmatched: ignore'")
    return IcsSource(path, "replace" if mode == "replace" else "add", rules, calendar)

