"""The node autoscaler on the emulated clock: scale-up at once but nodes only after provisioning
and NotReady time, the expendable-priority cutoff, pool limits, scale-down of empty nodes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes
from kubernetes import client

from tests.kubeemu.controllers import NodeAutoscaler
from tests.wait import until

from .conftest import Cluster
from .objects import pod

ROOT = Path(__file__).resolve().parents[2]
TOLERATE_USER = [{"key": "hub.jupyter.org/dedicated", "operator": "Equal", "value": "user",
                  "effect": "NoSchedule"}]


def _autoscale(cluster: Cluster, **options: Any) -> NodeAutoscaler:
    settings = {"provision_seconds": 120.0, "not_ready_seconds": 30.0,
                "scale_down_seconds": 600.0, "pools": [{"name": "user", "cpu": "4",
                                                         "max_size": 5}], **options}
    (made,) = cluster.emu.enable_controllers("autoscaler", autoscaler=settings)
    assert isinstance(made, NodeAutoscaler)
    return made


def _student(name: str, cpu: str = "1500m", priority_class: str = "",
             tolerate: bool = True) -> dict[str, Any]:
    body = pod(name, labels={"component": "singleuser-server"}, image="jupyter/scipy:2026")
    body["spec"]["containers"][0]["resources"] = {"requests": {"cpu": cpu}}
    if tolerate:
        body["spec"]["tolerations"] = TOLERATE_USER
    if priority_class:
        body["spec"]["priorityClassName"] = priority_class
    return body


def _events(cluster: Cluster, name: str, reason: str, namespace: str = "") -> list[Any]:
    items = cluster.core.list_namespaced_event(namespace or cluster.namespace,
                                               field_selector=f"involvedObject.name={name}").items
    return [e for e in items if e.reason == reason]


def _unschedulable(cluster: Cluster, name: str) -> None:
    def marked() -> bool:
        got = cluster.core.read_namespaced_pod(name, cluster.namespace)
        return any(c.type == "PodScheduled" and c.reason == "Unschedulable"
                   for c in got.status.conditions)
    until(marked, what=f"{name} marked unschedulable")


def _nodes(cluster: Cluster) -> list[Any]:
    return list(cluster.core.list_node().items)


def test_scale_up_is_announced_at_once_and_the_node_comes_after_provisioning(
        cluster: Cluster) -> None:
    cluster.kubelet.pull_seconds = 45  # the first pull of the image on each new node
    ns = cluster.namespace
    for name in ("s1", "s2", "s3"):
        cluster.core.create_namespaced_pod(ns, _student(name))
        _unschedulable(cluster, name)
    # Switched on now, it finds the three waiting in one pass (a pod that fits on a node
    # already coming for another pod gets no TriggeredScaleUp of its own, as in CA).
    scaler = _autoscale(cluster)
    ups = until(lambda: all(_events(cluster, n, "TriggeredScaleUp")
                                 for n in ("s1", "s2", "s3")), what="TriggeredScaleUp on all")
    assert ups
    (event,) = _events(cluster, "s3", "TriggeredScaleUp")
    assert event.message == "pod triggered scale-up: [{user 0->2 (max: 5)}]"
    assert event.source.component == "cluster-autoscaler" and event.type == "Normal"
    assert _nodes(cluster) == []  # the machines are still being made
    cluster.advance(119)
    assert _nodes(cluster) == []
    cluster.advance(1)
    nodes = until(lambda: len(_nodes(cluster)) == 2 and _nodes(cluster),
                       what="two nodes registered")
    for node in nodes:
        assert node.metadata.labels["hub.jupyter.org/node-purpose"] == "user"
        assert [(t.key, t.value, t.effect) for t in node.spec.taints] == [
            ("hub.jupyter.org/dedicated", "user", "NoSchedule"),
            ("node.kubernetes.io/not-ready", None, "NoSchedule")]
        assert [(c.type, c.status) for c in node.status.conditions] == [("Ready", "False")]
        assert node.status.addresses[0].address.startswith("127.")
    assert not any(p.spec.node_name for p in cluster.pods())
    cluster.advance(30)
    until(lambda: all(c.status == "True" for n in _nodes(cluster)
                           for c in n.status.conditions), what="nodes Ready")
    assert all(len(n.spec.taints) == 1 for n in _nodes(cluster))
    cluster.taken(selector="component=singleuser-server", count=3)
    cluster.advance(44)
    assert not any(p.status.phase == "Running" for p in cluster.pods())
    cluster.advance(1)
    until(lambda: all(p.status.phase == "Running" for p in cluster.pods()),
               what="students running after the first pull")
    # A later pod on a node that has the image starts without pulling.
    cluster.core.create_namespaced_pod(ns, _student("s4", cpu="500m"))
    until(lambda: cluster.core.read_namespaced_pod("s4", ns).status.phase == "Running",
               what="s4 running from the image cache")
    assert len(scaler.scale_ups) == 1 and len(_nodes(cluster)) == 2
    assert not _events(cluster, "s4", "TriggeredScaleUp")
    scaled = _events(cluster, "cluster-autoscaler-status", "ScaledUpGroup", "kube-system")
    assert scaled[0].message == "Scale-up: setting group user size to 2 instead of 0 (max: 5)"


def test_pods_below_the_expendable_cutoff_trigger_nothing_placeholders_at_it_do(
        cluster: Cluster) -> None:
    scheduling = client.SchedulingV1Api(cluster.api)
    for name, value in (("below", -11), ("placeholder", -10)):
        scheduling.create_priority_class({"metadata": {"name": name}, "value": value})
    _autoscale(cluster)
    ns = cluster.namespace
    cluster.core.create_namespaced_pod(ns, _student("spare", cpu="3", priority_class="below"))
    _unschedulable(cluster, "spare")
    cluster.core.create_namespaced_pod(ns, _student("held", cpu="3",
                                                    priority_class="placeholder"))
    (up,) = until(lambda: _events(cluster, "held", "TriggeredScaleUp"))
    assert up.message == "pod triggered scale-up: [{user 0->1 (max: 5)}]"  # one 4-cpu node
    assert not [e for e in cluster.core.list_namespaced_event(
        ns, field_selector="involvedObject.name=spare").items
        if e.source.component == "cluster-autoscaler"]


def test_a_full_pool_or_a_pod_no_pool_can_take_is_told_why(cluster: Cluster) -> None:
    _autoscale(cluster, pools=[{"name": "user", "cpu": "4", "max_size": 1}])
    ns = cluster.namespace
    cluster.core.create_namespaced_pod(ns, _student("first", cpu="3"))
    until(lambda: _events(cluster, "first", "TriggeredScaleUp"))
    cluster.core.create_namespaced_pod(ns, _student("second", cpu="3"))
    cluster.core.create_namespaced_pod(ns, _student("giant", cpu="8"))
    cluster.core.create_namespaced_pod(ns, _student("core", cpu="1", tolerate=False))
    said = {name: until(lambda name=name: _events(cluster, name, "NotTriggerScaleUp"),
                             what=f"NotTriggerScaleUp on {name}")[0].message
            for name in ("second", "giant", "core")}
    assert said == {
        "second": "pod didn't trigger scale-up: 1 max node group size reached",
        "giant": "pod didn't trigger scale-up: 1 Insufficient cpu",
        "core": "pod didn't trigger scale-up: 1 node(s) had untolerated taint "
                "{hub.jupyter.org/dedicated: user}"}


def test_an_empty_node_is_removed_after_the_scale_down_time_but_not_below_min(
        cluster: Cluster) -> None:
    client.SchedulingV1Api(cluster.api).create_priority_class(
        {"metadata": {"name": "below"}, "value": -11})
    scaler = _autoscale(cluster, provision_seconds=0.0, not_ready_seconds=0.0,
                        pools=[{"name": "user", "cpu": "4", "max_size": 5},
                               {"name": "kept", "cpu": "2", "min_size": 1, "max_size": 1,
                                "labels": {"pool": "kept"}, "taints": []}])
    ns = cluster.namespace
    kept = until(lambda: [n.metadata.name for n in _nodes(cluster)], what="min-size node")
    cluster.core.create_namespaced_pod(ns, _student("alice", cpu="3"))
    until(lambda: cluster.core.read_namespaced_pod("alice", ns).status.phase == "Running",
               what="alice running on a new user node")
    user_node = cluster.core.read_namespaced_pod("alice", ns).spec.node_name
    spare = _student("spare", cpu="500m", priority_class="below")
    spare["spec"]["nodeSelector"] = {"kubeemu.io/node-pool": "user"}
    cluster.core.create_namespaced_pod(ns, spare)  # an expendable pod keeps no node
    until(lambda: cluster.core.read_namespaced_pod("spare", ns).spec.node_name)
    cluster.core.delete_namespaced_pod("alice", ns)
    cluster.advance(30)  # alice's grace period
    until(lambda: [p.metadata.name for p in cluster.pods()] == ["spare"], what="alice gone")
    # The autoscaler counts the node empty from its first pass after alice went: wait for that
    # pass before moving the clock, or the 600 s would start after the moves (a race seen
    # under load).
    until(lambda: user_node in scaler.unneeded, what="the user node counted empty")
    cluster.advance(599)
    assert user_node in [n.metadata.name for n in _nodes(cluster)]
    cluster.advance(1)
    until(lambda: [n.metadata.name for n in _nodes(cluster)] == kept,
               what="the empty user node removed, the min-size node kept")
    (down,) = _events(cluster, user_node, "ScaleDown", "default")
    assert down.message == "marked the node as toBeDeleted/unschedulable"
    (evicted,) = _events(cluster, "spare", "ScaleDown")
    assert evicted.message == "deleting pod for node scale down"
    empty = _events(cluster, "cluster-autoscaler-status", "ScaleDownEmpty", "kube-system")
    assert empty[0].message == f'Scale-down: removing empty node "{user_node}"'
    cluster.advance(100_000)
    assert [n.metadata.name for n in _nodes(cluster)] == kept


def test_standalone_autoscaler_from_the_command_line(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "emu.kubeconfig"
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.kubeemu", "--port", "0", "--kubeconfig-out",
         str(kubeconfig), "--controllers", "scheduler,kubelet,autoscaler", "--pool-cpu", "2",
         "--pool-max", "3", "--provision-seconds", "0", "--not-ready-seconds", "0",
         "--pull-seconds", "0", "--start-seconds", "0"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        assert "serving on" in proc.stdout.readline()
        core = client.CoreV1Api(kubernetes.config.new_client_from_config(str(kubeconfig)))
        core.create_namespaced_pod("default", _student("bob", cpu="1500m"))
        until(lambda: core.read_namespaced_pod("bob", "default").status.phase == "Running",
                   timeout=30, what="bob running on an autoscaled node")
        (node,) = core.list_node().items
        assert node.status.allocatable["cpu"] == "2"
        assert core.read_namespaced_config_map("cluster-autoscaler-status", "kube-system")
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0
