"""Nodes as the apiserver keeps them, the standalone emulator with Ready nodes, a node that
vanishes with its pods, and two apiserver answers (POST on an item, a late finalizer)."""

from __future__ import annotations

import ipaddress
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import kubernetes
import pytest
from kubernetes import client

from tests.conftest import Kube
from tests.kubeemu import RemoteControl
from tests.kubeemu.nodes import node_body, parse_labels, parse_taints
from tests.wait import until

from .conftest import Cluster
from .objects import configmap, pod, raw

ROOT = Path(__file__).resolve().parents[2]


def test_a_node_created_with_status_keeps_it_and_pods_schedule_on_it(cluster: Cluster) -> None:
    body = node_body("worker", cpu="2", memory="8Gi", address="127.100.0.9")
    made = cluster.core.create_node(body)
    assert made.status.capacity == {"cpu": "2", "memory": "8Gi", "pods": "110"}
    assert [(c.type, c.status) for c in made.status.conditions] == [("Ready", "True")]
    cluster.core.create_namespaced_pod(cluster.namespace, pod("p"))
    until(lambda: cluster.core.read_namespaced_pod("p", cluster.namespace)
               .spec.node_name == "worker", what="p bound to worker")
    # An update of the main resource still cannot change status (the status subresource can).
    made.status.capacity = {"cpu": "64"}
    kept = cluster.core.replace_node("worker", made)
    assert kept.status.capacity["cpu"] == "2"


def test_post_on_an_item_is_405_and_a_finalizer_added_while_deleting_is_422(kube: Kube) -> None:
    ns, token, url = kube.namespace, kube.emu.admin_token, kube.emu.url
    code, _, body = raw(url, token, "POST", f"/api/v1/namespaces/{ns}/configmaps/x",
                        configmap("x"))
    assert code == 405 and body["reason"] == "MethodNotAllowed"
    assert body["message"] == "the server does not allow this method on the requested resource"
    cm = configmap("held")
    cm["metadata"]["finalizers"] = ["example.com/a"]
    kube.core.create_namespaced_config_map(ns, cm)
    kube.core.delete_namespaced_config_map("held", ns)
    with pytest.raises(client.ApiException) as err:
        kube.core.patch_namespaced_config_map("held", ns, {"metadata": {"finalizers": [
            "example.com/a", "example.com/b"]}})
    assert err.value.status == 422
    status = json.loads(err.value.body)
    assert status["message"] == (
        'ConfigMap "held" is invalid: metadata.finalizers: Forbidden: no new finalizers can be '
        'added if the object is being deleted, found new finalizers []string{"example.com/b"}')
    assert status["details"]["causes"][0]["field"] == "metadata.finalizers"
    kube.core.patch_namespaced_config_map("held", ns, {"metadata": {"finalizers": None}})
    assert not [c for c in kube.core.list_namespaced_config_map(ns).items
                if c.metadata.name == "held"]


def test_a_vanished_node_takes_its_pods_with_it(cluster: Cluster) -> None:
    ns = cluster.namespace
    for name in ("n1", "n2"):
        cluster.add_node(name, labels={"pool": name})
    for name, node in (("a", "n1"), ("b", "n1"), ("c", "n2")):
        body = pod(name)
        body["spec"]["nodeSelector"] = {"pool": node}
        cluster.core.create_namespaced_pod(ns, body)
    until(lambda: all(p.status.phase == "Running" for p in cluster.pods())
               and len(cluster.pods()) == 3, what="three pods running")
    gone = cluster.emu.vanish_node("n1")
    assert sorted(gone) == [f"{ns}/a", f"{ns}/b"]
    assert [p.metadata.name for p in cluster.pods()] == ["c"]  # at once, no grace period
    assert [n.metadata.name for n in cluster.core.list_node().items] == ["n2"]
    removing = [e for e in cluster.core.list_namespaced_event("default").items
                if e.reason == "RemovingNode"]
    assert removing[0].message == "Node n1 event: Removing Node n1 from Controller"
    remote = RemoteControl(cluster.emu.url)
    assert remote.vanish_node("n2") == [f"{ns}/c"]
    assert cluster.pods() == [] and cluster.core.list_node().items == []


def test_standalone_starts_with_ready_nodes_on_loopback(tmp_path: Path, kubectl: str) -> None:
    kubeconfig = tmp_path / "emu.kubeconfig"
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.kubeemu", "--port", "0", "--kubeconfig-out",
         str(kubeconfig), "--nodes", "3", "--node-cpu", "2", "--node-memory", "4Gi",
         "--node-labels", "hub.jupyter.org/node-purpose=core,tier=a", "--namespace", "cs101",
         "--controllers", "scheduler,kubelet,workloads"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert "serving on" in line, proc.stderr.read() if proc.stderr else ""
        out = subprocess.run([kubectl, "--kubeconfig", str(kubeconfig), "get", "nodes", "-o",
                              "wide"], capture_output=True, text=True, timeout=60,
                             check=True).stdout
        rows = [r.split() for r in out.splitlines()[1:]]
        assert [(r[0], r[1]) for r in rows] == [(f"node-{i}", "Ready") for i in (1, 2, 3)]
        assert all(ipaddress.ip_address(r[5]).is_loopback for r in rows)
        api = kubernetes.config.new_client_from_config(str(kubeconfig))
        core = client.CoreV1Api(api)
        node = core.read_node("node-2")
        assert node.status.allocatable["cpu"] == "2" and node.metadata.labels["tier"] == "a"
        core.create_namespaced_pod("cs101", pod("web"))  # the kubeconfig's namespace exists
        until(lambda: core.read_namespaced_pod("web", "cs101").status.phase == "Running",
                   timeout=30, what="web running on a standalone node")
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0


def test_bad_labels_and_taints_are_refused_with_what_was_expected() -> None:
    assert parse_labels("a=1,b/c=") == {"a": "1", "b/c": ""}
    assert parse_taints("k=v:NoSchedule,g:NoExecute") == [
        {"key": "k", "value": "v", "effect": "NoSchedule"}, {"key": "g", "effect": "NoExecute"}]
    with pytest.raises(ValueError, match=r"--node-labels: 'oops' is not key=value"):
        parse_labels("a=1,oops")
    with pytest.raises(ValueError, match=r"'k=v:Never' is not key=value:Effect"):
        parse_taints("k=v:Never")
    done = subprocess.run([sys.executable, "-m", "tests.kubeemu", "--nodes", "1",
                           "--node-taints", "k=v"], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 2 and "--node-taints: 'k=v' is not key=value:Effect" in done.stderr


def test_background_returns_once_serving_and_leaves_the_server_running(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "emu.kubeconfig"
    done = subprocess.run([sys.executable, "-m", "tests.kubeemu", "--background", "--port", "0",
                           "--kubeconfig-out", str(kubeconfig), "--nodes", "1"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "serving on http://127.0.0.1:" in done.stdout
    pid = int(done.stdout.rsplit("kill ", 1)[1])
    try:
        core = client.CoreV1Api(kubernetes.config.new_client_from_config(str(kubeconfig)))
        assert [n.metadata.name for n in core.list_node().items] == ["node-1"]
    finally:
        os.kill(pid, signal.SIGTERM)
