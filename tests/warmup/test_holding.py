"""What is held when (pure): the warm window of each meeting, the state kept on the workload,
and the count an adopted release gets back."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from shared.warmup.holding import ORIGINAL, WarmState, marks, open_at, original
from shared.warmup.sizing import Demand

NY = ZoneInfo("America/New_York")
LEAD, GRACE = timedelta(minutes=30), timedelta(minutes=15)


def meeting(name: str, audience: str, start: tuple[int, int], end: tuple[int, int]) -> Demand:
    day = (2026, 10, 12)
    return Demand(name, audience, 100, datetime(*day, *start, tzinfo=NY),
                  datetime(*day, *end, tzinfo=NY))


LECTURE = meeting("lecture", "class", (10, 10), (11, 0))
LAB = meeting("lab-a", "lab-a", (11, 0), (12, 0))


def at(hour: int, minute: int) -> datetime:
    return datetime(2026, 10, 12, hour, minute, tzinfo=NY)


def test_a_meeting_is_held_from_its_warm_up_until_its_cool_down() -> None:
    both = [LECTURE, LAB]
    assert open_at(both, at(9, 39), LEAD, GRACE) == []
    assert open_at(both, at(9, 40), LEAD, GRACE) == [LECTURE]
    assert open_at(both, at(10, 45), LEAD, GRACE) == [LECTURE, LAB]  # the lab warms at 10:30
    assert open_at(both, at(11, 15), LEAD, GRACE) == [LAB]  # the lecture cooled at 11:15


def test_the_window_is_compared_in_utc() -> None:
    assert open_at([LECTURE], at(9, 40).astimezone(ZoneInfo("Asia/Tokyo")), LEAD, GRACE)


def test_the_state_round_trips_and_a_broken_one_reads_as_none() -> None:
    state = WarmState(216, "node", 400, 40, at(11, 15), ("lecture 2026-10-12 10:10",), 0)
    assert WarmState.from_json(state.to_json()) == state
    assert WarmState.from_json("{not json") is None
    assert WarmState.from_json(None) is None
    assert state.open(at(11, 14)) and not state.open(at(11, 15))


def test_an_adopted_release_keeps_its_first_recorded_count() -> None:
    assert original({}, 3, adopted=True) == 3  # recorded at the first hold
    assert original({ORIGINAL: "3"}, 180, adopted=True) == 3  # never the warmed count
    assert original({}, 0, adopted=False) is None  # classops's own: the baseline applies
    assert marks(None, 3, "why", 3)[ORIGINAL] == "3"
