"""The `teardown:` section of schedules.yaml: protected users and link lifetime, validated with
the file, line and what was expected."""

from __future__ import annotations

from pathlib import Path

import pytest

import shared.stack  # registers `hub:`, which the bundled schedule has
import shared.teardown  # noqa: F401  (registers `teardown:`)
from shared.teardown.protection import Protection, protection_of
from shared.timetable import TimetableError, loads

REPO = Path(__file__).resolve().parents[2]


def schedule(extra: str) -> str:
    return (REPO / "schedules.yaml").read_text() + "\n" + extra


def test_protected_users_come_from_the_section_and_the_hub_admins() -> None:
    loaded = loads(schedule("teardown:\n  protected: [ta-jones, 'ta2@uni.edu']\n"), "s.yaml")
    found = protection_of(loaded.extensions)
    assert found == Protection(frozenset({"ta-jones", "ta2@uni.edu"}), 7)
    assert "teardown.protected" in found.why("ta-jones")
    assert "hub admin" in found.why("prof-smith", admins=["prof-smith"])
    assert found.why("alice", admins=["prof-smith"]) == ""


def test_bad_entries_are_reported_with_file_and_line() -> None:
    text = schedule("teardown:\n  protected: [ta-jones, ta-jones, 3]\n  link_days: 30\n")
    with pytest.raises(TimetableError) as err:
        loads(text, "s.yaml")
    lines = text.count("\n")
    problems = [str(p) for p in err.value.problems]
    assert any(p.startswith(f"s.yaml:{lines - 1}:") and "listed twice" in p for p in problems)
    assert any("protected[2]" in p and "expected a hub username" in p for p in problems)
    assert any(p.startswith(f"s.yaml:{lines}:") and "at most 7 days" in p for p in problems)
