"""kubectl, as an operator uses it, cannot tell the emulator from an apiserver."""

from __future__ import annotations

import json
import subprocess

from tests.conftest import Kube

DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: hub, labels: {component: hub}}
spec:
  replicas: 1
  selector: {matchLabels: {component: hub}}
  template:
    metadata: {labels: {component: hub}}
    spec:
      containers:
      - name: hub
        image: quay.io/jupyterhub/k8s-hub:4.2.0
        env: [{name: A, value: "1"}]
"""


def run(kubectl: str, kube: Kube, *args: str, stdin: str | None = None) -> str:
    done = subprocess.run([kubectl, "--kubeconfig", str(kube.kubeconfig), *args],
                          input=stdin, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_get_pods_all_namespaces(kube: Kube, kubectl: str) -> None:
    kube.core.create_namespaced_pod(kube.namespace, {
        "metadata": {"name": "jupyter-alice"},
        "spec": {"containers": [{"name": "notebook", "image": "jupyter/base"}]}})
    out = run(kubectl, kube, "get", "pods", "-A")
    # Other tests share this emulator and may have a jupyter-alice of their own: pick ours.
    rows = [row.split() for row in out.splitlines()]
    assert rows[0][:2] == ["NAMESPACE", "NAME"]
    mine = [r for r in rows if r[:2] == [kube.namespace, "jupyter-alice"]]
    assert len(mine) == 1 and mine[0][2:4] == ["0/1", "Pending"]


def test_apply_create_then_update_then_scale_and_delete(kube: Kube, kubectl: str) -> None:
    assert "created" in run(kubectl, kube, "apply", "-f", "-", stdin=DEPLOYMENT)
    changed = DEPLOYMENT.replace("k8s-hub:4.2.0", "k8s-hub:4.3.0")
    assert "configured" in run(kubectl, kube, "apply", "-f", "-", stdin=changed)
    assert "unchanged" in run(kubectl, kube, "apply", "-f", "-", stdin=changed)
    d = kube.apps.read_namespaced_deployment("hub", kube.namespace)
    assert d.spec.template.spec.containers[0].image.endswith("4.3.0")
    assert d.metadata.generation == 2
    assert "kubectl.kubernetes.io/last-applied-configuration" in d.metadata.annotations
    run(kubectl, kube, "scale", "deployment/hub", "--replicas=3")
    assert kube.apps.read_namespaced_deployment("hub", kube.namespace).spec.replicas == 3
    listed = json.loads(run(kubectl, kube, "get", "deploy", "-o", "json"))
    assert [i["metadata"]["name"] for i in listed["items"]] == ["hub"]
    run(kubectl, kube, "delete", "deployment", "hub")
    assert kube.apps.list_namespaced_deployment(kube.namespace).items == []


def test_explain_reads_the_openapi_schema(kube: Kube, kubectl: str) -> None:
    out = run(kubectl, kube, "explain", "statefulset.spec.podManagementPolicy")
    assert "podManagementPolicy" in out and "Parallel" in out


def test_label_selector_through_kubectl(kube: Kube, kubectl: str) -> None:
    for name, component in (("a", "user-placeholder"), ("b", "hub")):
        kube.core.create_namespaced_config_map(kube.namespace, {
            "metadata": {"name": name, "labels": {"component": component}}})
    out = run(kubectl, kube, "get", "configmaps", "-l", "component=hub", "-o", "name")
    assert out.split() == ["configmap/b"]
