"""The dry run: what would be done, as a table or JSON; and `classops plan` filled by handlers."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from shared.actions.executor import DryRunExecutor
from shared.actions.model import (
    ApplyManifest,
    CreateVolumeSnapshot,
    DeletePVC,
    EmitEvent,
    RunArchiveJob,
    ScaleWorkload,
    StopServer,
    snapshot_name,
)
from shared.cli.main import main
from shared.handlers.registry import PermanentError, Registry, on

from .objects import archive_job, configmap

REPO = Path(__file__).resolve().parents[2]
SCHEDULE = str(REPO / "schedules.yaml")
AT = datetime(2026, 10, 12, 6, 0, tzinfo=UTC)
SAMPLE = [
    ApplyManifest(configmap("hub-config", "cs101")),
    ScaleWorkload("cs101", "user-placeholder", 216),
    CreateVolumeSnapshot("cs101", snapshot_name("claim-alice", "nightly", AT), "claim-alice"),
    RunArchiveJob(archive_job("cs101", "archive-alice"), "alice",
                  "claim-alice-nightly-20261012t0600", "cs101/fall-2026/alice/1.tar.gz"),
    StopServer("alice"),
    DeletePVC("cs101", "claim-bob"),
    EmitEvent("edu.classops.backup.copy", "copy@1", "cs101/fall-2026"),
]


EXPECTED_TABLE = """\
EVENT                             VERB      TARGET                                                  DETAIL
backup@2026-10-12T02:00:00-04:00  apply     configmap cs101/hub-config                              as classops
backup@2026-10-12T02:00:00-04:00  scale     statefulset cs101/user-placeholder                      replicas=216
backup@2026-10-12T02:00:00-04:00  snapshot  volumesnapshot cs101/claim-alice-nightly-20261012t0600  of pvc claim-alice
backup@2026-10-12T02:00:00-04:00  run       job cs101/archive-alice                                 archive alice from claim-alice-nightly-20261012t0600 to cs101/fall-2026/alice/1.tar.gz
backup@2026-10-12T02:00:00-04:00  ! stop    server alice
backup@2026-10-12T02:00:00-04:00  ! delete  persistentvolumeclaim cs101/claim-bob
backup@2026-10-12T02:00:00-04:00  emit      event backup.copy                                       cs101/fall-2026 (copy@1)
"""  # noqa: E501


def test_the_table_lists_each_action_and_marks_destructive_ones() -> None:
    out = io.StringIO()
    results = DryRunExecutor(out).execute(SAMPLE, "backup@2026-10-12T02:00:00-04:00")
    assert {r.outcome for r in results} == {"planned"}
    assert out.getvalue() == EXPECTED_TABLE


def test_json_is_one_object_per_action() -> None:
    out = io.StringIO()
    DryRunExecutor(out, "json").execute(SAMPLE, "e@1")
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [line["action"] for line in lines] == [type(a).__name__ for a in SAMPLE]
    assert lines[1] == {"event_id": "e@1", "action": "ScaleWorkload", "verb": "scale",
                        "target": "statefulset cs101/user-placeholder", "destructive": False,
                        "namespace": "cs101", "name": "user-placeholder", "replicas": 216,
                        "kind": "StatefulSet", "api_version": "apps/v1",
                        "field_manager": "classops-warmup"}
    assert [line["destructive"] for line in lines] == [False] * 4 + [True, True, False]


def _registry() -> Registry:
    registry = Registry()

    @on("edu.classops.meeting.warmup", registry=registry)
    def warm(event, ctx):  # type: ignore[no-untyped-def]
        running = sum(1 for _ in ctx.hub.users())
        return [ScaleWorkload(ctx.settings.namespace, "user-placeholder",
                              event.data.expected - running)]

    @on("edu.classops.meeting.cooldown", registry=registry)
    def cool(event, ctx):  # type: ignore[no-untyped-def]
        if event.data.kind == "exam":
            raise PermanentError("exams cool down by hand")
        return [ScaleWorkload(ctx.settings.namespace, "user-placeholder", 0)]

    return registry


def test_plan_json_lists_the_actions_of_registered_functions(
        capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["-o", "json", "--namespace", "cs101", "plan", "--schedule", SCHEDULE,
                 "--from", "2026-10-21", "--to", "2026-10-21"], registry=_registry())
    captured = capsys.readouterr()
    assert code == 0
    plan = json.loads(captured.out)
    midterm = [e for e in plan if e["data"].get("meeting") == "midterm"]
    assert [[(a["action"], a["replicas"], a["handler"]) for a in e["actions"]]
            for e in midterm] == [
        [("ScaleWorkload", 240, "tests.core.test_dry_run._registry.warm")], []]
    assert midterm[0]["actions"][0]["namespace"] == "cs101"
    assert "2 handlers registered" in captured.err
    assert ("classops: warning: tests.core.test_dry_run._registry.cool failed for "
            "cooldown/midterm@2026-10-21T21:15:00-04:00: exams cool down by hand") in captured.err
    others = [e for e in plan if e["type"] not in ("edu.classops.meeting.warmup",
                                                   "edu.classops.meeting.cooldown")]
    assert others and all(e["actions"] == [] for e in others)


def test_plan_table_shows_actions_under_their_firing(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--schedule", SCHEDULE, "--from", "2026-11-02", "--to", "2026-11-02",
                 "--namespace", "cs101"], registry=_registry()) == 0
    lines = capsys.readouterr().out.splitlines()
    warm = next(i for i, line in enumerate(lines) if "meeting.warmup" in line)
    assert lines[warm + 1] == "    -> scale statefulset cs101/user-placeholder: replicas=216"
    assert lines[warm + 2].startswith("Mon 2026-11-02 11:15 EST  meeting.cooldown")
    assert lines[warm + 3] == "    -> scale statefulset cs101/user-placeholder: replicas=0"


def test_plan_with_a_missing_functions_package_is_one_line(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--schedule", SCHEDULE, "--functions", "no_such_functions"]) == 2
    err = capsys.readouterr().err
    assert err == ("classops: error: cannot load the functions package 'no_such_functions': "
                   "No module named 'no_such_functions'\n")
