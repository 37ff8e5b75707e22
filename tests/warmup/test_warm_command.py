"""`classops warm`: an unplanned session's warm-up and cool-down go to the inbox, due at their
times, for the leader to run; `--dry-run` only prints the decision."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.cli.main import main
from shared.ports.kube import Kube
from shared.runtime.inbox.store import Inbox
from shared.stack.config import HubSettings
from shared.stack.user_pods import user_placeholder
from tests.conftest import Kube as KubeFixture

SCHEDULE = """\
course: cs101
term: {name: spring, start: 2030-02-04, end: 2030-05-10, timezone: America/New_York}
class: {size: 100}
meetings:
  - {name: lecture, kind: lecture, days: [mon], start: "10:10", end: "11:00"}
"""


def run(tmp_path: Path, kube: KubeFixture, *extra: str) -> int:
    port = Kube(kube.api)
    try:  # the hub stack's placeholders, as deployed
        port.apply(user_placeholder(HubSettings(course="cs101", namespace=kube.namespace)),
                   "classops")
    finally:
        port.close()
    schedule = tmp_path / "schedules.yaml"
    schedule.write_text(SCHEDULE)
    return main(["warm", "--schedule", str(schedule), "--meeting", "lecture",
                 "--at", "2030-03-06T14:10", "--kubeconfig", str(kube.kubeconfig),
                 "--namespace", kube.namespace, *extra])


def test_warm_queues_the_warm_up_and_the_cool_down_at_their_times(
        tmp_path: Path, kube: KubeFixture, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(tmp_path, kube) == 0
    out = capsys.readouterr().out
    assert "warmed to 90 for cs101 lecture 2030-03-06 14:10" in out  # a Wednesday: unplanned
    port = Kube(kube.api)
    try:
        found = {e.type.rsplit(".", 1)[-1]: e for e in Inbox(port, kube.namespace,
                                                             lambda: None).entries("pending")}
    finally:
        port.close()
    assert sorted(found) == ["cooldown", "warmup"]
    assert found["warmup"].not_before is not None
    assert found["warmup"].not_before.isoformat() == "2030-03-06T13:40:00-05:00"
    cool = found["cooldown"].not_before
    assert cool is not None and cool.isoformat() == "2030-03-06T15:15:00-05:00"
    assert run(tmp_path, kube) == 0  # again: the same ids, nothing twice
    assert capsys.readouterr().out.count("already queued") == 2


def test_dry_run_queues_nothing(tmp_path: Path, kube: KubeFixture,
                                capsys: pytest.CaptureFixture[str]) -> None:
    assert run(tmp_path, kube, "--dry-run") == 0
    assert "dry run: nothing queued" in capsys.readouterr().out
    port = Kube(kube.api)
    try:
        assert Inbox(port, kube.namespace, lambda: None).entries() == []
    finally:
        port.close()


def test_an_unknown_meeting_is_one_line_and_exit_2(
        tmp_path: Path, kube: KubeFixture, capsys: pytest.CaptureFixture[str]) -> None:
    schedule = tmp_path / "schedules.yaml"
    schedule.write_text(SCHEDULE)
    assert main(["warm", "--schedule", str(schedule), "--meeting", "lectur", "--dry-run"]) == 2
    assert capsys.readouterr().err.strip() == (
        "classops: error: --meeting 'lectur' is not a meeting of the schedule, expected one "
        "of lecture")
