"""Core Events from the scheduler and the kubelet, and the recorder's dedupe, aggregation and spam
filter, read through the official client and kubectl (`get events`, `describe pod`)."""

from __future__ import annotations

import subprocess
from typing import Any

from kubernetes import client

from tests.kubeemu.recorder import record_event
from tests.wait import until

from .conftest import Cluster
from .objects import pod


def _events(cluster: Cluster, name: str) -> list[Any]:
    selector = f"involvedObject.name={name}"
    return sorted(cluster.core.list_namespaced_event(cluster.namespace,
                                                     field_selector=selector).items,
                  key=lambda e: (e.first_timestamp, e.metadata.name))


def _reasons(cluster: Cluster, name: str) -> list[str]:
    return [e.reason for e in _events(cluster, name)]


def _asking(name: str, cpu: str, priority_class: str = "") -> dict[str, Any]:
    body = pod(name, image="jupyter/scipy:1")
    body["spec"]["containers"][0]["resources"] = {"requests": {"cpu": cpu}}
    if priority_class:
        body["spec"]["priorityClassName"] = priority_class
    return body


def _kubectl(kubectl: str, cluster: Cluster, *args: str) -> str:
    return subprocess.run([kubectl, "--kubeconfig", str(cluster.kubeconfig), *args],
                          capture_output=True, text=True, timeout=60, check=True).stdout


def test_a_started_pod_has_the_scheduler_and_kubelet_events_in_order(cluster: Cluster,
                                                                     kubectl: str) -> None:
    cluster.add_node("n1")
    cluster.kubelet.pull_seconds, cluster.kubelet.start_seconds = 30, 2
    cluster.core.create_namespaced_pod(cluster.namespace, pod("a", image="jupyter/scipy:1"))
    cluster.taken("a")
    # The kubelet records Pulling just after it writes the pod's startTime (what `taken` reads),
    # so wait for it; the clock is frozen, so nothing after Pulling may come meanwhile.
    until(lambda: _reasons(cluster, "a") == ["Scheduled", "Pulling"],
          what="Scheduled, then Pulling, and nothing else on the frozen clock")
    cluster.advance(30)
    until(lambda: "Pulled" in _reasons(cluster, "a"), what="Pulled")
    cluster.advance(2)
    until(lambda: "Started" in _reasons(cluster, "a"), what="Started")
    events = {e.reason: e for e in _events(cluster, "a")}
    assert list(events) == ["Scheduled", "Pulling", "Pulled", "Created", "Started"]
    ns = cluster.namespace
    assert events["Scheduled"].message == f"Successfully assigned {ns}/a to n1"
    assert events["Scheduled"].source.component == "default-scheduler"
    assert events["Pulled"].message == ('Successfully pulled image "jupyter/scipy:1" in 30s '
                                        "(30s including waiting). Image size: "
                                        f"{events['Pulled'].message.split('size: ')[1]}")
    assert events["Created"].message == "Created container: main"
    assert events["Started"].message == "Started container main"
    for reason in ("Pulling", "Pulled", "Created", "Started"):
        e = events[reason]
        assert (e.source.component, e.source.host) == ("kubelet", "n1")
        assert e.involved_object.field_path == "spec.containers{main}"
        assert e.involved_object.kind == "Pod" and e.count == 1 and e.type == "Normal"
    # Each one carries the time it happened on the clock, not when the kubelet noticed.
    pulled_at = events["Pulled"].first_timestamp - events["Pulling"].first_timestamp
    assert pulled_at.total_seconds() == 30
    # A second pod on the node finds the image there.
    cluster.core.create_namespaced_pod(ns, pod("b", image="jupyter/scipy:1"))
    cluster.taken("b")
    pulled = until(lambda: [e for e in _events(cluster, "b") if e.reason == "Pulled"])
    assert pulled[0].message == 'Container image "jupyter/scipy:1" already present on machine'
    table = _kubectl(kubectl, cluster, "get", "events")
    assert "LAST SEEN" in table.splitlines()[0] and "pod/a" in table
    assert "Started container main" in table
    described = _kubectl(kubectl, cluster, "describe", "pod", "a")
    events_part = described.split("Events:")[1]
    for line in ("default-scheduler  Successfully assigned", "kubelet            Pulling image",
                 "kubelet            Started container main"):
        assert line in events_part


