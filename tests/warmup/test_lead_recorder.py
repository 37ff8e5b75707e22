"""The lead-time recorder's reading of one Ready pod (pure): a wait for a new node gives a
scale-up sample (first FailedScheduling/TriggeredScaleUp to the node's Ready), a pull gives an
image-pull sample (bound to Ready); a pod that waited for nothing gives none."""

from __future__ import annotations

from typing import Any

from functions.warmup_lead import samples_of
from shared.events import KubeObject


def cond(kind: str, at: str, status: str = "True") -> dict[str, str]:
    return {"type": kind, "status": status, "lastTransitionTime": f"2026-10-12T{at}Z"}


def pod(component: str = "singleuser-server") -> KubeObject:
    return KubeObject({"metadata": {"name": "jupyter-alice", "labels": {"component": component},
                                    "creationTimestamp": "2026-10-12T14:00:00Z"},
                       "spec": {"nodeName": "user-7"},
                       "status": {"conditions": [cond("PodScheduled", "14:06:30"),
                                                 cond("Ready", "14:08:35")]}})


def node(created: str = "14:06:00", ready: str = "14:06:30") -> KubeObject:
    return KubeObject({"metadata": {"name": "user-7",
                                    "creationTimestamp": f"2026-10-12T{created}Z"},
                       "status": {"conditions": [cond("Ready", ready)]}})


def event(reason: str, at: str) -> KubeObject:
    body: dict[str, Any] = {"reason": reason, "firstTimestamp": f"2026-10-12T{at}Z",
                            "metadata": {"name": f"jupyter-alice.{reason}"}}
    return KubeObject(body)


def test_a_pod_that_waited_for_a_new_node_and_pulled_gives_both_samples() -> None:
    found = samples_of(pod(), node(), [event("FailedScheduling", "14:00:01"),
                                      event("TriggeredScaleUp", "14:00:11"),
                                      event("Pulling", "14:06:30")])
    assert [(s.kind, s.seconds, s.subject) for s in found] == [
        ("scale_up", 389.0, "user-7"),  # 14:00:01 -> the node's Ready at 14:06:30
        ("image_pull", 125.0, "jupyter-alice")]  # bound 14:06:30 -> Ready 14:08:35


def test_a_pod_on_an_old_node_with_the_image_gives_nothing() -> None:
    assert samples_of(pod(), node(created="13:00:00", ready="13:00:30"),
                      [event("FailedScheduling", "14:00:01")]) == []


def test_a_placeholder_measures_the_node_but_not_the_pull() -> None:
    found = samples_of(pod("user-placeholder"), node(), [event("TriggeredScaleUp", "14:00:00"),
                                                         event("Pulling", "14:06:30")])
    assert [s.kind for s in found] == ["scale_up"]


def test_a_pod_not_ready_gives_nothing() -> None:
    waiting = KubeObject({**pod().raw, "status": {"conditions": [cond("Ready", "14:00:00",
                                                                      "False")]}})
    assert samples_of(waiting, node(), [event("TriggeredScaleUp", "14:00:00")]) == []
