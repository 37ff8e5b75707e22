"""The sections that say whose term it is: `course`, `term`, `class` and `knobs`."""

from __future__ import annotations

import re

from .fields import Node
from .model import WHOLE_CLASS, ClassSection, Enrolment, Knobs, Term
from .sections import section

_COURSE = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")


@section("course", required=True)
def parse_course(node: Node) -> str | None:
    # The course id names S3 prefixes and Kubernetes objects later: keep it DNS-label shaped.
    return node.text(_COURSE, "a lowercase DNS label such as cs101")


@section("term", required=True)
def parse_term(node: Node) -> Term | None:
    if not node.keys(("name", "start", "end", "timezone"), ("name", "start", "end", "timezone")):
        return None
    name = node.get("name", Node.name)
    start = node.get("start", Node.date)
    end = node.get("end", Node.date)
    zone = node.get("timezone", Node.zone)
    end_node = node.child("end")
    if start and end and end_node and end < start:
        end_node.problem(f"{end} is before the term's start {start}, expected a later date")
        return None
    if name and start and end and zone:
        return Term(name, start, end, zone)
    return None


@section("class", required=True)
def parse_class(node: Node) -> Enrolment | None:
    if not node.keys(("size", "sections"), ("size",)):
        return None
    size = node.get("size", lambda n: n.integer(minimum=1))
    sections: list[ClassSection] = []
    listed = node.child("sections")
    for item in listed.items() if listed else []:
        if not item.keys(("name", "size"), ("name", "size")):
            continue
        name = item.get("name", Node.name)
        part = item.get("size", lambda n: n.integer(minimum=1))
        name_node = item.child("name")
        if name_node and name == WHOLE_CLASS:
            name_node.problem("'class' means the whole class, expected another section name")
        elif name_node and name in {s.name for s in sections}:
            name_node.problem(f"section {name!r} is listed twice, expected unique names")
        elif name and part:
            sections.append(ClassSection(name, part))
    total = sum(s.size for s in sections)
    if size and listed and total > size:
        listed.problem(f"sections add up to {total} students, expected at most the class's {size}")
    return Enrolment(size, tuple(sections)) if size else None


@section("knobs")
def parse_knobs(node: Node) -> Knobs | None:
    keys = ("lead_time", "cooldown_grace", "deadline_grace", "attendance")
    if not node.keys(keys):
        return None
    default = Knobs()
    lead = node.get("lead_time", Node.duration, default.lead_time)
    cool = node.get("cooldown_grace", Node.duration, default.cooldown_grace)
    grace = node.get("deadline_grace", Node.duration, default.deadline_grace)
    attendance = node.get("attendance", Node.fraction, default.attendance)
    if lead is None or cool is None or grace is None or attendance is None:
        return None
    return Knobs(lead, cool, grace, attendance)
