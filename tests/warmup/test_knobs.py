"""The `warmup:` section of schedules.yaml: defaults, and every mistake reported with its line."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared.timetable import TimetableError
from shared.warmup.knobs import WarmupKnobs, knobs_of
from tests.timetable.helpers import FALL, LECTURES, timetable


def test_without_the_section_the_defaults_hold() -> None:
    assert knobs_of(timetable(FALL + LECTURES)) == WarmupKnobs()


def test_the_section_is_read() -> None:
    found = knobs_of(timetable(FALL + LECTURES + (
        "warmup:\n  mode: node\n  max: 400\n  users_per_node: 40\n  baseline: 10\n"
        "  lead_margin: 2m\n  lead_quantile: 0.95\n  lead_min_samples: 8\n"
        "  history_min: 4\n  node: {cpu: 20, memory: 48Gi}\n")))
    assert found == WarmupKnobs("node", 400, 40, ("20", "48Gi"), 10, timedelta(minutes=2),
                                0.95, 8, 4)


def test_every_problem_is_reported_with_its_line() -> None:
    text = FALL + LECTURES + ("warmup:\n  mode: pods\n  max: 0\n  lead_quantile: 0.2\n"
                              "  lead_margin: soon\n  users_per_nod: 40\n")
    first = len((FALL + LECTURES).splitlines()) + 1  # the `warmup:` line
    with pytest.raises(TimetableError) as err:
        timetable(text)
    found = [(p.line, p.path) for p in err.value.problems]
    assert found == [(first + 1, "warmup.mode"), (first + 2, "warmup.max"),
                     (first + 3, "warmup.lead_quantile"), (first + 4, "warmup.lead_margin"),
                     (first + 5, "warmup.users_per_nod")]
    text = str(err.value)
    assert "'pods' is not allowed, expected one of user, node" in text
    assert "did you mean 'users_per_node'?" in text
    assert "test.yaml:" in text


def test_a_baseline_above_the_maximum_is_refused() -> None:
    with pytest.raises(TimetableError, match=r"above warmup\.max 10"):
        timetable(FALL + LECTURES + "warmup:\n  max: 10\n  baseline: 20\n")


def test_exams_expect_everybody_by_default() -> None:
    """An exam without its own attendance expects the whole audience, not knobs.attendance."""
    from shared.timetable import sessions

    text = FALL + LECTURES + ("one_off:\n  - {name: midterm, kind: exam, date: 2026-10-21, "
                              "start: '19:00', end: '21:00'}\n")
    found = {s.meeting: s.expected for s in sessions(timetable(text))}
    assert found["midterm"] == 200 and found["lecture"] == 180