def test_failed_scheduling_has_the_real_message_and_preemption_records_preempted(
        cluster: Cluster, kubectl: str) -> None:
    ns = cluster.namespace
    cluster.add_node("small", cpu="2")
    cluster.add_node("big", cpu="4")
    cluster.add_node("tainted", cpu="8", taints=[{"key": "gpu", "value": "yes",
                                                  "effect": "NoSchedule"}])
    cluster.core.create_namespaced_pod(ns, _asking("huge", "6"))
    warning = until(lambda: [e for e in _events(cluster, "huge")
                                  if e.reason == "FailedScheduling"])[0]
    assert warning.type == "Warning" and warning.source.component == "default-scheduler"
    assert warning.message == (
        "0/3 nodes are available: 1 node(s) had untolerated taint {gpu: yes}, 2 Insufficient "
        "cpu. preemption: 0/3 nodes are available: 1 Preemption is not helpful for "
        "scheduling, 2 No preemption victims found for incoming pod.")
    cond = next(c for c in cluster.core.read_namespaced_pod("huge", ns).status.conditions
                if c.type == "PodScheduled")
    assert cond.message == warning.message
    # A low-priority pod on "big" is pre-empted for a higher-priority one.
    scheduling = client.SchedulingV1Api(cluster.api)
    for name, value in (("low", -10), ("high", 100)):
        scheduling.create_priority_class({"metadata": {"name": name}, "value": value})
    cluster.core.create_namespaced_pod(ns, _asking("low", "3", "low"))
    until(lambda: "Scheduled" in _reasons(cluster, "low"))
    cluster.core.create_namespaced_pod(ns, _asking("high", "3", "high"))
    preempted = until(lambda: [e for e in _events(cluster, "low")
                                    if e.reason == "Preempted"])[0]
    high = cluster.core.read_namespaced_pod("high", ns)
    assert preempted.message == f"Preempted by pod {high.metadata.uid} on node big"
    assert preempted.related.name == "high"
    cluster.advance(30)  # the victim's grace period
    until(lambda: "Scheduled" in _reasons(cluster, "high"), what="high bound")
    described = _kubectl(kubectl, cluster, "describe", "pod", "huge")
    assert "FailedScheduling" in described and "2 Insufficient cpu" in described


def test_deleting_a_running_pod_records_killing(cluster: Cluster) -> None:
    cluster.add_node("n1")
    cluster.core.create_namespaced_pod(cluster.namespace, pod("p"))
    until(lambda: "Started" in _reasons(cluster, "p"))
    cluster.core.delete_namespaced_pod("p", cluster.namespace)
    killing = until(lambda: [e for e in _events(cluster, "p") if e.reason == "Killing"])
    assert killing[0].message == "Stopping container main"
    assert killing[0].source.host == "n1"


def test_repeats_are_counted_similar_ones_combined_and_a_flood_is_cut(cluster: Cluster,
                                                                      kubectl: str) -> None:
    ns = cluster.namespace
    cm = cluster.core.create_namespaced_config_map(ns, {"metadata": {"name": "cm"}})
    obj = cluster.api.sanitize_for_serialization(cm)
    obj.update(kind="ConfigMap", apiVersion="v1")
    for _ in range(3):
        record_event(cluster.emu, obj, "Synced", "same words", component="tester")
        cluster.advance(60)
    (same,) = _events(cluster, "cm")
    assert same.count == 3 and same.message == "same words"
    assert (same.last_timestamp - same.first_timestamp).total_seconds() == 120
    # kubectl words ages against the wall clock, which the emulated one has run ahead of.
    assert "(x3 over " in _kubectl(kubectl, cluster, "describe", "configmap", "cm")
    for i in range(10):  # ten different messages with one reason within ten minutes
        record_event(cluster.emu, obj, "Retried", f"attempt {i}", component="tester")
    combined = [e for e in _events(cluster, "cm") if e.message.startswith("(combined")]
    assert len(combined) == 1
    assert combined[0].message == "(combined from similar events): attempt 9"
    record_event(cluster.emu, obj, "Retried", "attempt 10", component="tester")
    assert [e.count for e in _events(cluster, "cm") if e.message.startswith("(combined")] == [2]
    # 14 events so far from "tester" about cm; the burst is 25, then one per 5 minutes.
    written = [record_event(cluster.emu, obj, f"Flood{i}", "x", component="tester")
               for i in range(13)]
    assert sum(1 for e in written if e is not None) == 11
    assert record_event(cluster.emu, obj, "Later", "x", component="tester") is None
    cluster.advance(300)
    assert record_event(cluster.emu, obj, "Later", "x", component="tester") is not None
