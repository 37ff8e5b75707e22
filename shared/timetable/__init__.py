"""The term's timetable: `schedules.yaml` loaded and validated, then expanded, purely.

    timetable = load("schedules.yaml")           # or TimetableError with every problem
    occurrences = expand(timetable, start, end)  # aware datetimes; no clock read inside

Other capabilities add their own top-level key with `@section("name")` (see `sections`).
Pure: may import only `shared.events.types` (the names of the types it fires); never `stack`,
`ports`, `runtime` or `cli`.
"""

from .expanding import expand, sessions
from .fields import Node
from .loading import load, loads
from .model import Timetable
from .occurrences import Occurrence, Session
from .problems import Problem, TimetableError
from .sections import SECTIONS, Registry, section

__all__ = [
    "SECTIONS", "Node", "Occurrence", "Problem", "Registry", "Session", "Timetable",
    "TimetableError", "expand", "load", "loads", "section", "sessions",
]
