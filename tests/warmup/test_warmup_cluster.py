"""The warm-up on a living (emulated) cluster: the real handlers, the real executor, the
official client over HTTP. Times are the emulator's frozen clock, set to each firing's time."""

from __future__ import annotations

from typing import Any

from kubernetes import client

from shared.warmup import holding
from tests.deploy.conftest import Stack
from tests.timetable.helpers import timetable
from tests.wait import until

from .conftest import warm_for

TERM = """\
course: cs101
term: {name: fall, start: 2026-10-01, end: 2026-12-01, timezone: UTC}
class:
  size: 40
  sections: [{name: lab-a, size: 20}, {name: lab-b, size: 20}]
knobs: {lead_time: 30m, cooldown_grace: 15m, attendance: 0.9}
one_off:
  - {name: lecture, kind: lecture, date: 2026-10-12, start: "10:10", end: "11:00"}
  - {name: lab-a, kind: lab, date: 2026-10-13, start: "10:10", end: "12:00", audience: lab-a,
     attendance: 1.0}
  - {name: lab-b, kind: lab, date: 2026-10-13, start: "10:10", end: "12:00", audience: lab-b,
     attendance: 1.0}
  - {name: review, kind: lab, date: 2026-10-13, start: "11:00", end: "12:00", audience: lab-a,
     attendance: 0.5}
"""


def user_pod(ns: str, name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": ns,
                         "labels": {"component": "singleuser-server"}},
            "spec": {"containers": [{"name": "notebook", "image": "jupyter/base:1",
                                     "resources": {"requests": {"memory": "1G"}}}]}}


def helm_scale(stack: Stack, replicas: int) -> None:
    """Set the count as `helm` (the emulator answers a patch racing its controller with 409,
    where the real apiserver retries itself: so again)."""
    until(lambda: client.AppsV1Api(stack.cluster.api).patch_namespaced_stateful_set_scale(
        "user-placeholder", stack.cluster.namespace, {"spec": {"replicas": replicas}},
        field_manager="helm"), what=f"scaled to {replicas} as helm",
        not_yet=(client.exceptions.ApiException,))


def events_about(stack: Stack, name: str) -> list[str]:
    found = client.EventsV1Api(stack.cluster.api).list_namespaced_event(stack.cluster.namespace)
    return [e.note for e in found.items if e.regarding and e.regarding.name == name]


def test_warm_up_follow_and_cool_down(stack: Stack) -> None:
    warm = warm_for(stack, timetable(TERM))
    ns = stack.cluster.namespace
    outcomes, results = warm.fire("warmup", "lecture")
    assert [o.status for o in outcomes] == ["ok"], outcomes
    assert warm.scale() == 36  # ceil(40 x 0.9) - nobody running
    found = warm.statefulset()
    notes = events_about(stack, "user-placeholder")
    assert any("warmed to 36 for cs101 lecture 2026-10-12 10:10, lead 30 min (default; 0 "
               "samples)" in n for n in notes), notes
    annotations = found["metadata"]["annotations"]
    assert annotations[holding.TARGET] == "36"
    assert "expected 36 - running 0 = 36 seats" in annotations[holding.WHY]
    managers = {(m["manager"], m.get("subresource", "")) for m in
                found["metadata"]["managedFields"]}
    assert ("classops-warmup", "scale") in managers

    # Fired twice (a redelivery): nothing changes, no second Event.
    _, again = warm.fire("warmup", "lecture")
    assert [r.outcome for r in again] == ["unchanged"]
    assert len(events_about(stack, "user-placeholder")) == len(notes)

    # Ten students arrive: the count follows expected - running.
    core = client.CoreV1Api(stack.cluster.api)
    for i in range(10):
        pod = core.create_namespaced_pod(ns, user_pod(ns, f"jupyter-s{i}"))
    _, results = warm.watch("ADDED", stack.cluster.api.sanitize_for_serialization(pod), "pods")
    assert warm.scale() == 26, results

    # A `helm upgrade` resets the count inside the warm window: it is re-asserted.
    helm_scale(stack, 1)
    reset = warm.statefulset()
    _, results = warm.watch("MODIFIED", reset, "statefulsets")
    assert warm.scale() == 26
    assert any("re-asserted 26: replicas were reset to 1 (the count was set by helm)" in n
               for n in events_about(stack, "user-placeholder"))

    # Cool-down: back to 0 (classops's own stack, baseline 0), attendance recorded as a count.
    outcomes, results = warm.fire("cooldown", "lecture")
    assert [o.status for o in outcomes] == ["ok"], outcomes
    assert warm.scale() == 0
    counts = core.read_namespaced_config_map("classops-attendance", ns).data["counts"]
    assert counts == '{"lecture/2026-10-12T10:10": 10}'


def test_two_sections_at_once_add_up(stack: Stack) -> None:
    warm = warm_for(stack, timetable(TERM))
    """Two sections at once add up; a review of one of them at the same time takes the max."""
    warm.fire("warmup", "lab-a")
    assert warm.scale() == 40  # lab-a 20 + lab-b 20
    warm.fire("warmup", "review")  # lab-a's 10 within lab-a's 20: the max
    assert warm.scale() == 40
    warm.fire("cooldown", "lab-b")  # 12:15: every lab cools down at once
    assert warm.scale() == 0


