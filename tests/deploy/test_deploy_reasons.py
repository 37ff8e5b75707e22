"""Deploys that say why: on a cluster without room, `classops deploy` names each blocking pod
and the scheduler's reason, exits 3 on `--timeout`, says the same in `-o json`, and `classops
status` shows it; and what the reasons are made of, from pods as a kubelet leaves them."""

from __future__ import annotations

import argparse
import io
import json
from contextlib import redirect_stderr, redirect_stdout
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from shared.cli import stack_group
from shared.ports.kube import Kube
from shared.stack import status
from shared.stack.blockers import explain
from shared.stack.config import HubSettings
from shared.stack.manifests import render
from tests.emulator.conftest import Cluster
from tests.wait import until

from .conftest import SCHEDULE

NO_ROOM = "0/1 nodes are available: 1 Insufficient cpu."


@pytest.fixture
def no_room(cluster: Cluster, tmp_path: Path) -> tuple[Cluster, argparse.Namespace]:
    cluster.add_node("tiny", cpu="100m", memory="256Mi")  # nothing of the stack fits
    settings = HubSettings(course="cs101", namespace=cluster.namespace,
                           release=cluster.namespace)
    kube = Kube(cluster.api)
    for manifest in render(settings, SCHEDULE, ("cluster",)):
        kube.apply(manifest, "classops")
    kube.close()
    schedule = tmp_path / "schedules.yaml"
    schedule.write_text(
        "course: cs101\n"
        "term: {name: t, start: 2026-08-31, end: 2026-12-18, timezone: UTC}\n"
        "class: {size: 10}\n"
        f"hub: {{namespace: {cluster.namespace}, release: {cluster.namespace}}}\n")
    args = argparse.Namespace(schedule=str(schedule), parts="hub", prune=False, dry_run=False,
                              timeout=1.0, no_wait=False, output="table",
                              namespace=cluster.namespace, api_client=cluster.api,
                              kubeconfig=None)
    return cluster, args


def deploy(args: argparse.Namespace, **changes: Any) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = stack_group.cmd_deploy(argparse.Namespace(**{**vars(args), **changes}))
    return code, out.getvalue(), err.getvalue()


def test_a_deploy_without_room_says_unschedulable_and_exits_on_timeout(
        no_room: tuple[Cluster, argparse.Namespace]) -> None:
    cluster, args = no_room
    code, _, _ = deploy(args, no_wait=True)  # applied; nothing waited for
    assert code == 0

    def hub_unschedulable() -> bool:
        pods = cluster.pods("component=hub")
        return bool(pods) and any(c.type == "PodScheduled" and c.reason == "Unschedulable"
                                  for c in pods[0].status.conditions or [])

    until(hub_unschedulable, what="the scheduler to give up on the hub's pod")
    code, out, err = deploy(args)  # a short --timeout: the outcome, not a duration
    assert code == stack_group.NOT_READY == 3
    hub_pod = cluster.pods("component=hub")[0].metadata.name
    expected = f"deployment/hub: pod/{hub_pod}: Unschedulable: {NO_ROOM}"
    assert expected in out  # the progress, as it waited
    assert "classops: not ready after 1 s: deployment/hub" in err and expected in err

    code, out, _ = deploy(args, output="json")
    assert code == 3
    found = json.loads(out)  # stdout is one JSON document; progress went to stderr
    assert found["timed_out"] is True and "deployment/hub" in found["not_ready"]
    hub = [b for b in found["blockers"]["deployment/hub"] if b["pod"] == hub_pod]
    assert (hub[0]["pod"], hub[0]["reason"]) == (hub_pod, "Unschedulable")
    assert hub[0]["message"].startswith(NO_ROOM)  # the scheduler's words, as it wrote them

    kube = Kube(cluster.api)
    try:
        seen = status.read(kube, cluster.namespace, cluster.emu.clock.now()
                           + timedelta(minutes=1))
    finally:
        kube.close()
    reasons = dict(seen.blockers)
    assert any(b.pod == hub_pod and b.reason == "Unschedulable" and b.message.startswith(NO_ROOM)
               for b in reasons["deployment/hub"])
    assert expected in status.table(seen)
    assert status.as_dict(seen)["blockers"]["deployment/hub"][0]["reason"] == "Unschedulable"


WORKLOAD = {"kind": "Deployment", "metadata": {"name": "hub"},
            "spec": {"selector": {"matchLabels": {"component": "hub"}}}}


def pod(name: str, **status: Any) -> dict[str, Any]:
    return {"metadata": {"name": name, "labels": {"component": "hub"}},
            "spec": {"volumes": [{"name": "db", "persistentVolumeClaim": {
                "claimName": "hub-db-dir"}}]}, "status": status}


def test_the_reasons_come_from_containers_claims_and_events() -> None:
    pulling = pod("hub-a", containerStatuses=[{"name": "hub", "state": {"waiting": {
        "reason": "ImagePullBackOff", "message": "Back-off pulling image \"hub:4.4.9\""}}}])
    crashing = pod("hub-b", conditions=[{"type": "Ready", "status": "False"}],
                   containerStatuses=[{"name": "hub", "state": {"waiting": {
                       "reason": "CrashLoopBackOff", "message": "back-off 40s"}},
                       "lastState": {"terminated": {"exitCode": 1, "reason": "Error"}}}])
    ready = pod("hub-c", conditions=[{"type": "Ready", "status": "True"}])
    claim = {"metadata": {"name": "hub-db-dir"}, "status": {"phase": "Pending"}}
    events = [{"type": "Warning", "reason": "FailedMount", "involvedObject": {
                   "kind": "Pod", "name": "hub-a"},
               "message": "MountVolume.SetUp failed for volume \"db\"",
               "lastTimestamp": "2026-09-01T10:00:00Z"},
              {"type": "Normal", "reason": "Pulling", "involvedObject": {
                  "kind": "Pod", "name": "hub-a"}, "message": "Pulling image"}]
    found = explain(WORKLOAD, [pulling, crashing, ready], [claim], events)
    assert [b.line() for b in found] == [
        "pod/hub-a: ImagePullBackOff: container hub: Back-off pulling image \"hub:4.4.9\"",
        "pod/hub-a: Unbound: PersistentVolumeClaim hub-db-dir is Pending",
        "pod/hub-a: FailedMount: MountVolume.SetUp failed for volume \"db\"",
        "pod/hub-b: CrashLoopBackOff: container hub: last exit code 1 (Error); back-off 40s",
        "pod/hub-b: Unbound: PersistentVolumeClaim hub-db-dir is Pending"]
    refused = {"type": "Warning", "reason": "FailedCreate", "involvedObject": {
        "kind": "Deployment", "name": "hub"}, "message": "exceeded quota: pods"}
    assert [b.line() for b in explain(WORKLOAD, [], [], [refused])] == [
        "workload: FailedCreate: exceeded quota: pods"]
    assert [b.line() for b in explain(WORKLOAD, [], [], [])] == [
        "workload: NoPods: no pod exists yet"]
