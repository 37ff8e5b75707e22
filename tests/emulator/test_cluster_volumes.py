"""Volumes on the living cluster: classes, binding, folders behind PVs, protection, reclaim."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from tests.kubeemu.controllers import Volumes
from tests.wait import until

from .conftest import Cluster
from .objects import pod


def claim(name: str, size: str = "1Gi", storage_class: str | None = None,
          data_source: dict[str, str] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"accessModes": ["ReadWriteOnce"],
                            "resources": {"requests": {"storage": size}}}
    if storage_class is not None:
        spec["storageClassName"] = storage_class
    if data_source:
        spec["dataSource"] = data_source
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name},
            "spec": spec}


def mounting(name: str, claim_name: str) -> dict[str, Any]:
    body = pod(name)
    body["spec"]["volumes"] = [{"name": "home", "persistentVolumeClaim": {
        "claimName": claim_name}}]
    body["spec"]["containers"][0]["volumeMounts"] = [{"name": "home", "mountPath": "/home/u"}]
    return body


@pytest.fixture
def storage(cluster: Cluster) -> Cluster:
    cluster.emu.enable_controllers("volumes", "snapshots")
    return cluster


def volumes(cluster: Cluster) -> Volumes:
    found: Volumes = cluster.emu.controller("volumes")
    return found


def phase(cluster: Cluster, name: str) -> str:
    return str(cluster.core.read_namespaced_persistent_volume_claim(
        name, cluster.namespace).status.phase)


def events(cluster: Cluster, name: str) -> list[Any]:
    return list(cluster.core.list_namespaced_event(
        cluster.namespace, field_selector=f"involvedObject.name={name}").items)


def test_default_class_binds_when_a_pod_is_scheduled_and_the_folder_holds_files(
        storage: Cluster) -> None:
    ns = storage.namespace
    default = client.StorageV1Api(storage.api).read_storage_class("standard")
    assert default.metadata.annotations["storageclass.kubernetes.io/is-default-class"] == "true"
    assert default.volume_binding_mode == "WaitForFirstConsumer"
    storage.core.create_namespaced_persistent_volume_claim(ns, claim("home"))
    made = storage.core.read_namespaced_persistent_volume_claim("home", ns)
    assert made.spec.storage_class_name == "standard"
    assert "kubernetes.io/pvc-protection" in made.metadata.finalizers
    until(lambda: [e for e in events(storage, "home") if e.reason == "WaitForFirstConsumer"],
               what="the WaitForFirstConsumer Event")
    assert phase(storage, "home") == "Pending"
    storage.add_node("n1")
    storage.core.create_namespaced_pod(ns, mounting("user", "home"))
    bound = until(lambda: (c := storage.core.read_namespaced_persistent_volume_claim(
        "home", ns)).status.phase == "Bound" and c, what="home bound")
    assert bound.metadata.annotations["volume.kubernetes.io/selected-node"] == "n1"
    assert bound.metadata.annotations["pv.kubernetes.io/bound-by-controller"] == "yes"
    assert bound.status.capacity == {"storage": "1Gi"}
    pv = storage.core.read_persistent_volume(bound.spec.volume_name)
    assert pv.spec.claim_ref.name == "home" and pv.spec.claim_ref.uid == bound.metadata.uid
    assert pv.spec.persistent_volume_reclaim_policy == "Delete"
    assert pv.status.phase == "Bound" and "kubernetes.io/pv-protection" in pv.metadata.finalizers
    until(lambda: storage.core.read_namespaced_pod("user", ns).spec.node_name == "n1",
               what="the pod bound once its claim was")
    folder = volumes(storage).folder(ns, "home")
    (folder / "notes.txt").write_text("hello")
    assert (volumes(storage).folder(ns, "home") / "notes.txt").read_text() == "hello"


def test_a_pod_on_a_claim_of_an_unknown_class_stays_pending_with_the_real_reason(
        storage: Cluster) -> None:
    ns = storage.namespace
    storage.add_node("n1")
    storage.add_node("n2")
    storage.core.create_namespaced_persistent_volume_claim(ns, claim("data", storage_class="gold"))
    storage.core.create_namespaced_pod(ns, mounting("p", "data"))
    message = ("0/2 nodes are available: pod has unbound immediate PersistentVolumeClaims. "
               "preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.")

    def unschedulable() -> Any:
        conds = storage.core.read_namespaced_pod("p", ns).status.conditions or []
        return next((c for c in conds if c.type == "PodScheduled" and c.status == "False"), None)

    cond = until(unschedulable, what="p unschedulable")
    assert (cond.reason, cond.message) == ("Unschedulable", message)
    failed = until(lambda: [e for e in events(storage, "data")
                                 if e.reason == "ProvisioningFailed"])
    assert failed[0].message == 'storageclass.storage.k8s.io "gold" not found'
    assert failed[0].type == "Warning"
    storage.advance(600)
    assert phase(storage, "data") == "Pending"
    assert not storage.core.read_namespaced_pod("p", ns).spec.node_name


def test_a_claim_in_use_is_kept_by_pvc_protection_until_its_pod_goes(storage: Cluster) -> None:
    ns = storage.namespace
    storage.add_node("n1")
    storage.core.create_namespaced_persistent_volume_claim(ns, claim("home"))
    storage.core.create_namespaced_pod(ns, mounting("user", "home"))
    until(lambda: phase(storage, "home") == "Bound")
    pv_name = storage.core.read_namespaced_persistent_volume_claim("home", ns).spec.volume_name
    folder = volumes(storage).folder(ns, "home")
    storage.core.delete_namespaced_persistent_volume_claim("home", ns)
    storage.advance(300)
    held = storage.core.read_namespaced_persistent_volume_claim("home", ns)
    assert held.metadata.deletion_timestamp is not None
    assert held.metadata.finalizers == ["kubernetes.io/pvc-protection"]
    storage.core.delete_namespaced_pod("user", ns, grace_period_seconds=0)

    def gone(read: Any) -> bool:
        try:
            read()
        except ApiException as err:
            return err.status == 404
        return False

    until(lambda: gone(lambda: storage.core.read_namespaced_persistent_volume_claim(
        "home", ns)), what="home deleted once unused")
    until(lambda: gone(lambda: storage.core.read_persistent_volume(pv_name)),
               what="its PV deleted (reclaimPolicy Delete)")
    until(lambda: not folder.exists(), what="its folder removed")


def test_retain_keeps_the_released_pv_and_its_files(storage: Cluster) -> None:
    ns = storage.namespace
    client.StorageV1Api(storage.api).create_storage_class({
        "metadata": {"name": f"keep-{ns}"}, "provisioner": "hostpath.csi.k8s.io",
        "reclaimPolicy": "Retain", "volumeBindingMode": "Immediate"})
    storage.core.create_namespaced_persistent_volume_claim(ns, claim("kept", "2Gi", f"keep-{ns}"))
    until(lambda: phase(storage, "kept") == "Bound", what="Immediate binding")
    pv_name = storage.core.read_namespaced_persistent_volume_claim("kept", ns).spec.volume_name
    (volumes(storage).folder(ns, "kept") / "thesis.tex").write_text("draft")
    storage.core.delete_namespaced_persistent_volume_claim("kept", ns)
    released = until(lambda: (v := storage.core.read_persistent_volume(pv_name))
                          .status.phase == "Released" and v)
    assert released.spec.persistent_volume_reclaim_policy == "Retain"
    assert (volumes(storage).disk.volume(pv_name) / "thesis.tex").read_text() == "draft"
