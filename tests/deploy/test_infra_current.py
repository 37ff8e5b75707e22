"""infra/<part>/rendered.yaml is what `classops render --out-dir infra` gives for the bundled
schedules.yaml: the manifests an operator reads and applies are the ones the code renders."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.cli.stack_group import RENDERED, rendered_file
from shared.stack.labels import PARTS
from shared.stack.manifests import settings_of
from shared.timetable import load

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("part", PARTS)
def test_rendered_manifests_in_infra_are_current(part: str) -> None:
    schedule = ROOT / "schedules.yaml"
    text = schedule.read_text(encoding="utf-8")
    expected = rendered_file(settings_of(load(str(schedule))), text, part, str(schedule))
    kept = (ROOT / "infra" / part / RENDERED).read_text(encoding="utf-8")
    assert kept == expected, (f"infra/{part}/{RENDERED} is stale: run "
                              "`classops render --out-dir infra` and commit the result")
