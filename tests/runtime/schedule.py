"""A small timetable for the scheduler's tests: Mon/Wed/Fri lecture 10:10-11:00, New York."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

TEXT = """\
course: cs101
term: {name: fall-2026, start: 2026-08-31, end: 2026-12-18, timezone: America/New_York}
class: {size: 100}
knobs: {lead_time: 30m, cooldown_grace: 15m}
meetings:
  - {name: lecture, kind: lecture, days: [mon, wed, fri], start: "10:10", end: "11:00"}
"""
NY = ZoneInfo("America/New_York")


def at(day: int, hour: int, minute: int, second: int = 0) -> datetime:
    """An instant in September 2026, New York time (Sep 14 is a Monday)."""
    return datetime(2026, 9, day, hour, minute, second, tzinfo=NY)


WARMUP_MON = "warmup/lecture@2026-09-14T09:40:00-04:00"