def test_an_hpa_on_the_placeholders_is_refused_with_a_clear_message(stack: Stack) -> None:
    warm = warm_for(stack, timetable(TERM))
    ns = stack.cluster.namespace
    client.AutoscalingV2Api(stack.cluster.api).create_namespaced_horizontal_pod_autoscaler(ns, {
        "metadata": {"name": "placeholders"},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "StatefulSet",
                                    "name": "user-placeholder"},
                 "minReplicas": 1, "maxReplicas": 5}})
    outcomes, results = warm.fire("warmup", "lecture")
    assert [o.status for o in outcomes] == ["failed"]
    assert "scaled by HorizontalPodAutoscaler placeholders" in outcomes[0].error
    assert results == [] and warm.scale() == 0


def test_an_adopted_helm_release_gets_its_own_count_back(stack: Stack) -> None:
    """A z2jh release (names from its `hub` ConfigMap) that held 2 placeholders of its own: the
    warm-up records 2, and the cool-down gives 2 back, not 0."""
    warm = warm_for(stack, timetable(TERM))
    ns = stack.cluster.namespace
    core = client.CoreV1Api(stack.cluster.api)
    core.create_namespaced_config_map(ns, {"metadata": {"name": "hub", "labels": {
        "component": "hub"}}, "data": {"user-placeholder": "user-placeholder",
                                        "user-scheduler-deploy": "user-scheduler"}})
    helm_scale(stack, 2)
    warm.fire("warmup", "lecture")
    assert warm.scale() == 36
    assert warm.statefulset()["metadata"]["annotations"][holding.ORIGINAL] == "2"
    warm.fire("cooldown", "lecture")
    assert warm.scale() == 2


NODE_SIZED = TERM + "warmup: {mode: node, users_per_node: 10}\n"


def test_node_sized_placeholders_hold_one_node_each(stack: Stack) -> None:
    """36 expected at 10 users a node: 4 node-sized placeholders, each alone on its node (two
    nodes here: two run, two wait for the autoscaler), requests just under a node's room."""
    warm = warm_for(stack, timetable(NODE_SIZED))
    outcomes, _results = warm.fire("warmup", "lecture")
    assert [o.status for o in outcomes] == ["ok"], outcomes
    assert warm.scale("user-placeholder-nodes") == 4 and warm.scale() == 0
    nodes = warm.statefulset("user-placeholder-nodes")
    pod = nodes["spec"]["template"]["spec"]
    assert pod["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert pod["containers"][0]["resources"]["requests"]["cpu"] == "7600m"  # 95% of 8
    assert pod["priorityClassName"].endswith("user-placeholder-priority")
    assert "node-sized: 4 nodes of 10 users" in nodes["metadata"]["annotations"][holding.WHY]

    def placed() -> list[str]:
        pods = stack.cluster.pods("classops.edu/placeholder-size=node")
        bound = [p.spec.node_name for p in pods if p.spec.node_name]
        return bound if len(pods) == 4 and len(bound) == 2 else []

    bound = until(placed, what="two node placeholders bound, two pending")
    assert sorted(bound) == ["user-1", "user-2"]
    warm.fire("cooldown", "lecture")
    assert warm.scale("user-placeholder-nodes") == 0


def test_status_shows_the_hold_its_why_and_the_next_warm_up(stack: Stack) -> None:
    from datetime import timedelta

    from shared.ports.kube import Kube
    from shared.stack import status

    tt = timetable(TERM)
    warm = warm_for(stack, tt)
    warm.fire("warmup", "lecture")
    kube = Kube(stack.cluster.api)
    try:
        now = stack.cluster.emu.clock.now()
        seen = status.read(kube, stack.cluster.namespace, now + timedelta(minutes=1),
                           timetable=tt)
    finally:
        kube.close()
    text = status.table(seen)
    assert "warm-up:              user-placeholder holds 36 (" in text
    assert "target 36: warmed to 36 for cs101 lecture 2026-10-12 10:10" in text
    assert "next warm-up:         2026-10-13T09:40+00:00  lab-a/2026-10-13T10:10" in text
    assert status.as_dict(seen)["warm"][0]["target"] == 36


def test_a_keda_scaled_object_on_the_placeholders_is_refused(stack: Stack) -> None:
    from shared.ports.kube import Kube
    from tests.deploy.test_least_privilege import KEDA_CRD

    warm = warm_for(stack, timetable(TERM))
    kube = Kube(stack.cluster.api)
    try:
        kube.apply(KEDA_CRD, "test")
        until(lambda: kube.create({
            "apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject",
            "metadata": {"name": "by-load", "namespace": stack.cluster.namespace},
            "spec": {"scaleTargetRef": {"kind": "StatefulSet", "name": "user-placeholder"}}}),
            what="the ScaledObject created once its CRD is served", not_yet=(Exception,))
    finally:
        kube.close()
    outcomes, _ = warm.fire("warmup", "lecture")
    assert [o.status for o in outcomes] == ["failed"]
    assert "scaled by ScaledObject by-load" in outcomes[0].error and warm.scale() == 0
