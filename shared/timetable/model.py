"""The timetable as data: frozen dataclasses built by the loader, read by `expand`.

Times of day are naive `time`s meant in the term's timezone; they become instants only during
expansion, one date at a time, which is what keeps a 10:10 lecture at 10:10 across DST.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

Date = date  # fields named `date` below would shadow the type

Kind = Literal["lecture", "lab", "exam"]
KINDS: tuple[Kind, ...] = ("lecture", "lab", "exam")
WHOLE_CLASS = "class"


@dataclass(frozen=True)
class Term:
    name: str
    start: date
    end: date  # inclusive: the term's last day
    timezone: ZoneInfo


@dataclass(frozen=True)
class ClassSection:
    name: str
    size: int


@dataclass(frozen=True)
class Enrolment:
    """The class as a whole and its sections; an audience is `class` or a section name."""

    size: int
    sections: tuple[ClassSection, ...] = ()

    def audience_size(self, audience: str) -> int:
        if audience == WHOLE_CLASS:
            return self.size
        return next(s.size for s in self.sections if s.name == audience)


@dataclass(frozen=True)
class Meeting:
    """A recurring meeting (lecture, lab, exam) on weekdays between `first` and `last`."""

    name: str
    kind: Kind
    days: frozenset[int]  # 0 = Monday, as date.weekday()
    start: time
    end: time
    audience: str = WHOLE_CLASS
    attendance: float | None = None  # None: the knobs' default
    first: date | None = None  # None: the term's start
    last: date | None = None  # None: the term's end


@dataclass(frozen=True)
class OneOff:
    """A meeting that happens once, e.g. an exam."""

    name: str
    kind: Kind
    date: date
    start: time
    end: time
    audience: str = WHOLE_CLASS
    attendance: float | None = None


@dataclass(frozen=True)
class Holiday:
    name: str
    first: date
    last: date  # inclusive


@dataclass(frozen=True)
class Cancellation:
    meeting: str
    date: date
    reason: str = ""


@dataclass(frozen=True)
class Move:
    """The meeting of `date` takes place on `to` instead, at new times if given."""

    meeting: str
    date: Date
    to: Date
    start: time | None = None
    end: time | None = None


@dataclass(frozen=True)
class Deadline:
    """Due once (`date` set) or every week on `days` between `first` and `last`."""

    name: str
    at: time
    date: Date | None = None
    days: frozenset[int] = frozenset()
    first: Date | None = None
    last: Date | None = None


@dataclass(frozen=True)
class Retention:
    """restic's semantics: keep the last N, the last of each of N days, of each of N weeks
    (and, optionally, of N hours and N months)."""

    keep_last: int
    keep_daily: int
    keep_weekly: int
    cron: str | None = None  # None: prune right after each backup
    keep_hourly: int = 0  # optional, as restic's --keep-hourly / --keep-monthly
    keep_monthly: int = 0


@dataclass(frozen=True)
class Backup:
    cron: str  # five fields, in the term's timezone, weekdays by name
    retention: Retention | None = None
    copy: str | None = None  # when the snapshots are copied to S3 (`backup.copy`)
    drill: str | None = None  # when one copy is restored to prove it (`drill.due`)


@dataclass(frozen=True)
class Knobs:
    lead_time: timedelta = timedelta(minutes=30)
    cooldown_grace: timedelta = timedelta(minutes=15)
    deadline_grace: timedelta = timedelta(minutes=10)
    attendance: float = 0.9


@dataclass(frozen=True)
class IcsRule:
    """Maps ICS events to meetings: by a CATEGORIES value or a SUMMARY regex (or both)."""

    kind: Kind
    audience: str = WHOLE_CLASS
    category: str | None = None
    summary: re.Pattern[str] | None = None
    meeting: str | None = None  # the meeting's name; None: the event's SUMMARY
    attendance: float | None = None


@dataclass(frozen=True)
class IcsSource:
    path: Path
    mode: Literal["add", "replace"]
    rules: tuple[IcsRule, ...]
    # The parsed calendar is mutable inside; nothing here changes it, and it stays out of ==.
    calendar: Any = field(compare=False, repr=False, default=None)


@dataclass(frozen=True)
class Timetable:
    course: str
    term: Term
    enrolment: Enrolment
    knobs: Knobs = Knobs()
    meetings: tuple[Meeting, ...] = ()
    one_offs: tuple[OneOff, ...] = ()
    holidays: tuple[Holiday, ...] = ()
    cancellations: tuple[Cancellation, ...] = ()
    moves: tuple[Move, ...] = ()
    deadlines: tuple[Deadline, ...] = ()
    backup: Backup | None = None
    ics: IcsSource | None = None
    # Sections other capabilities registered (e.g. `hub`), parsed by their own parsers.
    extensions: Mapping[str, Any] = field(default_factory=dict)

    def is_holiday(self, day: date) -> bool:
        return any(h.first <= day <= h.last for h in self.holidays)
