"""Disruptions through the official client: pre-emption's DisruptionTarget condition, the Eviction
API against PodDisruptionBudgets, and NoExecute taints evicting pods on the emulated clock."""

from __future__ import annotations

import json
from typing import Any

from kubernetes import client
from kubernetes.client import ApiException

from tests.wait import until

from .conftest import Cluster
from .objects import deployment


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
    until(lambda: _read(cluster, "low").status.phase == "Running", what="low running")
    cluster.core.create_namespaced_pod(cluster.namespace, _pod(
        "high", cpu="800m", priority_class="high", schedulerName="default-scheduler"))
    victim = until(lambda: (p := _read(cluster, "low")).metadata.deletion_timestamp and p,
                        what="low pre-empted")
    cond = _condition(victim, "DisruptionTarget")
    assert (cond.status, cond.reason, cond.message) == (
        "True", "PreemptionByScheduler",
        "default-scheduler: preempting to accommodate a higher priority pod")
    assert _condition(victim, "Ready").status == "True"  # still running out its grace period
    assert _read(cluster, "high").status.nominated_node_name == "n1"
    cluster.advance(30)
    until(lambda: _read(cluster, "high").spec.node_name == "n1", what="high bound")
    assert _gone(cluster, "low")


def _evict(cluster: Cluster, name: str) -> Any:
    return cluster.core.create_namespaced_pod_eviction(name, cluster.namespace, {
        "apiVersion": "policy/v1", "kind": "Eviction",
        "metadata": {"name": name, "namespace": cluster.namespace}})


def _refused(cluster: Cluster, name: str) -> tuple[int, Any, Any]:
    try:
        _evict(cluster, name)
    except ApiException as err:
        return err.status, err.headers, json.loads(err.body)
    raise AssertionError(f"the eviction of {name} was not refused")


def _budget(cluster: Cluster, name: str, selector: dict[str, str], **spec: Any) -> None:
    client.PolicyV1Api(cluster.api).create_namespaced_pod_disruption_budget(
        cluster.namespace, {"metadata": {"name": name},
                            "spec": {"selector": {"matchLabels": selector}, **spec}})


def _budget_status(cluster: Cluster, name: str) -> Any:
    return client.PolicyV1Api(cluster.api).read_namespaced_pod_disruption_budget(
        name, cluster.namespace).status


def test_the_eviction_api_honours_a_disruption_budget(cluster: Cluster) -> None:
    cluster.add_node("n1")
    cluster.kubelet.start_seconds = 5
    cluster.apps.create_namespaced_deployment(cluster.namespace, deployment("hub", replicas=3))
    cluster.taken(selector="app=hub", count=3)
    cluster.advance(5)
    until(lambda: cluster.apps.read_namespaced_deployment("hub", cluster.namespace)
               .status.ready_replicas == 3, what="3 ready")
    _budget(cluster, "hub", {"app": "hub"}, minAvailable=2)
    first, second, third = sorted(p.metadata.name for p in cluster.pods("app=hub"))
    # No disruption controller has looked at the budget yet: try again in 10 s.
    code, headers, body = _refused(cluster, first)
    assert (code, headers["Retry-After"], body["reason"]) == (429, "10", "TooManyRequests")
    assert body["details"]["causes"] == [{"reason": "DisruptionBudget", "message":
                                          "The disruption budget hub is still being processed "
                                          "by the server."}]
    cluster.emu.enable_controllers("disruption")
    st = until(lambda: (s := _budget_status(cluster, "hub")).observed_generation == 1 and s,
                    what="the budget observed")
    assert (st.current_healthy, st.desired_healthy, st.disruptions_allowed,
            st.expected_pods) == (3, 2, 1, 3)
    assert [(c.type, c.status, c.reason) for c in st.conditions] == [
        ("DisruptionAllowed", "True", "SufficientPods")]
    _evict(cluster, first)  # 201: the budget allows one
    evicted = _read(cluster, first)
    assert evicted.metadata.deletion_timestamp is not None  # graceful, 30 s
    cond = _condition(evicted, "DisruptionTarget")
    assert (cond.reason, cond.message) == ("EvictionByEvictionAPI", "Eviction API: evicting")
    st = until(lambda: (s := _budget_status(cluster, "hub")).current_healthy == 2 and s,
                    what="the budget after one eviction")
    assert (st.disruptions_allowed, st.disrupted_pods) == (0, None)
    code, headers, body = _refused(cluster, second)
    assert (code, body["message"]) == (
        429, "Cannot evict pod as it would violate the pod's disruption budget.")
    assert "Retry-After" not in headers
    assert body["details"]["causes"][0]["message"] == \
        "The disruption budget hub needs 2 healthy pods and has 2 currently"
    assert _read(cluster, second).metadata.deletion_timestamp is None
    # The Deployment's replacement becomes ready; the budget allows one more.
    cluster.taken(selector="app=hub", count=4)
    cluster.advance(5)
    until(lambda: _budget_status(cluster, "hub").disruptions_allowed == 1,
               what="the replacement counted")
    _evict(cluster, second)
    # Two budgets over one pod: the eviction subresource refuses to choose.
    _budget(cluster, "hub-too", {"app": "hub"}, maxUnavailable="50%")
    code, _, body = _refused(cluster, third)
    assert (code, body["message"]) == (500, "This pod has more than one PodDisruptionBudget, "
                                            "which the eviction subresource does not support.")


