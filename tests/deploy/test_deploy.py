"""Deploying the hub stack on the emulated cluster: from nothing to ready, then again (a no-op),
during a warm-up, with a new image, and with --prune."""

from __future__ import annotations

import dataclasses
import time

from kubernetes import client

from shared.stack.deploy import WORKLOADS

from .conftest import Stack


def test_deploy_from_empty_namespace_to_all_ready(stack: Stack) -> None:
    started = time.monotonic()
    outcome = stack.deploy()
    elapsed = time.monotonic() - started
    assert not outcome.failed, [r.detail for r in outcome.failed]
    assert outcome.not_ready == []
    verbs = {e.target: e.verb for e in outcome.entries}
    assert all(v == "create" for v in verbs.values()), verbs
    apps = stack.cluster.apps
    ns = stack.cluster.namespace
    hub = apps.read_namespaced_deployment("hub", ns)
    assert hub.status.ready_replicas == 1
    assert apps.read_namespaced_deployment("user-scheduler", ns).status.ready_replicas == 2
    assert apps.read_namespaced_daemon_set("continuous-image-puller", ns).status.number_ready == 2
    assert "ready:" in stack.outputs[-1]
    print(f"deploy to all-ready: {elapsed:.2f} s")


def test_redeploy_changes_nothing(stack: Stack) -> None:
    stack.deploy()
    before = stack.versions()
    outcome = stack.deploy()
    assert not outcome.failed and outcome.not_ready == []
    changed = [e.target for e in outcome.entries if e.verb not in ("unchanged", "kept")]
    assert changed == []
    assert stack.versions() == before
    assert all(r.outcome == "unchanged" for r in outcome.results)


def test_redeploy_during_a_warm_up_leaves_the_placeholders_alone(stack: Stack) -> None:
    stack.deploy()
    ns = stack.cluster.namespace
    apps = stack.cluster.apps
    assert apps.read_namespaced_stateful_set_scale("user-placeholder", ns).spec.replicas == 0
    apps.patch_namespaced_stateful_set_scale("user-placeholder", ns, {"spec": {"replicas": 5}},
                                             field_manager="classops-warmup")
    outcome = stack.deploy()
    assert not outcome.failed
    placeholder = next(e for e in outcome.entries if e.name == "user-placeholder")
    assert placeholder.verb == "unchanged"
    assert apps.read_namespaced_stateful_set("user-placeholder", ns).spec.replicas == 5
    assert len(stack.cluster.pods("component=user-placeholder")) == 5


def test_a_new_image_rolls_out(stack: Stack) -> None:
    stack.deploy()
    ns = stack.cluster.namespace
    newer = dataclasses.replace(stack.settings, hub_image="quay.io/jupyterhub/k8s-hub:4.4.1",
                                singleuser_image="ghcr.io/cs101/notebook:2026.09")
    outcome = stack.deploy(newer)
    assert not outcome.failed and outcome.not_ready == []
    changed = {e.target for e in outcome.entries if e.verb == "change"}
    assert changed == {f"deployment {ns}/hub", f"configmap {ns}/hub",
                       f"daemonset {ns}/continuous-image-puller"}
    pods = stack.cluster.pods("component=hub")
    assert [p.spec.containers[0].image for p in pods] == ["quay.io/jupyterhub/k8s-hub:4.4.1"]
    pullers = stack.cluster.pods("component=continuous-image-puller")
    assert {p.spec.init_containers[0].image for p in pullers} == {"ghcr.io/cs101/notebook:2026.09"}


