"""`classops plan` with a cluster: the live calendar overlay kept by `serve` applies, and the
handlers read the cluster (the emulator) instead of assuming an empty one; the header says which.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shared.actions.model import Action, ScaleWorkload
from shared.cli.main import main
from shared.events import WARMUP, ClassEvent, MeetingData
from shared.handlers.context import Context
from shared.handlers.registry import Registry, on
from shared.ports.kube import Kube as KubePort
from shared.runtime.schedule.overlay import manifest as overlay_manifest
from tests.conftest import Kube

SCHEDULE = str(Path(__file__).resolve().parents[2] / "schedules.yaml")
DAY = "2026-09-02"  # a Wednesday: the lecture meets 10:10-11:00, warm-up at 09:40
WARMUP_ID = "warmup/lecture@2026-09-02T09:40:00-04:00"


def sizing() -> Registry:
    """A warm-up handler that counts the servers running, as a real one sizes from them."""
    registry = Registry()

    @on(WARMUP, id="test.size", registry=registry)
    def size(event: ClassEvent[MeetingData], ctx: Context) -> list[Action]:
        running = sum(1 for _ in ctx.kube.list("v1", "Pod", ctx.settings.namespace,
                                               label_selector="component=singleuser-server"))
        return [ScaleWorkload(ctx.settings.namespace, "user-placeholder",
                              max(0, event.data.expected - running))]

    return registry


def plan(capsys: pytest.CaptureFixture[str], *options: str,
         registry: Registry | None = None) -> tuple[list[dict], str]:
    argv = ["plan", "--schedule", SCHEDULE, "--from", DAY, "--to", DAY, "-o", "json", *options]
    assert main(argv, registry=registry) == 0
    captured = capsys.readouterr()
    return json.loads(captured.out), captured.err


@pytest.fixture(autouse=True)
def no_cluster_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("KUBECONFIG", "CLASSOPS_KUBECONFIG", "KUBERNETES_SERVICE_HOST"):
        monkeypatch.delenv(name, raising=False)


def test_a_cancelled_lecture_is_gone_from_the_plan_with_a_cluster(
        kube: Kube, capsys: pytest.CaptureFixture[str]) -> None:
    port = KubePort(kube.api)
    port.apply(overlay_manifest(kube.namespace, [
        {"change": "cancelled", "meeting": "lecture", "date": DAY, "reason": "storm",
         "event": "calendar-1"}]), field_manager="classops-calendar")
    port.close()

    assumed, note = plan(capsys)
    assert WARMUP_ID in {e["id"] for e in assumed}
    assert note.startswith("note: no cluster: assuming 240 students, nobody running")

    found, note = plan(capsys, "--kubeconfig", str(kube.kubeconfig))
    assert WARMUP_ID not in {e["id"] for e in found}
    assert not [e for e in found if e["data"].get("meeting") == "lecture"]
    assert note.startswith(f"note: cluster: kubeemu/{kube.namespace}; overlay: 1 changes;")

    ignored, note = plan(capsys, "--kubeconfig", str(kube.kubeconfig), "--no-cluster")
    assert [e["id"] for e in ignored] == [e["id"] for e in assumed]
    assert note.startswith("note: no cluster: assuming")


def test_handlers_read_the_cluster_and_the_table_header_says_so(
        kube: Kube, capsys: pytest.CaptureFixture[str]) -> None:
    for i in range(3):
        kube.core.create_namespaced_pod(kube.namespace, {
            "metadata": {"name": f"jupyter-student-{i}",
                         "labels": {"component": "singleuser-server"}},
            "spec": {"containers": [{"name": "notebook", "image": "jupyter/base"}]}})

    def replicas(entries: list[dict]) -> int:
        warmup = next(e for e in entries if e["id"] == WARMUP_ID)
        return int(warmup["actions"][0]["replicas"])

    assumed, _ = plan(capsys, registry=sizing())
    live, _ = plan(capsys, "--kubeconfig", str(kube.kubeconfig), registry=sizing())
    assert (replicas(assumed), replicas(live)) == (216, 213)  # 240 x 0.9, minus 3 running

    assert main(["plan", "--schedule", SCHEDULE, "--from", DAY, "--to", DAY,
                 "--kubeconfig", str(kube.kubeconfig)], registry=sizing()) == 0
    header = capsys.readouterr().out.splitlines()[1]
    assert header == (f"# cluster: kubeemu/{kube.namespace}; overlay: 0 changes; "
                      "1 handler registered")
    assert main(["plan", "--schedule", SCHEDULE, "--from", DAY, "--to", DAY]) == 0
    assert capsys.readouterr().out.splitlines()[1].startswith("# no cluster: assuming 240")