def test_a_budget_over_pods_without_a_controller_fails_its_sync(cluster: Cluster) -> None:
    cluster.add_node("n1")
    cluster.emu.enable_controllers("disruption")
    _budget(cluster, "lone", {"app": "lone"}, maxUnavailable=1)
    st = until(lambda: (s := _budget_status(cluster, "lone")).observed_generation == 1
                    and s, what="the budget synced over no pods")
    assert (st.expected_pods, st.disruptions_allowed) == (0, 0)
    cluster.core.create_namespaced_pod(cluster.namespace, _pod("lone", labels={"app": "lone"}))
    until(lambda: _read(cluster, "lone").status.phase == "Running", what="lone running")
    st = until(lambda: (s := _budget_status(cluster, "lone")).conditions[0].reason
                    == "SyncFailed" and s, what="the sync failing")
    (cond,) = st.conditions
    assert (cond.status, cond.reason, cond.message) == (
        "False", "SyncFailed", 'found no controller ref for pod "lone"')
    code, _, body = _refused(cluster, "lone")
    assert code == 429
    assert body["details"]["causes"][0]["message"] == (
        "The disruption budget lone does not allow evicting pods currently because it failed "
        "sync: found no controller ref for pod \"lone\"")
    # A pod that is not running yet goes whatever the budget says.
    cluster.kubelet.start_seconds = 60
    cluster.core.create_namespaced_pod(cluster.namespace, _pod("new", labels={"app": "lone"}))
    cluster.taken("new")
    _evict(cluster, "new")
    assert _read(cluster, "new").metadata.deletion_timestamp is not None


def test_noexecute_taints_evict_pods_after_their_toleration_seconds(cluster: Cluster) -> None:
    cluster.add_node("n1")
    cluster.emu.enable_controllers("taints")

    def tolerating(seconds: int | None) -> list[dict[str, Any]]:
        toleration: dict[str, Any] = {"key": "maintenance", "operator": "Exists",
                                      "effect": "NoExecute"}
        if seconds is not None:
            toleration["tolerationSeconds"] = seconds
        return [toleration]

    for name, seconds in (("patient", 60), ("slow", 120), ("forever", None)):
        cluster.core.create_namespaced_pod(cluster.namespace, _pod(
            name, tolerations=tolerating(seconds)))
    cluster.core.create_namespaced_pod(cluster.namespace, _pod("plain"))
    until(lambda: sum(p.status.phase == "Running" for p in cluster.pods()) == 4,
               what="4 running")
    cluster.core.patch_node("n1", {"spec": {"taints": [
        {"key": "maintenance", "value": "yes", "effect": "NoExecute"}]}})
    plain = until(lambda: (p := _read(cluster, "plain")).metadata.deletion_timestamp and p,
                       what="plain evicted at once")
    cond = _condition(plain, "DisruptionTarget")
    assert (cond.reason, cond.message) == (
        "DeletionByTaintManager", "Taint manager: deleting due to NoExecute taint")
    cluster.advance(59)
    assert _read(cluster, "patient").metadata.deletion_timestamp is None
    cluster.advance(1)
    until(lambda: _read(cluster, "patient").metadata.deletion_timestamp,
               what="patient evicted after 60 s")
    cluster.core.patch_node("n1", {"spec": {"taints": []}})
    taints = cluster.emu.controller("taints")
    until(lambda: not taints.scheduled, what="the pending eviction cancelled")
    cluster.advance(120)
    for name in ("slow", "forever"):
        assert _read(cluster, name).metadata.deletion_timestamp is None
