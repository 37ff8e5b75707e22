"""Validation: every problem at once, each at its file:line:column with a useful hint."""

from __future__ import annotations

import pytest

from shared.timetable import SECTIONS, Node, TimetableError, loads, section

from .helpers import FALL, LECTURES, timetable


def problems(text: str) -> list[str]:
    with pytest.raises(TimetableError) as caught:
        timetable(text)
    return [str(p) for p in caught.value.problems]


def test_unknown_key_has_its_line_and_a_did_you_mean():
    text = FALL + LECTURES.replace('    start: "10:10"', '    strat: "10:10"')
    # Line 14 is `meetings:`; `strat` is on line 18, indented by 4.
    assert problems(text) == [
        "test.yaml:15:5: meetings[0].start: missing, this key is required",
        "test.yaml:18:5: meetings[0].strat: unknown key 'strat', expected one of attendance, "
        "audience, days, end, from, kind, name, start, until; did you mean 'start'?",
    ]


def test_unknown_section_has_a_did_you_mean():
    [found] = problems(FALL + "meetngs: []\n")
    # The list of known sections grows as capabilities register theirs: check its core only.
    assert found.startswith("test.yaml:14:1: meetngs: unknown section, expected one of ")
    assert found.endswith("; did you mean 'meetings'?")
    listed = found.split("expected one of ")[1].split(";")[0].split(", ")
    assert listed == sorted(listed)
    assert {"course", "term", "class", "meetings", "one_off", "backup", "ics"} <= set(listed)


def test_several_problems_are_reported_at_once_in_file_order():
    text = """\
course: CS 101
term:
  name: fall-2026
  start: 2026-09-31
  end: 2026-08-01
  timezone: America/NewYork
class:
  size: 0
backup:
  cron: "0 2 * * 1-5"
"""
    found = problems(text)
    assert found == [
        "test.yaml:1:9: course: 'CS 101' is not valid, expected a lowercase DNS label such as "
        "cs101",
        "test.yaml:4:10: term.start: 2026-09-31 is not a date (day is out of range for month), "
        "expected a real day as YYYY-MM-DD",
        "test.yaml:6:13: term.timezone: 'America/NewYork' is not an IANA timezone, expected e.g. "
        "America/New_York; did you mean 'America/New_York'?",
        "test.yaml:8:9: class.size: 0 is too small, expected a whole number >= 1",
    ]
    # The cron is not checked without a valid term (its timezone is unknown): it would be
    # reported once the term is fixed, as the next test shows.


def test_numeric_day_of_week_in_the_backup_cron_is_refused_with_a_hint():
    found = problems(FALL + 'backup:\n  cron: "0 2 * * 1-5"\n')
    assert found == [
        "test.yaml:15:9: backup.cron: day-of-week '1-5' is numeric, expected days by name such "
        "as mon-fri or mon,wed,fri (APScheduler 3.x reads 1-5 as Tuesday..Saturday)"
    ]


def test_a_bad_copy_cron_is_reported_at_its_line():
    found = problems(FALL + 'backup:\n  cron: "0 3 * * *"\n  copy: "0 4 * *"\n')
    assert len(found) == 1 and found[0].startswith("test.yaml:16:9: backup.copy: ")


def test_end_before_start_and_unknown_audience():
    text = FALL + LECTURES.replace('end: "11:00"', 'end: "09:00"') + "    audience: lab_a\n"
    assert problems(text) == [
        "test.yaml:19:10: meetings[0].end: 09:00 is not after the start 10:10, expected a later "
        "time the same day",
        "test.yaml:20:15: meetings[0].audience: 'lab_a' is not a section of the class, expected "
        "'class' or one of lab-a, lab-b; did you mean 'lab-a'?",
    ]


