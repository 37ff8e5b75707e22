"""Catch-up planning and windows of usefulness, with fixed instants (pure)."""

from __future__ import annotations

from datetime import timedelta

from shared.runtime.schedule.usefulness import catch_up
from shared.timetable import expand, loads

from .schedule import TEXT, WARMUP_MON, at

DAY = timedelta(days=1)


def plan(now_day: int, hour: int, minute: int, last: dict | None = None):  # type: ignore[no-untyped-def]
    timetable = loads(TEXT)
    now = at(now_day, hour, minute)
    occurrences = expand(timetable, now - DAY, now + DAY)
    return catch_up(occurrences, last or {}, now, DAY)


def test_a_restart_in_the_lectures_first_minutes_still_warms() -> None:
    found = plan(14, 10, 15)
    assert [o.id for o in found.fire] == [WARMUP_MON]
    assert found.skip == []
    assert found.later[0].id.startswith("cooldown/lecture@2026-09-14T11:15")


def test_a_restart_after_the_lecture_skips_the_warmup_but_still_cools_down() -> None:
    found = plan(14, 11, 5)
    assert [o.id for o in found.skip] == [WARMUP_MON]
    assert found.fire == []
    found = plan(14, 11, 20)  # the cool-down is useful until the next one: fire it late
    assert [o.id for o in found.fire] == ["cooldown/lecture@2026-09-14T11:15:00-04:00"]


def test_what_fired_before_never_fires_again() -> None:
    last = {"warmup/lecture": at(14, 9, 40)}
    assert plan(14, 10, 15, last).fire == []


def test_a_first_start_does_not_replay_beyond_the_max_age() -> None:
    found = plan(16, 9, 0)  # Wednesday morning: Monday's lecture is older than a day
    assert all(o.at >= at(15, 9, 0) for o in found.fire + found.skip)
