"""Schedulers and pre-emption, seen through the official client: where pods land and why not."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client import ApiException

from tests.wait import until

from .conftest import Cluster

USER_SCHEDULER = "jhub-user-scheduler"


def _pod(name: str, cpu: str = "100m", scheduler: str = "", priority_class: str = "",
         labels: dict[str, str] | None = None, **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "metadata": {"name": name, "labels": labels or {}},
        "spec": {"containers": [{"name": "main", "image": "pause:3.9",
                                 "resources": {"requests": {"cpu": cpu, "memory": "64Mi"}}}],
                 **spec}}
    if scheduler:
        body["spec"]["schedulerName"] = scheduler
    if priority_class:
        body["spec"]["priorityClassName"] = priority_class
    return body


def _node_of(cluster: Cluster, name: str) -> str:
    pod = until(lambda: (p := cluster.core.read_namespaced_pod(name, cluster.namespace))
                     .spec.node_name and p, what=f"{name} bound")
    return str(pod.spec.node_name)


def _scheduled_condition(cluster: Cluster, name: str) -> Any:
    def unschedulable() -> Any:
        pod = cluster.core.read_namespaced_pod(name, cluster.namespace)
        return next((c for c in pod.status.conditions or [] if c.type == "PodScheduled"
                     and c.status == "False"), None)
    return until(unschedulable, what=f"{name} unschedulable")


def _priority_classes(cluster: Cluster) -> None:
    api = client.SchedulingV1Api(cluster.api)
    api.create_priority_class({"metadata": {"name": "jhub-user-placeholder-priority"},
                               "value": -10, "globalDefault": False})
    api.create_priority_class({"metadata": {"name": "jhub-default-priority"}, "value": 0})


def test_user_scheduler_packs_and_default_scheduler_spreads(cluster: Cluster) -> None:
    for name in ("n1", "n2", "n3"):
        cluster.add_node(name, cpu="2")
    packed = [_node_of(cluster, cluster.core.create_namespaced_pod(
        cluster.namespace, _pod(f"user-{i}", cpu="300m", scheduler=USER_SCHEDULER)
    ).metadata.name) for i in range(6)]
    assert packed == ["n1"] * 6  # most allocated first: one node fills before the next
    spread = [_node_of(cluster, cluster.core.create_namespaced_pod(
        cluster.namespace, _pod(f"web-{i}", cpu="300m")).metadata.name) for i in range(4)]
    assert sorted(spread) == ["n2", "n2", "n3", "n3"]  # least allocated: away from n1
    packed.append(_node_of(cluster, cluster.core.create_namespaced_pod(
        cluster.namespace, _pod("user-6", cpu="300m", scheduler=USER_SCHEDULER)).metadata.name))
    assert packed[-1] == "n2"  # n1 is full (1800m of 2); n2 and n3 tie, the first name wins


def test_filters_and_unschedulable_condition(cluster: Cluster) -> None:
    cluster.add_node("core", labels={"hub.jupyter.org/node-purpose": "core"})
    cluster.add_node("user", labels={"hub.jupyter.org/node-purpose": "user"},
                     taints=[{"key": "hub.jupyter.org/dedicated", "value": "user",
                              "effect": "NoSchedule"}])
    ns = cluster.namespace
    cluster.core.create_namespaced_pod(ns, _pod("plain"))
    assert _node_of(cluster, "plain") == "core"  # the taint keeps it off "user"
    toleration = [{"key": "hub.jupyter.org/dedicated", "operator": "Equal", "value": "user",
                   "effect": "NoSchedule"}]
    cluster.core.create_namespaced_pod(ns, _pod(
        "student", tolerations=toleration,
        nodeSelector={"hub.jupyter.org/node-purpose": "user"}))
    assert _node_of(cluster, "student") == "user"
    anti = {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [{
        "topologyKey": "kubernetes.io/hostname",
        "labelSelector": {"matchLabels": {"app": "hub"}}}]}}
    for i in range(3):
        cluster.core.create_namespaced_pod(ns, _pod(f"hub-{i}", labels={"app": "hub"},
                                                    tolerations=toleration, affinity=anti))
    assert sorted(_node_of(cluster, f"hub-{i}") for i in range(2)) == ["core", "user"]
    cond = _scheduled_condition(cluster, "hub-2")
    assert cond.reason == "Unschedulable"
    assert cond.message == ("0/2 nodes are available: "
                            "2 node(s) didn't match pod anti-affinity rules. preemption: 0/2 "
                            "nodes are available: 2 No preemption victims found for incoming pod.")
    cluster.core.create_namespaced_pod(ns, _pod("huge", cpu="64"))
    assert "Insufficient cpu" in _scheduled_condition(cluster, "huge").message
    cluster.core.create_namespaced_pod(ns, _pod("elsewhere", scheduler="other-scheduler"))
    # A pass that must not touch it: each pass reads every pod, so one that binds a pod
    # created after "elsewhere" has seen "elsewhere" too (an order, not a wall-clock wait).
    cluster.core.create_namespaced_pod(ns, _pod("after"))
    _node_of(cluster, "after")
    other = cluster.core.read_namespaced_pod("elsewhere", ns)
    assert other.spec.node_name is None and not other.status.conditions


def test_priority_admission(cluster: Cluster) -> None:
    _priority_classes(cluster)
    made = cluster.core.create_namespaced_pod(
        cluster.namespace, _pod("p", priority_class="jhub-user-placeholder-priority"))
    assert made.spec.priority == -10
    assert cluster.core.create_namespaced_pod(cluster.namespace, _pod("q")).spec.priority == 0
    with pytest.raises(ApiException) as err:
        cluster.core.create_namespaced_pod(cluster.namespace, _pod("r", priority_class="nope"))
    assert err.value.status == 403
    assert "no PriorityClass with name nope was found" in json.loads(err.value.body)["message"]
    client.SchedulingV1Api(cluster.api).create_priority_class(
        {"metadata": {"name": "everyone"}, "value": 5, "globalDefault": True})
    made = cluster.core.create_namespaced_pod(cluster.namespace, _pod("s"))
    assert (made.spec.priority, made.spec.priority_class_name) == (5, "everyone")


def test_placeholders_are_preempted_one_by_one_and_come_back_pending(cluster: Cluster) -> None:
    """100 placeholders fill ten nodes; 100 students pre-empt them; each evicted placeholder is
    recreated by its StatefulSet and waits Pending, Unschedulable (what an autoscaler sees)."""
    _priority_classes(cluster)
    for i in range(10):
        cluster.add_node(f"user-{i}", cpu="1", memory="4Gi", pods=20)
    template = _pod("x", scheduler=USER_SCHEDULER,
                    priority_class="jhub-user-placeholder-priority",
                    labels={"component": "user-placeholder"}, terminationGracePeriodSeconds=0)
    cluster.apps.create_namespaced_stateful_set(cluster.namespace, {
        "metadata": {"name": "user-placeholder"},
        "spec": {"replicas": 100, "podManagementPolicy": "Parallel",
                 "serviceName": "user-placeholder",
                 "selector": {"matchLabels": {"component": "user-placeholder"}},
                 "template": {"metadata": template["metadata"], "spec": template["spec"]}}})

    def placeholders_ready() -> bool:
        sts = cluster.apps.read_namespaced_stateful_set("user-placeholder", cluster.namespace)
        return sts.status.ready_replicas == 100
    until(placeholders_ready, what="100 placeholders ready")
    started = time.monotonic()
    for i in range(100):
        cluster.core.create_namespaced_pod(cluster.namespace, _pod(
            f"jupyter-{i}", scheduler=USER_SCHEDULER, priority_class="jhub-default-priority",
            labels={"component": "singleuser-server"}))
        _node_of(cluster, f"jupyter-{i}")
    elapsed = time.monotonic() - started

    def everyone_settled() -> bool:
        users = cluster.pods("component=singleuser-server")
        holders = cluster.pods("component=user-placeholder")
        return (sum(p.status.phase == "Running" for p in users) == 100 and len(holders) == 100
                and all(p.spec.node_name is None for p in holders))
    until(everyone_settled, what="students running, placeholders pending")
    for p in cluster.pods("component=singleuser-server"):
        assert p.status.nominated_node_name == p.spec.node_name  # each one pre-empted its way
    for p in cluster.pods("component=user-placeholder"):
        cond = next(c for c in p.status.conditions if c.type == "PodScheduled")
        assert (cond.status, cond.reason) == ("False", "Unschedulable")
        assert "Insufficient cpu" in cond.message
    sts = cluster.apps.read_namespaced_stateful_set("user-placeholder", cluster.namespace)
    assert (sts.status.replicas, sts.status.ready_replicas) == (100, None)
    print(f"100 pre-emptions in {elapsed:.1f} s wall")
