"""The capacity curve: seats held from warm-up to cool-down, max per audience, sum across them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shared.timetable import expand, load
from shared.timetable.capacity import capacity_curve

from .helpers import FALL, NY, REPO, at, timetable

# Lead time 30m and cool-down grace 15m (the knobs' defaults); attendance 0.9 of 200 = 180.


def meeting(name: str, day: str, start: str, end: str, audience: str = "class",
            attendance: float | None = None) -> str:
    extra = f"    attendance: {attendance}\n" if attendance is not None else ""
    weekday = datetime.fromisoformat(day).strftime("%a").lower()
    return (f"  - name: {name}\n    kind: lecture\n    days: [{weekday}]\n"
            f'    start: "{start}"\n    end: "{end}"\n    audience: {audience}\n'
            f"    from: {day}\n    until: {day}\n{extra}")


def curve(*meetings: str) -> list[tuple[str, int]]:
    tt = timetable(FALL + "meetings:\n" + "".join(meetings))
    firings = expand(tt, at(NY, 2026, 8, 31), at(NY, 2026, 12, 19))
    return [(f"{when:%m-%d %H:%M %Z}", seats) for when, seats in capacity_curve(firings)]


def test_one_meeting_holds_its_expected_attendance_from_warm_up_to_cool_down():
    # The first step is the first firing (term.start), at zero.
    assert curve(meeting("lecture", "2026-09-02", "10:10", "11:00")) == [
        ("08-31 00:00 EDT", 0), ("09-02 09:40 EDT", 180), ("09-02 11:15 EDT", 0)]


def test_overlapping_meetings_of_the_same_audience_take_the_max():
    found = curve(meeting("lecture", "2026-09-02", "10:10", "11:00"),
                  meeting("review", "2026-09-02", "10:30", "12:00", attendance=0.5))
    assert found[1:] == [("09-02 09:40 EDT", 180),  # lecture 180 and review 100: max
                         ("09-02 11:15 EDT", 100),  # the lecture cools down, the review stays
                         ("09-02 12:15 EDT", 0)]


def test_overlapping_meetings_of_different_audiences_add_up():
    found = curve(meeting("lab-a", "2026-09-08", "10:10", "12:00", "lab-a", 1.0),
                  meeting("lab-b", "2026-09-08", "11:00", "13:00", "lab-b", 1.0))
    assert found[1:] == [("09-08 09:40 EDT", 100), ("09-08 10:30 EDT", 200),
                         ("09-08 12:15 EDT", 100), ("09-08 13:15 EDT", 0)]


def test_back_to_back_meetings_hold_without_a_dip():
    # The lecture cools down at 11:15, exactly when the next one warms up (11:45 - 30m).
    same = curve(meeting("lecture", "2026-09-02", "10:10", "11:00"),
                 meeting("tutorial", "2026-09-02", "11:45", "12:30"))
    assert same[1:] == [("09-02 09:40 EDT", 180), ("09-02 12:45 EDT", 0)]
    smaller = curve(meeting("lecture", "2026-09-02", "10:10", "11:00"),
                    meeting("tutorial", "2026-09-02", "11:45", "12:30", attendance=0.5))
    assert smaller[1:] == [("09-02 09:40 EDT", 180), ("09-02 11:15 EDT", 100),
                           ("09-02 12:45 EDT", 0)]


def test_fall_back_night_is_ordered_by_instant_not_wall_time():
    # 2026-11-01 in New York: 01:00-02:00 happens twice. The first meeting ends at 01:45 EDT
    # and cools down 15 minutes later, at 01:00 EST; the second warms up at 01:20 EDT, which
    # is earlier although its wall time is later.
    found = curve(meeting("early", "2026-11-01", "00:40", "01:45"),
                  meeting("late", "2026-11-01", "01:50", "02:30", "lab-a", 1.0))
    assert found[1:] == [("11-01 00:10 EDT", 180), ("11-01 01:20 EDT", 280),
                         ("11-01 01:00 EST", 100), ("11-01 02:45 EST", 0)]


def test_spring_forward_day_holds_for_the_real_elapsed_time():
    spring = FALL.replace("2026-08-31", "2027-03-01").replace("2026-12-18", "2027-03-31")
    tt = timetable(spring + "meetings:\n" + meeting("night", "2027-03-14", "01:00", "03:30"))
    steps = capacity_curve(expand(tt, at(NY, 2027, 3, 1), at(NY, 2027, 4, 1)))
    (on, seats), (off, zero) = steps[1:]
    assert (f"{on:%H:%M %Z}", f"{off:%H:%M %Z}", seats, zero) == ("00:30 EST", "03:45 EDT", 180, 0)
    # 00:30 EST to 03:45 EDT is 2 h 15 min: the skipped hour is not held.
    assert off.astimezone(UTC) - on.astimezone(UTC) == timedelta(hours=2, minutes=15)


def test_a_window_that_cuts_a_meeting_holds_it_from_the_window_start():
    tt = timetable(FALL + "meetings:\n" + meeting("lecture", "2026-09-02", "10:10", "11:00"))
    start, end = at(NY, 2026, 9, 2, 10, 0), at(NY, 2026, 9, 2, 12, 0)
    assert capacity_curve(expand(tt, start, end), start, end) == [
        (start, 180), (at(NY, 2026, 9, 2, 11, 15), 0)]
    cut_later = at(NY, 2026, 9, 2, 11, 0)  # the warm-up is inside, the cool-down is not
    assert capacity_curve(expand(tt, start - timedelta(hours=1), cut_later),
                          start - timedelta(hours=1), cut_later) == [
        (start - timedelta(hours=1), 0), (at(NY, 2026, 9, 2, 9, 40), 180)]


def test_nothing_to_hold():
    assert capacity_curve([]) == []
    start = at(NY, 2026, 9, 2)
    assert capacity_curve([], start) == [(start, 0)]


def test_the_bundled_term():
    tt = load(REPO / "schedules.yaml")
    firings = expand(tt, at(NY, 2026, 8, 31), at(NY, 2026, 12, 20))
    steps = capacity_curve(firings)
    # 67 meetings, none overlapping another: each is one rise and one fall.
    assert len(steps) == 1 + 2 * 67
    assert max(seats for _, seats in steps) == 240  # the exams: everybody
    assert {seats for _, seats in steps} == {0, 216, 120, 240}
