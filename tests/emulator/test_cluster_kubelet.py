"""The kubelet on the emulated clock: image pulls per node, start times, readiness, deletion."""

from __future__ import annotations

from kubernetes import client

from tests.wait import until

from .conftest import Cluster
from .objects import pod


def _phase(cluster: Cluster, name: str) -> str:
    return str(cluster.core.read_namespaced_pod(name, cluster.namespace).status.phase)


def test_first_pull_then_start_then_running_and_a_cached_image_starts_faster(
        cluster: Cluster) -> None:
    cluster.add_node("n1")
    cluster.kubelet.pull_seconds, cluster.kubelet.start_seconds = 30, 2
    cluster.core.create_namespaced_pod(cluster.namespace, pod("a", image="jupyter/scipy:1"))
    first = until(lambda: (p := cluster.core.read_namespaced_pod("a", cluster.namespace))
                       .status.container_statuses and p, what="a taken by the kubelet")
    assert first.spec.node_name == "n1" and first.status.phase == "Pending"
    waiting = first.status.container_statuses[0].state.waiting
    assert waiting.reason == "ContainerCreating"
    assert first.status.host_ip == "10.0.0.1" and first.status.start_time is not None
    cluster.advance(31)  # pulled, not started yet
    cluster.core.create_namespaced_pod(cluster.namespace, pod("b", image="jupyter/scipy:1"))
    until(lambda: cluster.core.read_namespaced_pod("b", cluster.namespace)
               .status.container_statuses, what="b taken")
    assert _phase(cluster, "a") == "Pending"
    cluster.advance(1.5)  # a: 30 s pull + 2 s start = 32 s; b: cached image, 2 s start
    assert _phase(cluster, "a") == "Pending"
    cluster.advance(0.5)
    running = until(lambda: (p := cluster.core.read_namespaced_pod("a", cluster.namespace))
                         .status.phase == "Running" and p, what="a running")
    assert _phase(cluster, "b") == "Running"  # 2 s after it was taken: the image was there
    status = running.status
    assert status.pod_ip.startswith("10.244.")
    assert {c.type: c.status for c in status.conditions} == {
        "PodReadyToStartContainers": "True", "Initialized": "True", "ContainersReady": "True",
        "Ready": "True", "PodScheduled": "True"}
    (container,) = status.container_statuses
    assert container.ready and container.started and container.restart_count == 0
    assert container.image == "jupyter/scipy:1" and "sha256:" in container.image_id
    assert container.state.running.started_at is not None


def test_init_containers_run_first(cluster: Cluster) -> None:
    cluster.add_node("n1")
    cluster.kubelet.start_seconds = 1
    body = pod("p")
    body["spec"]["initContainers"] = [{"name": "init", "image": "busybox:1.36"}]
    cluster.core.create_namespaced_pod(cluster.namespace, body)
    p = until(lambda: (x := cluster.core.read_namespaced_pod("p", cluster.namespace))
                   .status.container_statuses and x)
    assert p.status.container_statuses[0].state.waiting.reason == "PodInitializing"
    cluster.advance(1)
    p = until(lambda: (x := cluster.core.read_namespaced_pod("p", cluster.namespace))
                   .status.init_container_statuses[0].state.terminated and x)
    assert p.status.phase == "Pending"
    assert p.status.container_statuses[0].state.waiting.reason == "ContainerCreating"
    cluster.advance(1)
    until(lambda: _phase(cluster, "p") == "Running")


def test_graceful_deletion_waits_for_the_grace_period_on_the_clock(cluster: Cluster) -> None:
    cluster.add_node("n1")
    cluster.core.create_namespaced_pod(cluster.namespace, pod("p"))
    until(lambda: _phase(cluster, "p") == "Running")
    gone = cluster.core.delete_namespaced_pod("p", cluster.namespace)
    assert gone.metadata.deletion_timestamp is not None
    assert gone.metadata.deletion_grace_period_seconds == 30
    cluster.advance(29)
    assert cluster.core.read_namespaced_pod("p", cluster.namespace).metadata.deletion_timestamp
    cluster.advance(1)
    until(lambda: not cluster.pods(), what="p removed by its kubelet")
    cluster.core.create_namespaced_pod(cluster.namespace, pod("q"))
    until(lambda: _phase(cluster, "q") == "Running")
    cluster.core.delete_namespaced_pod("q", cluster.namespace,
                                       body=client.V1DeleteOptions(grace_period_seconds=0))
    assert not cluster.pods()
