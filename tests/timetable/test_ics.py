"""Meetings from an iCalendar file: RRULE, EXDATE, RDATE and an event's own TZID."""

from __future__ import annotations

from shared.events.types import WARMUP
from shared.timetable import expand, sessions

from .helpers import FALL, LECTURES, NY, at, timetable

ICS = """\
ics:
  file: cs101.ics
  mode: {mode}
  map:
    - category: LECTURE
      kind: lecture
      name: lecture
    - summary: "^Lab A"
      kind: lab
      audience: lab-a
      attendance: 1.0
"""


def test_rrule_exdate_rdate_and_a_foreign_tzid():
    tt = timetable(FALL + ICS.format(mode="replace"))
    found = [(s.meeting, s.start.isoformat(), s.expected, s.source) for s in sessions(tt)]
    lectures = [start[:10] for name, start, _, _ in found if name == "lecture"]
    # MWF Aug 31 .. Sep 18, minus the EXDATE Sep 9, plus the RDATE Saturday Sep 12.
    assert lectures == ["2026-08-31", "2026-09-02", "2026-09-04", "2026-09-07", "2026-09-11",
                        "2026-09-12", "2026-09-14", "2026-09-16", "2026-09-18"]
    # Named after its SUMMARY (the rule gives no name); 09:10 in Chicago is 10:10 in New York.
    labs = [(start, expected) for name, start, expected, _ in found
            if name == "lab-a-remote-ta-in-chicago"]
    assert labs == [("2026-09-08T10:10:00-04:00", 100), ("2026-09-15T10:10:00-04:00", 100),
                    ("2026-09-22T10:10:00-04:00", 100)]
    assert {source for *_, source in found} == {"ics"}


def test_holidays_cancellations_and_moves_apply_to_ics_meetings():
    text = FALL + ICS.format(mode="replace") + """\
holidays:
  - name: Labor Day
    date: 2026-09-07
cancelled:
  - meeting: lab-a-remote-ta-in-chicago
    date: 2026-09-15
moved:
  - meeting: lecture
    date: 2026-09-02
    to: 2026-09-03
"""
    window = expand(timetable(text), at(NY, 2026, 9, 1), at(NY, 2026, 9, 16))
    warmups = [o for o in window if o.type == WARMUP]
    assert [(o.data["meeting"], o.data["start"][:16]) for o in warmups] == [
        ("lecture", "2026-09-03T10:10"),
        ("lecture", "2026-09-04T10:10"),
        ("lab-a-remote-ta-in-chicago", "2026-09-08T10:10"),
        ("lecture", "2026-09-11T10:10"),
        ("lecture", "2026-09-12T10:10"),
        ("lecture", "2026-09-14T10:10"),
    ]
    assert warmups[0].data["moved_from"] == "2026-09-02T10:10:00-04:00"


def test_add_mode_keeps_the_yaml_meetings_too():
    yaml_lectures = LECTURES.replace("name: lecture", "name: review")
    tt = timetable(FALL + yaml_lectures + ICS.format(mode="add"))
    day = [s for s in sessions(tt) if s.start.date().isoformat() == "2026-09-02"]
    assert sorted((s.meeting, s.source) for s in day) == [("lecture", "ics"), ("review", "yaml")]
