"""Typed reading of the YAML tree, recording a located `Problem` for every bad value.

A `Node` is one value of the round-trip tree with its dotted path and position. Converters
(`text`, `date`, `clock`, ...) return the typed value, or None after recording a problem, so a
section parser can read on past an error and the loader reports all of them at once.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from functools import cache
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from .problems import Problem, did_you_mean

T = TypeVar("T")

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_FULL_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_CLOCK = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)")
_DURATION = re.compile(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}")


@dataclass
class Context:
    """What one load shares: the file, the problems so far, and the sections parsed so far."""

    file: str
    base_dir: Path
    problems: list[Problem] = field(default_factory=list)
    parsed: dict[str, Any] = field(default_factory=dict)


@dataclass
class Node:
    """One YAML value, where it is (0-based, as ruamel counts) and how to name it in a message."""

    ctx: Context
    value: Any
    path: str
    line: int = 0
    column: int = 0

    def problem(self, message: str) -> None:
        self.ctx.problems.append(
            Problem(self.ctx.file, self.line + 1, self.column + 1, self.path, message)
        )

    # -- structure ---------------------------------------------------------------------------
    def keys(self, allowed: Collection[str], required: Collection[str] = ()) -> bool:
        """Check this is a mapping with known keys only and every required one; False if not."""
        if not isinstance(self.value, CommentedMap):
            self.problem(f"is {_kind(self.value)}, expected a mapping of {', '.join(allowed)}")
            return False
        for key in self.value:
            if key not in allowed:
                line, column = self.value.lc.key(key)
                where = Node(self.ctx, key, self._join(str(key)), line, column)
                where.problem(
                    f"unknown key {key!r}, expected one of {', '.join(sorted(allowed))}"
                    + did_you_mean(str(key), allowed)
                )
        for key in required:
            if key not in self.value:
                Node(self.ctx, None, self._join(key), self.line, self.column).problem(
                    "missing, this key is required"
                )
        return True

    def child(self, key: str) -> Node | None:
        if not isinstance(self.value, CommentedMap) or key not in self.value:
            return None
        line, column = self.value.lc.value(key)
        return Node(self.ctx, self.value[key], self._join(key), line, column)

    def get(self, key: str, convert: Callable[[Node], T | None], default: T | None = None
            ) -> T | None:
        """The converted value of `key`, or `default` when the key is absent."""
        child = self.child(key)
        return default if child is None else convert(child)

    def items(self) -> list[Node]:
        """The entries of a sequence (a problem and [] if this is not one)."""
        if not isinstance(self.value, CommentedSeq):
            self.problem(f"is {_kind(self.value)}, expected a list")
            return []
        return [
            Node(self.ctx, item, f"{self.path}[{i}]", *self.value.lc.item(i))
            for i, item in enumerate(self.value)
        ]

    def _join(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    # -- scalars -----------------------------------------------------------------------------
    def text(self, pattern: re.Pattern[str] | None = None, expected: str = "") -> str | None:
        if not isinstance(self.value, str):
            self.problem(f"is {_kind(self.value)}, expected {expected or 'a string'}")
            return None
        if pattern is not None and not pattern.fullmatch(self.value):
            self.problem(f"{self.value!r} is not valid, expected {expected}")
            return None
        return str(self.value)

    def name(self) -> str | None:
        return self.text(NAME, "a name of letters, digits, '.', '_' or '-'")

    def integer(self, minimum: int = 0) -> int | None:
        if isinstance(self.value, bool) or not isinstance(self.value, int):
            self.problem(f"is {_kind(self.value)}, expected a whole number >= {minimum}")
            return None
        if self.value < minimum:
            self.problem(f"{self.value} is too small, expected a whole number >= {minimum}")
            return None
        return int(self.value)

    def fraction(self) -> float | None:
        ok = isinstance(self.value, int | float) and not isinstance(self.value, bool)
        if not ok or not 0 <= self.value <= 1:
            self.problem(f"{self.value!r} is not a fraction, expected a number from 0 to 1")
            return None
        return float(self.value)

    def choice(self, options: Collection[str]) -> str | None:
        if not isinstance(self.value, str) or self.value not in options:
            self.problem(
                f"{self.value!r} is not allowed, expected one of {', '.join(options)}"
                + did_you_mean(str(self.value), options)
            )
            return None
        return self.value

    def date(self) -> date | None:
        # Dates reach us as strings (the loader turns off YAML timestamps) so that an
        # impossible date is one located problem, not a crash of the YAML parser.
        text = str(self.value)
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            self.problem(f"{self.value!r} is not a date, expected YYYY-MM-DD")
            return None
        try:
            return date.fromisoformat(text)
        except ValueError as err:
            self.problem(f"{text} is not a date ({err}), expected a real day as YYYY-MM-DD")
            return None

    def clock(self) -> time | None:
        match = _CLOCK.fullmatch(self.value) if isinstance(self.value, str) else None
        if match is None:
            self.problem(f"{self.value!r} is not a time of day, expected HH:MM (24 h, quoted)")
            return None
        return time(int(match[1]), int(match[2]))

    def duration(self) -> timedelta | None:
        match = _DURATION.fullmatch(self.value) if isinstance(self.value, str) else None
        if match is None or not any(match.groups()):
            self.problem(f"{self.value!r} is not a duration, expected e.g. 30m, 1h30m or 90s")
            return None
        hours, minutes, seconds = (int(g or 0) for g in match.groups())
        return timedelta(hours=hours, minutes=minutes, seconds=seconds)

    def zone(self) -> ZoneInfo | None:
        name = self.value if isinstance(self.value, str) else ""
        if name not in _zone_names():
            self.problem(
                f"{self.value!r} is not an IANA timezone, expected e.g. America/New_York"
                + did_you_mean(str(self.value), _zone_names())
            )
            return None
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError) as err:  # listed but unreadable
            self.problem(f"{name!r} cannot be loaded ({err}), expected an IANA timezone")
            return None

    def days(self) -> frozenset[int] | None:
        """Weekdays by name (0 = Monday, as `date.weekday()`); numbers are refused."""
        values = self.value if isinstance(self.value, list) else [self.value]
        found: set[int] = set()
        for item in values:
            word = str(item).strip().lower()
            if word in DAY_NAMES or word in _FULL_DAYS:
                found.add((DAY_NAMES + _FULL_DAYS).index(word) % 7)
            else:
                hint = " (days by name only: numbers mean different days to different tools)"
                self.problem(
                    f"{item!r} is not a day, expected one of {', '.join(DAY_NAMES)}"
                    + (hint if word.isdigit() else did_you_mean(word, DAY_NAMES))
                )
                return None
        if not found:
            self.problem("no days given, expected a list like [mon, wed, fri]")
            return None
        return frozenset(found)


@cache
def _zone_names() -> frozenset[str]:
    return frozenset(available_timezones())


def _kind(value: object) -> str:
    if value is None:
        return "empty"
    if isinstance(value, CommentedMap):
        return "a mapping"
    if isinstance(value, CommentedSeq):
        return "a list"
    return f"{value!r}"
