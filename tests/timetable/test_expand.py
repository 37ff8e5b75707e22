"""Expansion of meetings, holidays, moves and deadlines, with fixed aware datetimes."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest

from shared.events.types import COOLDOWN, DEADLINE, TERM_END, TERM_START, WARMUP
from shared.timetable import expand, load, sessions

from .helpers import FALL, LECTURES, NY, REPO, SYDNEY, at, timetable


def warmups(tt, start, end):
    return [o for o in expand(tt, start, end) if o.type == WARMUP]


def test_lecture_stays_at_1010_local_across_new_york_fall_back():
    tt = timetable(FALL + LECTURES)
    # DST ends in New York on Sunday 2026-11-01.
    found = warmups(tt, at(NY, 2026, 10, 30), at(NY, 2026, 11, 3))
    assert [o.at.isoformat() for o in found] == [
        "2026-10-30T09:40:00-04:00",
        "2026-11-02T09:40:00-05:00",
    ]
    assert [o.data["start"] for o in found] == [
        "2026-10-30T10:10:00-04:00",
        "2026-11-02T10:10:00-05:00",
    ]


def test_lecture_stays_at_1010_local_across_sydney_spring_forward():
    text = FALL.replace("America/New_York", "Australia/Sydney") + LECTURES
    tt = timetable(text)
    # DST starts in Sydney on Sunday 2026-10-04 (southern spring).
    found = warmups(tt, at(SYDNEY, 2026, 10, 2), at(SYDNEY, 2026, 10, 6))
    assert [o.at.isoformat() for o in found] == [
        "2026-10-02T09:40:00+10:00",
        "2026-10-05T09:40:00+11:00",
    ]
    assert all(o.at.tzinfo == SYDNEY for o in found)


def test_holiday_removes_recurring_meetings_and_weekly_deadlines():
    text = FALL + LECTURES + """\
holidays:
  - name: Labor Day
    date: 2026-09-07
deadlines:
  - name: hw
    days: [mon]
    at: "23:59"
"""
    tt = timetable(text)
    found = expand(tt, at(NY, 2026, 9, 7), at(NY, 2026, 9, 15))
    dates = {o.at.date().isoformat() for o in found if o.type == WARMUP}
    assert dates == {"2026-09-09", "2026-09-11", "2026-09-14"}
    # The deadline of the holiday Monday is not set; numbering skips it over the whole term.
    assert [o.subject for o in found if o.type == DEADLINE] == ["hw-2"]


def test_moved_lecture_moves_and_keeps_its_origin():
    text = FALL + LECTURES + """\
moved:
  - meeting: lecture
    date: 2026-11-23
    to: 2026-11-24
    start: "14:10"
    end: "15:00"
"""
    found = warmups(timetable(text), at(NY, 2026, 11, 23), at(NY, 2026, 11, 25))
    assert [o.at.isoformat() for o in found] == ["2026-11-24T13:40:00-05:00"]
    assert found[0].data["moved_from"] == "2026-11-23T10:10:00-05:00"
    assert found[0].id == "warmup/lecture@2026-11-24T13:40:00-05:00"


def test_move_without_times_keeps_the_wall_clock_times():
    text = FALL + LECTURES + """\
moved:
  - meeting: lecture
    date: 2026-10-30
    to: 2026-11-03
"""
    found = warmups(timetable(text), at(NY, 2026, 10, 30), at(NY, 2026, 11, 4))
    # Moved across the DST change: still 10:10 local, now at -05:00.
    assert [o.data["start"] for o in found] == [
        "2026-11-02T10:10:00-05:00", "2026-11-03T10:10:00-05:00"]


def test_cancelled_lecture_is_gone():
    text = FALL + LECTURES + """\
cancelled:
  - meeting: lecture
    date: 2026-09-02
"""
    found = warmups(timetable(text), at(NY, 2026, 9, 1), at(NY, 2026, 9, 4))
    assert found == []


def test_exam_overlapping_a_lecture_lists_both():
    text = FALL + LECTURES + """\
one_off:
  - name: quiz
    kind: exam
    date: 2026-09-02
    start: "10:30"
    end: "11:30"
    audience: lab-a
    attendance: 1.0
"""
    found = expand(timetable(text), at(NY, 2026, 9, 2), at(NY, 2026, 9, 3))
    meetings = [(o.type, o.data["meeting"], o.data["expected"]) for o in found
                if o.type in (WARMUP, COOLDOWN)]
    assert meetings == [
        (WARMUP, "lecture", 180),  # 200 x the default attendance 0.9
        (WARMUP, "quiz", 100),
        (COOLDOWN, "lecture", 180),
        (COOLDOWN, "quiz", 100),
    ]


def test_week_wrap_monday_early_meeting_warms_up_on_sunday():
    text = FALL + """\