def test_a_local_time_that_does_not_exist_on_a_dst_change_day():
    text = FALL.replace("2026-08-31", "2027-03-01").replace("2026-12-18", "2027-03-31") + """\
meetings:
  - name: night-owls
    kind: lab
    days: [sun]
    start: "02:30"
    end: "03:30"
"""
    assert problems(text) == [
        "test.yaml:18:12: meetings[0].start: 02:30 does not exist on 2027-03-14 in "
        "America/New_York (the clocks skip it for DST), expected a time outside the gap"
    ]


def test_impossible_and_misplaced_dates_in_changes():
    text = FALL + LECTURES + """\
holidays:
  - name: Leap day
    date: 2026-02-29
cancelled:
  - meeting: lectur
    date: 2026-09-01
moved:
  - meeting: lecture
    date: 2026-09-02
    to: 2027-01-04
"""
    assert problems(text) == [
        "test.yaml:22:11: holidays[0].date: 2026-02-29 is not a date (day is out of range for "
        "month), expected a real day as YYYY-MM-DD",
        "test.yaml:24:14: cancelled[0].meeting: 'lectur' is not a meeting, expected one of "
        "lecture; did you mean 'lecture'?",
        "test.yaml:29:9: moved[0].to: 2027-01-04 is outside the term, expected 2026-08-31 .. "
        "2026-12-18",
    ]


def test_cancelling_a_day_the_meeting_does_not_meet():
    text = FALL + LECTURES + "cancelled:\n  - meeting: lecture\n    date: 2026-09-01\n"
    assert problems(text) == [
        "test.yaml:22:11: cancelled[0].date: 'lecture' does not meet on 2026-09-01 (Tue), "
        "expected one of its days (mon,wed,fri) between 2026-08-31 and 2026-12-18"
    ]


def test_yaml_syntax_error_is_one_located_problem():
    found = problems(FALL + "meetings:\n  - name: [unclosed\n")
    assert len(found) == 1 and found[0].startswith("test.yaml:16:") and "not valid YAML" in found[0]


def test_missing_required_sections():
    assert problems("course: cs101\n") == [
        "test.yaml:1:1: <top>: section 'class' is missing, it is required",
        "test.yaml:1:1: <top>: section 'term' is missing, it is required",
    ]


def test_unmatched_ics_event_is_a_problem():
    text = FALL + "ics:\n  file: cs101.ics\n  map:\n    - category: LECTURE\n      kind: lecture\n"
    found = problems(text)
    assert found == [
        "test.yaml:17:5: ics.map: event 'Lab A (remote TA in Chicago)' (UID "
        "cs101-lab-a@example.edu) matches no rule, expected a rule for it or 'unmatched: ignore'"
    ]


def test_a_capability_registers_its_own_section():
    registry = SECTIONS.copy()

    @section("demo", registry=registry)
    def parse_demo(node: Node) -> str | None:
        return node.get("image", Node.text) if node.keys(("image",)) else None

    tt = loads(FALL + "demo:\n  image: quay.io/jupyter/base-notebook\n", "t.yaml",
               registry=registry)
    assert tt.extensions == {"demo": "quay.io/jupyter/base-notebook"}
    assert "demo" not in SECTIONS  # the shared registry is untouched
    with pytest.raises(TimetableError, match=r"t.yaml:15:4: demo.imag: unknown key 'imag'"):
        loads(FALL + "demo:\n   imag: x\n", "t.yaml", registry=registry)


def test_bundled_schedule_is_clean():
    from shared.timetable import load

    from .helpers import REPO

    assert load(REPO / "schedules.yaml").course == "cs101"


ICS_REPLACE = """\
ics:
  file: cs101.ics
  mode: replace
  map:
    - {category: LECTURE, kind: lecture, name: lecture}
    - {summary: "^Lab A", kind: lab, audience: lab-a, name: lab-a}
"""


