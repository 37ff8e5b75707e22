"""The backup cron: checked against APScheduler 3.x's reading, and expanded with it.

APScheduler 3.x numbers weekdays from Monday = 0, so a crontab's `1-5` (Monday..Friday to
cron) means Tuesday..Saturday to it; `*/2` in that field differs too. Day-of-week is therefore
accepted by name only. Expansion asks APScheduler's own `CronTrigger.get_next_fire_time`, so
what the plan shows is what a scheduler built on the same trigger would compute. Around DST,
a wall time the clocks skip fires right after the gap, and one they repeat fires once (the
first pass), as Vixie cron does.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

from .localtimes import is_repeated


def problem(expression: str, zone: ZoneInfo) -> str | None:
    """What is wrong with a five-field cron expression, or None if nothing is."""
    fields = expression.split()
    if len(fields) != 5:
        return (f"{expression!r} has {len(fields)} fields, expected 5: minute hour "
                "day-of-month month day-of-week")
    weekday = fields[4]
    if re.search(r"\d", weekday):
        return (f"day-of-week {weekday!r} is numeric, expected days by name such as mon-fri or "
                "mon,wed,fri (APScheduler 3.x reads 1-5 as Tuesday..Saturday)")
    try:
        CronTrigger.from_crontab(expression, timezone=zone)
    except ValueError as err:
        return f"{expression!r} is not a valid cron expression ({err})"
    return None


def fire_times(expression: str, zone: ZoneInfo, start: datetime, end: datetime
               ) -> list[datetime]:
    """Every firing in [start, end), in `zone`; `expression` must have passed `problem`."""
    trigger = CronTrigger.from_crontab(expression, timezone=zone)
    # Compare instants in UTC: Python compares two datetimes of the same zone by wall time,
    # ignoring `fold`, so the two 01:30s of a fall-back night would look equal.
    first, after = start.astimezone(UTC), end.astimezone(UTC)
    result: list[datetime] = []
    previous: datetime | None = None
    now = start
    while (fired := trigger.get_next_fire_time(previous, now)) is not None:
        instant = fired.astimezone(UTC)
        if instant >= after or (previous is not None and instant <= previous.astimezone(UTC)):
            break  # past the window (or, defensively, no progress)
        previous = now = fired
        # Through UTC: a time in a DST gap becomes the real instant after it.
        moment = instant.astimezone(zone)
        if not is_repeated(moment) and instant >= first:
            result.append(moment)
    return result
