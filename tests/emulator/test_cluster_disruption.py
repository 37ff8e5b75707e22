"""Disruptions through the official client: pre-emption's DisruptionTarget condition, the Eviction
API against PodDisruptionBudgets, and NoExecute taints evicting pods on the emulated clock."""

from __future__ import annotations

from typing import Any

from kubernetes import client

from .conftest import Cluster, wait_until


def _pod(name: str, cpu: str = "100m", priority_class: str = "", grace: int = 30,
         labels: dict[str, str] | None = None, **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "metadata": {"name": name, "labels": labels or {}},
        "spec": {"containers": [{"name": "main", "image": "pause:3.9",
                                 "resources": {"requests": {"cpu": cpu}}}],
                 "terminationGracePeriodSeconds": grace, **spec}}
    if priority_class:
        body["spec"]["priorityClassName"] = priority_class
    return body


def _condition(pod: Any, kind: str) -> Any:
    return next((c for c in pod.status.conditions or [] if c.type == kind), None)


def _read(cluster: Cluster, name: str) -> Any:
    return cluster.core.read_namespaced_pod(name, cluster.namespace)


def _gone(cluster: Cluster, name: str) -> bool:
    return all(p.metadata.name != name for p in cluster.pods())


def test_a_preempted_pod_is_marked_as_a_disruption_target_before_it_goes(
        cluster: Cluster) -> None:
    client.SchedulingV1Api(cluster.api).create_priority_class(
        {"metadata": {"name": "high"}, "value": 1000})
    cluster.add_node("n1", cpu="1")
    cluster.core.create_namespaced_pod(cluster.namespace, _pod("low", cpu="800m", grace=30))
    wait_until(lambda: _read(cluster, "low").status.phase == "Running", what="low running")
    cluster.core.create_namespaced_pod(cluster.namespace, _pod(
        "high", cpu="800m", priority_class="high", schedulerName="default-scheduler"))
    victim = wait_until(lambda: (p := _read(cluster, "low")).metadata.deletion_timestamp and p,
                        what="low pre-empted")
    cond = _condition(victim, "DisruptionTarget")
    assert (cond.status, cond.reason, cond.message) == (
        "True", "PreemptionByScheduler",
        "default-scheduler: preempting to accommodate a higher priority pod")
    assert _condition(victim, "Ready").status == "True"  # still running out its grace period
    assert _read(cluster, "high").status.nominated_node_name == "n1"
    cluster.advance(30)
    wait_until(lambda: _read(cluster, "high").spec.node_name == "n1", what="high bound")
    assert _gone(cluster, "low")