def test_changes_to_ics_meetings_are_checked_against_the_days_they_meet():
    # cs101.ics: lectures MWF Aug 31 .. Sep 18 without Sep 9 (EXDATE), plus Saturday Sep 12
    # (RDATE); lab A on three Tuesdays from Sep 8.
    text = FALL + ICS_REPLACE + """\
cancelled:
  - {meeting: lecture, date: 2026-09-09}
  - {meeting: lecture, date: 2026-09-12}
moved:
  - {meeting: lab-a, date: 2026-09-29, to: 2026-09-30}
  - {meeting: lab-a, date: 2026-09-15, to: 2026-09-16}
"""
    assert problems(text) == [
        "test.yaml:21:30: cancelled[0].date: 'lecture' does not meet on 2026-09-09 (Wed) in "
        "cs101.ics, expected a day it meets, the nearest being 2026-09-07 (Mon) or "
        "2026-09-11 (Fri)",
        "test.yaml:24:28: moved[0].date: 'lab-a' does not meet on 2026-09-29 (Tue) in "
        "cs101.ics, expected a day it meets, the nearest being 2026-09-22 (Tue)",
    ]


def test_in_add_mode_a_meeting_meets_on_its_yaml_days_and_its_ics_days():
    text = FALL + LECTURES + ICS_REPLACE.replace("replace", "add") + """\
cancelled:
  - {meeting: lecture, date: 2026-09-12}
  - {meeting: lecture, date: 2026-12-14}
  - {meeting: lecture, date: 2026-12-15}
"""
    # Sep 12 is the ICS's RDATE Saturday; Dec 14 a YAML Monday; Dec 15 neither.
    assert problems(text) == [
        "test.yaml:29:30: cancelled[2].date: 'lecture' does not meet on 2026-12-15 (Tue) in "
        "cs101.ics, expected a day it meets, the nearest being 2026-12-14 (Mon) or "
        "2026-12-16 (Wed)",
    ]


SPRING = FALL.replace("2026-08-31", "2027-03-01").replace("2026-12-18", "2027-03-31")


def test_a_weekly_deadline_in_a_dst_gap_is_refused_at_its_time():
    text = SPRING + """\
deadlines:
  - name: night-quiz
    days: [sun]
    at: "02:30"
"""
    assert problems(text) == [
        "test.yaml:17:9: deadlines[0].at: 02:30 does not exist on 2027-03-14 in "
        "America/New_York (the clocks skip it for DST), expected a time outside the gap"
    ]
    # Not due that Sunday (a holiday, or outside its from/until): nothing to refuse.
    timetable(text + "holidays:\n  - {name: Spring break, date: 2027-03-14}\n")
    timetable(text + "    from: 2027-03-15\n")


def test_deadline_bounds():
    text = FALL + """\
deadlines:
  - {name: assignment, days: [fri], at: "23:59", from: 2026-10-01, until: 2026-09-01}
  - {name: project, date: 2026-12-11, at: "17:00", until: 2026-12-12}
"""
    assert problems(text) == [
        "test.yaml:15:75: deadlines[0].until: 2026-09-01 is before 'from' 2026-10-01, expected "
        "a later date",
        "test.yaml:16:5: deadlines[1]: 'from' and 'until' bound weekly deadlines, expected them "
        "only with 'days' (a deadline with a 'date' is due once)",
    ]


def test_a_move_at_the_usual_times_into_a_dst_gap():
    text = SPRING + """\
meetings:
  - {name: night-owls, kind: lab, days: [sat], start: "02:30", end: "03:30"}
moved:
  - {meeting: night-owls, date: 2027-03-13, to: 2027-03-14}
  - {meeting: night-owls, date: 2027-03-20, to: 2027-03-21, start: "04:00", end: "05:00"}
"""
    assert problems(text) == [
        "test.yaml:17:49: moved[0].to: 'night-owls' keeps its usual 02:30-03:30, but 02:30 does "
        "not exist on 2027-03-14 in America/New_York (the clocks skip it for DST), expected "
        "another day or a new 'start' and 'end'"
    ]