def test_drift_by_hand_is_repaired_and_reported(stack: Stack) -> None:
    stack.deploy()
    ns = stack.cluster.namespace
    stack.cluster.apps.patch_namespaced_deployment(
        "proxy", ns, {"spec": {"template": {"spec": {"containers": [
            {"name": "chp", "image": "quay.io/jupyterhub/configurable-http-proxy:4.6.3"}]}}}},
        field_manager="kubectl-edit")
    outcome = stack.deploy()
    proxy = next(e for e in outcome.entries if e.kind == "Deployment" and e.name == "proxy")
    assert proxy.verb == "change"
    assert "image" in proxy.detail and "kubectl-edit" in proxy.detail
    live = stack.cluster.apps.read_namespaced_deployment("proxy", ns)
    assert live.spec.template.spec.containers[0].image.endswith(":5.1.0")


def test_prune_deletes_what_is_no_longer_rendered_but_never_a_pvc(stack: Stack) -> None:
    stack.deploy()
    ns = stack.cluster.namespace
    core = stack.cluster.core
    labels = {"app": "jupyterhub", "component": "hub", "release": stack.settings.release,
              "app.kubernetes.io/managed-by": "classops", "classops.edu/part": "hub"}
    for kind, create in (("ConfigMap", core.create_namespaced_config_map),
                         ("PersistentVolumeClaim",
                          core.create_namespaced_persistent_volume_claim)):
        body: dict[str, object] = {"metadata": {"name": "old-" + kind.lower(), "labels": labels}}
        if kind == "PersistentVolumeClaim":
            body["spec"] = {"accessModes": ["ReadWriteOnce"],
                            "resources": {"requests": {"storage": "1Gi"}}}
        else:
            body["data"] = {"a": "b"}
        create(ns, body)
    without = stack.deploy()
    verbs = {e.name: e.verb for e in without.entries}
    assert verbs["old-configmap"] == verbs["old-persistentvolumeclaim"] == "orphaned"
    pruned = stack.deploy(prune=True)
    verbs = {e.name: e.verb for e in pruned.entries}
    assert verbs["old-configmap"] == "delete"
    assert verbs["old-persistentvolumeclaim"] == "orphaned"
    names = [c.metadata.name for c in core.list_namespaced_config_map(ns).items]
    assert "old-configmap" not in names
    core.read_namespaced_persistent_volume_claim("old-persistentvolumeclaim", ns)
    core.read_namespaced_persistent_volume_claim("hub-db-dir", ns)
    assert all(r.outcome != "failed" for r in pruned.results)


def test_generated_secrets_survive_a_redeploy(stack: Stack) -> None:
    stack.deploy()
    ns = stack.cluster.namespace
    first = stack.cluster.core.read_namespaced_secret("hub", ns).data
    stack.deploy(dataclasses.replace(stack.settings, hub_image="quay.io/jupyterhub/k8s-hub:4.4.1"))
    assert stack.cluster.core.read_namespaced_secret("hub", ns).data == first
    assert set(first) == {"hub.config.JupyterHub.cookie_secret",
                          "hub.config.ConfigurableHTTPProxy.auth_token",
                          "hub.config.CryptKeeper.keys"}


def test_every_workload_kind_is_waited_for() -> None:
    assert set(WORKLOADS) == {"Deployment", "StatefulSet", "DaemonSet"}
    assert client  # the official client reads what the deploy wrote


def test_the_whole_deploy_runs_with_classops_own_service_account(stack: Stack) -> None:
    """RBAC is enforced: a permission missing from the classops Role fails this test."""
    ns = stack.cluster.namespace
    admin = stack.deploy(parts=("classops",))
    assert not admin.failed
    token = stack.cluster.emu.service_account_token(ns, "classops")
    api = stack.cluster.emu.api_client(token=token)
    try:
        first = stack.deploy(api=api, prune=True)
        again = stack.deploy(api=api, prune=True)
    finally:
        api.close()
    assert not first.failed, [f"{r.action.describe()}: {r.detail}" for r in first.failed]
    assert first.not_ready == []
    assert not again.failed
    assert {e.verb for e in again.entries} <= {"unchanged", "kept"}
    denied = [r for r in stack.cluster.emu.requests() if r.status == 403]
    assert denied == [], denied
