"""The event catalogue of the design as code: every type classops knows, with its `data` schema.

Each schema is a frozen dataclass with a `parse(data)` classmethod that checks every field and
reports all problems at once (`EventDataError`), so a handler reads `event.data.expected`, never a
raw dict. The timetable types mirror what `shared.timetable` puts in an Occurrence's `data`; the
ones from outside (calendar, roster) and the later timetable types (`backup.copy`, `drill.due`)
have the smallest schema their capability issue can grow without breaking a sender.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Self

from shared.events.types import (
    BACKUP_COPY,
    BACKUP_DUE,
    CALENDAR_CHANGED,
    COOLDOWN,
    DEADLINE,
    DRILL_DUE,
    RETENTION_DUE,
    ROSTER_CHANGED,
    TERM_END,
    TERM_START,
    WARMUP,
)


class EventDataError(ValueError):
    """An event's `data` does not fit its type's schema; `problems` lists every mismatch."""

    def __init__(self, event_type: str, problems: list[str]) -> None:
        super().__init__(f"{event_type}: " + "; ".join(problems))
        self.event_type = event_type
        self.problems = problems


@dataclass(frozen=True)
class Schema:
    """Base of the data schemas: typed fields read from a JSON object, every error at once.

    Times travel as ISO 8601 strings with an offset and are read as aware datetimes.
    """

    @classmethod
    def parse(cls, event_type: str, data: object) -> Self:
        if not isinstance(data, dict):
            raise EventDataError(event_type, [f"data must be a JSON object, got {_name(data)}"])
        hints = typing.get_type_hints(cls)
        values: dict[str, Any] = {}
        problems: list[str] = []
        for f in dataclasses.fields(cls):
            if f.name not in data:
                if f.default is dataclasses.MISSING:
                    problems.append(f"data.{f.name} is missing")
                continue
            try:
                values[f.name] = _convert(data[f.name], hints[f.name])
            except (TypeError, ValueError) as err:
                problems.append(f"data.{f.name}: {err}")
        if problems:
            raise EventDataError(event_type, problems)
        return cls(**values)

    def to_data(self) -> dict[str, Any]:
        return {k: v.isoformat() if isinstance(v, datetime) else v
                for k, v in dataclasses.asdict(self).items()}


def _name(value: object) -> str:
    return type(value).__name__


def _convert(value: object, hint: Any) -> Any:
    origin = typing.get_origin(hint)
    if origin in (types.UnionType, typing.Union):
        options = typing.get_args(hint)
        if value is None and type(None) in options:
            return None
        return _convert(value, next(o for o in options if o is not type(None)))
    if origin is Literal:
        if value not in typing.get_args(hint):
            choices = ", ".join(map(str, typing.get_args(hint)))
            raise ValueError(f"{value!r} is not one of {choices}")
        return value
    if hint is datetime:
        if not isinstance(value, str):
            raise TypeError(f"expected an ISO 8601 time, got {_name(value)}")
        parsed = datetime.fromisoformat(value)
        if parsed.tzinfo is None:
            raise ValueError(f"{value!r} has no UTC offset")
        return parsed
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise TypeError(f"expected a list, got {_name(value)}")
        item = typing.get_args(hint)[0]
        return tuple(_convert(v, item) for v in value)
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, hint) or (hint is int and isinstance(value, bool)):
        raise TypeError(f"expected {hint.__name__}, got {_name(value)}")
    return value


@dataclass(frozen=True)
class MeetingData(Schema):
    """`meeting.warmup` / `meeting.cooldown`: one meeting on one day."""

    meeting: str
    kind: Literal["lecture", "lab", "exam"]
    audience: str  # "class" or a section
    expected: int  # people expected (audience size x attendance, rounded up)
    start: datetime
    end: datetime
    source: str = "yaml"
    moved_from: datetime | None = None


@dataclass(frozen=True)
class TermData(Schema):
    """`term.start` / `term.end`."""

    course: str
    term: str
    start: str  # YYYY-MM-DD, the first day
    end: str  # YYYY-MM-DD, the last day (inclusive)


@dataclass(frozen=True)
class DeadlineData(Schema):
    name: str
    due: datetime
    grace_seconds: int
    number: int | None = None  # weekly deadlines are numbered over the term


@dataclass(frozen=True)
class BackupData(Schema):
    """`backup.due`: snapshot every user PVC."""

    cron: str


@dataclass(frozen=True)
class BackupCopyData(Schema):
    """`backup.copy`: copy snapshots to S3; the sender may name the snapshot run to copy."""

    cron: str = ""
    snapshot_run: str = ""


@dataclass(frozen=True)
class RetentionData(Schema):
    keep_last: int
    keep_daily: int
    keep_weekly: int


@dataclass(frozen=True)
class DrillData(Schema):
    """`drill.due`: restore a sample of archives to prove they can be restored."""

    sample: int = 1


@dataclass(frozen=True)
class CalendarChangedData(Schema):
    """From the calendar/LMS: a meeting moved, was cancelled, or was added.

    `change` says which; `meeting` and `date` name the one affected (times in the term's zone).
    """

    change: Literal["moved", "cancelled", "added"]
    meeting: str
    date: str  # YYYY-MM-DD
    to: str | None = None  # moved: the new date
    start: str | None = None  # "HH:MM"
    end: str | None = None
    reason: str = ""


@dataclass(frozen=True)
class RosterChangedData(Schema):
    """From the LMS: who joined and left (usernames as the hub knows them) and the new size."""

    size: int
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()


SCHEMAS: dict[str, type[Schema]] = {
    WARMUP: MeetingData, COOLDOWN: MeetingData,
    TERM_START: TermData, TERM_END: TermData,
    DEADLINE: DeadlineData,
    BACKUP_DUE: BackupData, BACKUP_COPY: BackupCopyData,
    RETENTION_DUE: RetentionData, DRILL_DUE: DrillData,
    CALENDAR_CHANGED: CalendarChangedData, ROSTER_CHANGED: RosterChangedData,
}

#: Types the timetable fires (the rest arrive over HTTP or from watches).
TIMETABLE_TYPES = frozenset(SCHEMAS) - {CALENDAR_CHANGED, ROSTER_CHANGED}

WATCH_PREFIX = "io.k8s."
WATCH_ACTIONS = ("added", "modified", "deleted")


def watch_type(group: str, kind: str, action: str) -> str:
    """`io.k8s.<group>.<kind>.<action>`: group `core` for the core API, kind in lower case."""
    if action not in WATCH_ACTIONS:
        raise ValueError(f"watch action {action!r} is not one of {', '.join(WATCH_ACTIONS)}")
    return f"{WATCH_PREFIX}{group or 'core'}.{kind.lower()}.{action}"


def parse_watch_type(event_type: str) -> tuple[str, str, str]:
    """(group, kind in lower case, action) of a watch event type."""
    rest = event_type.removeprefix(WATCH_PREFIX)
    group, _, tail = rest.rpartition(".")
    group, _, kind = group.rpartition(".")
    if not event_type.startswith(WATCH_PREFIX) or tail not in WATCH_ACTIONS or not group:
        raise ValueError(f"{event_type!r} is not io.k8s.<group>.<kind>.added|modified|deleted")
    return group, kind, tail
