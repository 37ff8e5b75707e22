"""Wall-clock times of the term's timezone made into instants, the DST-correct way.

A meeting at 10:10 is 10:10 local on every date, so each instant is built from its own date
(never by adding 7 days to last week's instant). Around a DST change a wall time can be missing
(spring forward) or repeated (fall back): validation refuses missing ones for meetings; a
repeated one means its first occurrence (fold=0), as most calendar apps do.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


def local(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The instant of wall time `at` on `day`; a missing time moves forward past the gap."""
    naive = datetime.combine(day, at)
    # Round-tripping through UTC turns a time in the gap into the real instant after it.
    return naive.replace(tzinfo=zone).astimezone(UTC).astimezone(zone)


def exists(day: date, at: time, zone: ZoneInfo) -> bool:
    """False when the clocks skip over `at` on `day` (e.g. 02:30 on a spring-forward day)."""
    return local(day, at, zone).replace(tzinfo=None) == datetime.combine(day, at)


def is_repeated(moment: datetime) -> bool:
    """True for the second pass (fold=1) through a wall time that occurs twice."""
    return moment.fold == 1 and moment.replace(fold=0).utcoffset() != moment.utcoffset()


def shift(moment: datetime, delta: timedelta) -> datetime:
    """`moment` plus elapsed time `delta`; aware arithmetic in one zone would add wall time."""
    zone = moment.tzinfo
    return (moment.astimezone(UTC) + delta).astimezone(zone)
