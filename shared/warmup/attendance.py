"""Attendance learned per slot, as counts (how many distinct servers, never who).

A slot is a recurring meeting at its weekday and time (`lecture/mon/10:10`): Monday's lecture
draws differently from Friday's. After each meeting, the count of distinct servers that started
in its window is recorded under its slot; the next sizing of the slot uses the `q` quantile of
the last `window` shares (count / audience size) once there are `min_meetings` of them, else the
timetable's factor. A high quantile, not the mean: a warm-up that is short costs a lecture,
one that is long costs a few node-minutes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from .leadtime import quantile

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
KEEP = 60  # meetings kept per meeting name (a term of MWF lectures is ~42)


def slot(meeting: str, start: datetime) -> str:
    """`lecture/mon/10:10`, in the meeting's own (term) timezone."""
    return f"{meeting}/{DAYS[start.weekday()]}/{start:%H:%M}"


def meeting_key(meeting: str, start: datetime) -> str:
    """`lecture/2026-10-12T10:10`: one meeting on one day (the occurrences' subject)."""
    return f"{meeting}/{start:%Y-%m-%dT%H:%M}"


def history(counts: Mapping[str, int], meeting: str, start: datetime) -> list[int]:
    """The counts of earlier meetings of the same slot, oldest first."""
    weekday, clock = DAYS[start.weekday()], f"{start:%H:%M}"
    mine = meeting_key(meeting, start)
    found = []
    for key, count in counts.items():
        name, _, stamp = key.rpartition("/")
        try:
            when = datetime.fromisoformat(stamp)
        except ValueError:
            continue
        if name == meeting and key < mine and DAYS[when.weekday()] == weekday \
                and f"{when:%H:%M}" == clock:
            found.append((stamp, count))
    return [c for _, c in sorted(found)]


@dataclass(frozen=True)
class Attendance:
    expected: int
    source: str  # "timetable" or "history 0.83 of 4 meetings"


def expected(audience_size: int, default: int, past: Sequence[int], q: float = 0.9,
             min_meetings: int = 3, window: int = 10) -> Attendance:
    """People to expect: from the slot's counts when there are enough, else `default` (the
    timetable's audience x attendance factor)."""
    recent = [c for c in past[-window:] if c >= 0]
    if audience_size <= 0 or len(recent) < min_meetings:
        return Attendance(default, "timetable")
    share = min(1.0, quantile([c / audience_size for c in recent], q))
    return Attendance(math.ceil(audience_size * share - 1e-9),
                      f"history {share:.2f} of {len(recent)} meetings")


def record(counts: Mapping[str, int], key: str, count: int, limit: int = KEEP
           ) -> dict[str, int]:
    """The counts with meeting `key` set (again: replaced, so recording twice is once), at
    most `limit` meetings kept per meeting name, the newest."""
    result = {**counts, key: max(0, count)}
    name = key.rpartition("/")[0]
    mine = sorted(k for k in result if k.rpartition("/")[0] == name)
    for old in mine[:-limit] if len(mine) > limit else []:
        del result[old]
    return result
