"""CSI snapshots on the living cluster: real copies, restores, failures, deletion policies."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from tests.kubeemu.controllers import Snapshots, Volumes
from tests.kubeemu.remote import RemoteControl
from tests.wait import until

from .conftest import Cluster
from .test_cluster_volumes import claim, events, phase

GROUP, VERSION = "snapshot.storage.k8s.io", "v1"


@pytest.fixture
def storage(cluster: Cluster) -> Cluster:
    cluster.emu.enable_controllers("volumes", "snapshots", volumes={"binding_mode": "Immediate",
                                                                    "default_class": "fast"},
                                   snapshots={"ready_seconds": 30})
    return cluster


def custom(cluster: Cluster) -> client.CustomObjectsApi:
    return client.CustomObjectsApi(cluster.api)


def snapshot(cluster: Cluster, name: str, claim_name: str, cls: str | None = None) -> None:
    spec: dict[str, Any] = {"source": {"persistentVolumeClaimName": claim_name}}
    if cls:
        spec["volumeSnapshotClassName"] = cls
    custom(cluster).create_namespaced_custom_object(
        GROUP, VERSION, cluster.namespace, "volumesnapshots",
        {"apiVersion": f"{GROUP}/{VERSION}", "kind": "VolumeSnapshot",
         "metadata": {"name": name}, "spec": spec})


def read(cluster: Cluster, name: str) -> Any:
    return custom(cluster).get_namespaced_custom_object(GROUP, VERSION, cluster.namespace,
                                                        "volumesnapshots", name)


def content(cluster: Cluster, name: str) -> Any:
    return custom(cluster).get_cluster_custom_object(GROUP, VERSION, "volumesnapshotcontents",
                                                     name)


def missing(call: Any) -> bool:
    try:
        call()
    except ApiException as err:
        return err.status == 404
    return False


def bound_claim(cluster: Cluster, name: str, files: dict[str, str]) -> Volumes:
    cluster.core.create_namespaced_persistent_volume_claim(cluster.namespace, claim(name))
    until(lambda: phase(cluster, name) == "Bound", what=f"{name} bound")
    vols: Volumes = cluster.emu.controller("volumes")
    for path, text in files.items():
        target = vols.folder(cluster.namespace, name) / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    return vols


def test_a_snapshot_restored_into_a_new_claim_has_the_files_of_its_moment(
        storage: Cluster) -> None:
    ns = storage.namespace
    vols = bound_claim(storage, "home", {"a.txt": "before", "sub/b.txt": "nested"})
    snapshot(storage, "snap", "home")
    taken = until(lambda: (s := read(storage, "snap")).get("status", {}).get(
        "boundVolumeSnapshotContentName") and s, what="snap bound to a content")
    assert taken["spec"]["volumeSnapshotClassName"] == "csi-hostpath-snapclass"
    assert taken["status"]["readyToUse"] is False
    assert set(taken["metadata"]["finalizers"]) == {
        "snapshot.storage.kubernetes.io/volumesnapshot-as-source-protection",
        "snapshot.storage.kubernetes.io/volumesnapshot-bound-protection"}
    (vols.folder(ns, "home") / "a.txt").write_text("after")  # the copy was cut already
    storage.core.create_namespaced_persistent_volume_claim(ns, claim(
        "restored", data_source={"kind": "VolumeSnapshot", "apiGroup": GROUP, "name": "snap"}))
    until(lambda: [e for e in events(storage, "restored")
                        if e.reason == "ProvisioningFailed"])
    assert phase(storage, "restored") == "Pending"
    held = storage.core.read_namespaced_persistent_volume_claim("home", ns).metadata.finalizers
    assert "snapshot.storage.kubernetes.io/pvc-as-source-protection" in held
    storage.advance(30)
    ready = until(lambda: (s := read(storage, "snap"))["status"]["readyToUse"] and s,
                       what="snap ready after 30 s on the clock")
    assert ready["status"]["restoreSize"] == "1Gi"
    bound = content(storage, ready["status"]["boundVolumeSnapshotContentName"])
    assert bound["spec"]["volumeSnapshotRef"]["uid"] == ready["metadata"]["uid"]
    assert bound["status"]["readyToUse"] and bound["status"]["snapshotHandle"]
    assert bound["status"]["restoreSize"] == 2**30
    until(lambda: phase(storage, "restored") == "Bound", what="restored bound")
    copy = vols.folder(ns, "restored")
    remote = RemoteControl(storage.emu.url)
    assert remote.volume_folder(ns, "restored") == str(copy)
    assert (Path(remote.snapshot_folder(ns, "snap")) / "a.txt").read_text() == "before"
    assert (copy / "a.txt").read_text() == "before"
    assert (copy / "sub" / "b.txt").read_text() == "nested"


def test_a_pvc_from_a_missing_snapshot_stays_pending_with_the_provisioners_reason(
        storage: Cluster) -> None:
    storage.core.create_namespaced_persistent_volume_claim(storage.namespace, claim(
        "orphan", data_source={"kind": "VolumeSnapshot", "apiGroup": GROUP, "name": "nope"}))
    failed = until(lambda: [e for e in events(storage, "orphan")
                                 if e.reason == "ProvisioningFailed"])
    assert failed[0].message == (
        'failed to provision volume with StorageClass "fast": error getting handle for '
        "DataSource Type VolumeSnapshot by Name nope: error getting snapshot nope from api "
        'server: volumesnapshots.snapshot.storage.k8s.io "nope" not found')
    assert phase(storage, "orphan") == "Pending"


def test_an_injected_failure_is_reported_in_status_error(storage: Cluster) -> None:
    bound_claim(storage, "home", {"a.txt": "x"})
    snaps: Snapshots = storage.emu.controller("snapshots")
    RemoteControl(storage.emu.url).fail_snapshot(storage.namespace, claim="home",
                                                 message="disk on fire")
    snapshot(storage, "broken", "home")
    failed = until(lambda: (s := read(storage, "broken")).get("status", {}).get("error")
                        and s, what="status.error")
    assert failed["status"]["error"]["message"] == "disk on fire"
    assert failed["status"]["error"]["time"]
    assert failed["status"]["readyToUse"] is False
    storage.advance(3600)
    assert read(storage, "broken")["status"]["readyToUse"] is False
    with pytest.raises(KeyError):
        snaps.folder(storage.namespace, "broken")


def test_deletion_policy_delete_removes_the_content_and_retain_keeps_the_copy(
        storage: Cluster) -> None:
    custom(storage).create_cluster_custom_object(GROUP, VERSION, "volumesnapshotclasses", {
        "apiVersion": f"{GROUP}/{VERSION}", "kind": "VolumeSnapshotClass",
        "metadata": {"name": f"keep-{storage.namespace}"}, "driver": "hostpath.csi.k8s.io",
        "deletionPolicy": "Retain"})
    bound_claim(storage, "home", {"a.txt": "kept"})
    snapshot(storage, "gone", "home")
    snapshot(storage, "kept", "home", cls=f"keep-{storage.namespace}")
    for name in ("gone", "kept"):
        until(lambda n=name: read(storage, n).get("status", {}).get(
            "boundVolumeSnapshotContentName"), what=f"{name} taken")
    storage.advance(30)
    snaps: Snapshots = storage.emu.controller("snapshots")
    for name in ("gone", "kept"):
        until(lambda n=name: read(storage, n).get("status", {}).get("readyToUse"),
                   what=f"{name} ready")
    names = {n: read(storage, n)["status"]["boundVolumeSnapshotContentName"]
             for n in ("gone", "kept")}
    copies = {n: snaps.folder(storage.namespace, n) for n in names}
    assert "snapshot.storage.kubernetes.io/volumesnapshot-bound-protection" not in read(
        storage, "kept")["metadata"]["finalizers"]
    for name in names:
        custom(storage).delete_namespaced_custom_object(GROUP, VERSION, storage.namespace,
                                                        "volumesnapshots", name)
    for name in names:
        until(lambda n=name: missing(lambda: read(storage, n)),
                   what=f"{name} deleted")
    until(lambda: missing(lambda: content(storage, names["gone"])),
               what="the Delete content deleted")
    until(lambda: not copies["gone"].exists(), what="its copy removed")
    kept = content(storage, names["kept"])
    assert kept["spec"]["deletionPolicy"] == "Retain" and kept["status"]["readyToUse"]
    assert (copies["kept"] / "a.txt").read_text() == "kept"


def test_a_retained_content_deleted_as_is_keeps_its_copy_and_set_to_delete_loses_it(
        storage: Cluster) -> None:
    """As external-snapshotter's sidecar does: deleting a `Retain` content leaves the stored
    snapshot (it deletes storage only for `Delete` contents), so one who wants the storage
    gone sets the policy to `Delete` first; an orphaned `Delete` content is deleted by the
    controller itself, with its copy."""
    ns = storage.namespace
    custom(storage).create_cluster_custom_object(GROUP, VERSION, "volumesnapshotclasses", {
        "apiVersion": f"{GROUP}/{VERSION}", "kind": "VolumeSnapshotClass",
        "metadata": {"name": f"keep-{ns}"}, "driver": "hostpath.csi.k8s.io",
        "deletionPolicy": "Retain"})
    bound_claim(storage, "home", {"a.txt": "kept"})
    names = ("as-is", "patched", "orphaned")
    for name in names:
        snapshot(storage, name, "home", cls=f"keep-{ns}")
    for name in names:
        until(lambda n=name: read(storage, n).get("status", {}).get(
            "boundVolumeSnapshotContentName"), what=f"{name} taken")
    storage.advance(30)
    snaps: Snapshots = storage.emu.controller("snapshots")
    for name in names:
        until(lambda n=name: read(storage, n).get("status", {}).get("readyToUse"),
              what=f"{name} ready")
    contents = {n: read(storage, n)["status"]["boundVolumeSnapshotContentName"] for n in names}
    copies = {n: snaps.folder(ns, n) for n in names}
    for name in names:
        custom(storage).delete_namespaced_custom_object(GROUP, VERSION, ns, "volumesnapshots",
                                                        name)
    for name in names:
        until(lambda n=name: missing(lambda: read(storage, n)), what=f"{name} deleted")
    assert all(copies[n].exists() for n in names)  # Retain: contents and copies stay

    def delete_content(name: str) -> None:  # gone already: the controller was first
        missing(lambda: custom(storage).delete_cluster_custom_object(
            GROUP, VERSION, "volumesnapshotcontents", name))

    def retire(name: str) -> None:
        custom(storage).patch_cluster_custom_object(GROUP, VERSION, "volumesnapshotcontents",
                                                    name, {"spec": {"deletionPolicy": "Delete"}})

    delete_content(contents["as-is"])
    retire(contents["patched"])
    delete_content(contents["patched"])
    retire(contents["orphaned"])  # nobody deletes it: the controller does
    for name in names:
        until(lambda n=name: missing(lambda: content(storage, contents[n])),
              what=f"the {name} content deleted")
    until(lambda: not copies["patched"].exists() and not copies["orphaned"].exists(),
          what="the copies of the contents set to Delete removed")
    assert (copies["as-is"] / "a.txt").read_text() == "kept"  # storage outlives the object


def test_a_restore_smaller_than_the_snapshot_waits_and_a_clone_copies_a_claim(
        storage: Cluster) -> None:
    ns = storage.namespace
    vols = bound_claim(storage, "big", {"data.csv": "1,2,3"})
    snapshot(storage, "snap", "big")
    until(lambda: read(storage, "snap").get("status", {}).get("boundVolumeSnapshotContentName"),
          what="snap taken")
    storage.advance(30)
    until(lambda: read(storage, "snap")["status"]["readyToUse"], what="snap ready")
    storage.core.create_namespaced_persistent_volume_claim(ns, claim(
        "small", "512Mi", data_source={"kind": "VolumeSnapshot", "apiGroup": GROUP,
                                       "name": "snap"}))
    failed = until(lambda: [e for e in events(storage, "small")
                            if e.reason == "ProvisioningFailed"])
    assert failed[0].message == (
        'failed to provision volume with StorageClass "fast": requested volume size 536870912 '
        "is less than the size 1073741824 for the source snapshot snap")
    assert phase(storage, "small") == "Pending"
    storage.core.create_namespaced_persistent_volume_claim(ns, claim(
        "twin", data_source={"kind": "PersistentVolumeClaim", "name": "big"}))
    until(lambda: phase(storage, "twin") == "Bound", what="the clone bound")
    assert (vols.folder(ns, "twin") / "data.csv").read_text() == "1,2,3"
    pv = storage.core.read_persistent_volume(
        storage.core.read_namespaced_persistent_volume_claim("twin", ns).spec.volume_name)
    assert pv.status.last_phase_transition_time is not None