meetings:
  - name: night-lab
    kind: lab
    days: [mon]
    start: "00:15"
    end: "01:00"
"""
    tt = timetable(text)
    # A window over the weekend catches Monday's warm-up on Sunday 23:45 ...
    weekend = expand(tt, at(NY, 2026, 9, 12), at(NY, 2026, 9, 14))
    assert [(o.type, o.at.isoformat()) for o in weekend] == [
        (WARMUP, "2026-09-13T23:45:00-04:00")]
    # ... and a window that starts on Monday has only its cool-down.
    monday = expand(tt, at(NY, 2026, 9, 14), at(NY, 2026, 9, 15))
    assert [o.type for o in monday] == [COOLDOWN]


def test_window_is_half_open_and_must_be_aware():
    tt = timetable(FALL + LECTURES)
    warm = at(NY, 2026, 9, 2, 9, 40)
    assert [o.at for o in warmups(tt, warm, warm + timedelta(minutes=1))] == [warm]
    assert warmups(tt, warm - timedelta(minutes=1), warm) == []
    with pytest.raises(ValueError, match="aware"):
        expand(tt, warm.replace(tzinfo=None), warm)


def test_term_start_and_end():
    found = expand(timetable(FALL), at(NY, 2026, 1, 1), at(NY, 2027, 1, 1))
    assert [(o.type, o.at.isoformat(), o.id) for o in found] == [
        (TERM_START, "2026-08-31T00:00:00-04:00", "term/start@2026-08-31T00:00:00-04:00"),
        (TERM_END, "2026-12-19T00:00:00-05:00", "term/end@2026-12-19T00:00:00-05:00"),
    ]


def test_expansion_is_deterministic_and_sorted():
    tt = load(REPO / "schedules.yaml")
    one = expand(tt, at(NY, 2026, 8, 1), at(NY, 2027, 1, 1))
    two = expand(tt, at(NY, 2026, 8, 1), at(NY, 2027, 1, 1))
    assert [o.id for o in one] == [o.id for o in two]
    assert [o.at for o in one] == sorted(o.at for o in one)
    assert len({o.id for o in one}) == len(one)


def test_bundled_schedule_has_the_hand_counted_meetings():
    tt = load(REPO / "schedules.yaml")
    counts = Counter(s.meeting for s in sessions(tt))
    # Lectures, Mon/Wed/Fri from Mon 2026-08-31 to Wed 2026-12-09:
    #   week of Aug 31: 3; the 13 full weeks from Sep 7 to Nov 30: 39; week of Dec 7: 2 -> 44
    #   holidays: Labor Day Mon Sep 7, fall break Mon Oct 12, Thanksgiving Wed Nov 25 and
    #   Fri Nov 27 -> 40; cancelled Fri Oct 30 -> 39; Mon Nov 23 moved to Tue, still held.
    assert counts["lecture"] == 39
    # Labs: 14 Tuesdays Sep 8 .. Dec 8 minus fall break Tue Oct 13; 14 Thursdays Sep 10 ..
    # Dec 10 minus Thanksgiving Thu Nov 26.
    assert counts["lab-a"] == counts["lab-b"] == 13
    assert counts["midterm"] == counts["final"] == 1
    found = Counter(o.type for o in expand(tt, at(NY, 2026, 8, 1), at(NY, 2027, 1, 1)))
    # 12 weekly assignments (13 Fridays Sep 11 .. Dec 4 minus Nov 27) + the project.
    assert found[DEADLINE] == 13
    assert found["edu.classops.backup.due"] == 110  # every night, Aug 31 .. Dec 18
    assert found["edu.classops.retention.due"] == 15  # Sundays Sep 6 .. Dec 13


def test_lead_time_is_elapsed_time_across_a_spring_forward_night():
    text = """\
course: cs101
term:
  name: spring-2027
  start: 2027-03-08
  end: 2027-03-19
  timezone: America/New_York
class:
  size: 10
knobs:
  lead_time: 1h
meetings:
  - name: early-lab
    kind: lab
    days: [sun]
    start: "03:10"
    end: "04:00"
"""
    found = warmups(timetable(text), at(NY, 2027, 3, 13), at(NY, 2027, 3, 15))
    # The clocks jump from 02:00 to 03:00 on 2027-03-14: an hour before 03:10 EDT is 01:10 EST.
    assert [o.at.isoformat() for o in found] == ["2027-03-14T01:10:00-05:00"]
