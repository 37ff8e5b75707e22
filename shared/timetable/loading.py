"""Reading `schedules.yaml` into a `Timetable`, or one `TimetableError` listing every problem.

ruamel.yaml's round-trip loader keeps each value's line and column, which every problem
carries. YAML timestamps are turned off so that a date like 2026-02-30 reaches our own date
check (one located problem among others) instead of stopping the parser.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.constructor import RoundTripConstructor
from ruamel.yaml.error import MarkedYAMLError

from . import backup_section, change_sections, course_sections, meeting_sections
from .calendars import parse_ics
from .fields import Context, Node
from .model import Knobs, Timetable
from .problems import Problem, TimetableError, did_you_mean
from .sections import SECTIONS, Registry

# The core sections register on import; naming them here keeps that import explicit. Other
# capabilities register theirs with `@section` when their package is imported (the hub stack's
# `hub:` when `shared.stack` is), so the timetable never imports them.
CORE = (course_sections, meeting_sections, parse_ics, change_sections, backup_section)


class _Constructor(RoundTripConstructor):
    """Round-trip constructor that leaves dates as strings for our own checks."""


_Constructor.add_constructor("tag:yaml.org,2002:timestamp", _Constructor.construct_yaml_str)


def load(path: str | Path, registry: Registry | None = None) -> Timetable:
    """Read and validate one timetable file (OSError if it cannot be read at all)."""
    path = Path(path)
    return loads(path.read_text(encoding="utf-8"), str(path), path.parent, registry)


def loads(text: str, file: str = "<string>", base_dir: Path | None = None,
          registry: Registry | None = None) -> Timetable:
    """Validate timetable text; `base_dir` resolves relative paths such as the ICS file."""
    registry = SECTIONS if registry is None else registry
    ctx = Context(file, base_dir or Path.cwd())
    yaml = YAML(typ="rt")
    yaml.Constructor = _Constructor
    try:
        tree = yaml.load(text)
    except MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line, column = (mark.line, mark.column) if mark else (0, 0)
        raise TimetableError([Problem(file, line + 1, column + 1, "",
                                      f"not valid YAML: {err.problem}")]) from err
    root = Node(ctx, tree, "")
    if not isinstance(tree, CommentedMap):
        root.problem("the file is not a mapping, expected top-level keys such as term:")
        raise TimetableError(ctx.problems)
    for key in tree:
        if key not in registry:
            line, column = tree.lc.key(key)
            Node(ctx, key, str(key), line, column).problem(
                f"unknown section, expected one of {', '.join(sorted(registry.names()))}"
                + did_you_mean(str(key), registry.names()))
    for entry in registry:
        node = root.child(entry.name)
        if node is not None:
            ctx.parsed[entry.name] = entry.parse(node)
        elif entry.required:
            root.problem(f"section {entry.name!r} is missing, it is required")
    if ctx.problems:
        raise TimetableError(ctx.problems)
    return _timetable(ctx.parsed, registry)


def _timetable(parsed: dict[str, Any], registry: Registry) -> Timetable:
    core = {"course", "term", "class", "knobs", "meetings", "one_off", "holidays",
            "cancelled", "moved", "deadlines", "backup", "ics"}
    return Timetable(
        course=parsed["course"],
        term=parsed["term"],
        enrolment=parsed["class"],
        knobs=parsed.get("knobs") or Knobs(),
        meetings=parsed.get("meetings") or (),
        one_offs=parsed.get("one_off") or (),
        holidays=parsed.get("holidays") or (),
        cancellations=parsed.get("cancelled") or (),
        moves=parsed.get("moved") or (),
        deadlines=parsed.get("deadlines") or (),
        backup=parsed.get("backup"),
        ics=parsed.get("ics"),
        extensions={k: v for k, v in parsed.items() if k not in core and k in registry},
    )
