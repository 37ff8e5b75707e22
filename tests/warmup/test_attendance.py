"""Attendance per slot (pure): counts of past meetings of the same weekday and time replace the
timetable's factor once there are enough of them."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from shared.warmup.attendance import expected, history, meeting_key, record, slot

NY = ZoneInfo("America/New_York")
MON = datetime(2026, 10, 19, 10, 10, tzinfo=NY)


def test_a_slot_is_the_meeting_its_weekday_and_time() -> None:
    assert slot("lecture", MON) == "lecture/mon/10:10"
    assert meeting_key("lecture", MON) == "lecture/2026-10-19T10:10"


def test_history_is_earlier_meetings_of_the_same_slot_only() -> None:
    counts = {"lecture/2026-10-05T10:10": 150, "lecture/2026-10-12T10:10": 170,
              "lecture/2026-10-14T10:10": 90,  # a Wednesday: another slot
              "lecture/2026-10-26T10:10": 10,  # later than the one sized
              "lab-a/2026-10-12T10:10": 120}
    assert history(counts, "lecture", MON) == [150, 170]


def test_too_little_history_keeps_the_timetable() -> None:
    found = expected(240, 216, [150, 170], min_meetings=3)
    assert (found.expected, found.source) == (216, "timetable")


def test_enough_history_uses_a_high_quantile_of_the_shares() -> None:
    found = expected(240, 216, [120, 150, 180, 140], q=0.9, min_meetings=3)
    assert found.expected == 180  # the 0.9 quantile of four is the largest
    assert found.source == "history 0.75 of 4 meetings"


def test_history_never_expects_more_than_the_audience() -> None:
    assert expected(100, 90, [120, 130, 140]).expected == 100


def test_record_replaces_a_meeting_recorded_twice_and_bounds_the_term() -> None:
    once = record({}, "lecture/2026-10-12T10:10", 170)
    twice = record(once, "lecture/2026-10-12T10:10", 171)
    assert twice == {"lecture/2026-10-12T10:10": 171}
    many: dict[str, int] = {}
    for day in range(1, 29):
        many = record(many, f"lecture/2026-09-{day:02d}T10:10", day, limit=10)
    assert len(many) == 10 and min(many.values()) == 19
