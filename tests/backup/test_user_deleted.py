"""A student deleted through the hub keeps their files: KubeSpawner's `delete_forever` deletes
the PVC, classops's finalizer holds it until the last snapshot is ready (content Retain), and that
snapshot restores into a new PVC with the same files. Real KubeSpawner students against the
emulator's volumes and snapshots controllers; `serve` runs the functions package."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client

from shared.backup import naming
from shared.handlers.registry import load
from shared.runtime.server import Server
from tests.runtime.conftest import settings_for
from tests.servers.kubehub import KubeHub
from tests.wait import until

from .conftest import GROUP, SCHEDULE, VERSION

EMAIL = "dana.lee@uni.edu"


def digests(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def classops(kube_hub: KubeHub) -> Iterator[Server]:
    hub = kube_hub
    hub.core.create_namespaced_config_map(hub.namespace, {
        "metadata": {"name": "classops-schedule"}, "data": {"schedules.yaml": SCHEDULE}})
    kube = type("K", (), {"namespace": hub.namespace})()
    server = Server.open(settings_for(kube, final_snapshot_bound=900.0, snapshot_timeout=900.0),
                         load("functions"), api=hub.emu.api_client(), clock=hub.emu.clock.now,
                         drain_tick=0.2).start()
    until(lambda: server.elector.leading, timeout=30, what="classops leading")
    yield server
    server.stop()


def test_a_student_deleted_through_the_hub_restores_from_the_last_snapshot(
        kube_hub: KubeHub, classops: Server) -> None:
    hub = kube_hub
    hub.emu.clock.set_rate(30)
    hub.add_node("user-1")
    hub.admin.create_user(EMAIL)
    state = hub.admin.start_server(EMAIL, timeout=120)["state"]
    claim = state["pvc_name"]
    until(lambda: any(c.metadata.name == claim and c.status.phase == "Bound"
                      and naming.FINALIZER in (c.metadata.finalizers or [])
                      for c in hub.claims()), timeout=120,
          what="the student's claim bound, with classops's finalizer")
    home = hub.emu.controller("volumes").folder(hub.namespace, claim)
    (home / "hw1").mkdir(exist_ok=True)
    (home / "hw1" / "answer.py").write_text("print('42')\n")
    (home / "notes.md").write_bytes(bytes(range(256)) * 64)
    before = digests(home)

    hub.admin.delete_user(EMAIL)  # the hub stops the server; KubeSpawner.delete_forever
    until(lambda: claim not in {c.metadata.name for c in hub.claims()}, timeout=180,
          what="the claim released after its last snapshot, and gone")

    custom = client.CustomObjectsApi(hub.api)
    finals = [s for s in custom.list_namespaced_custom_object(
        GROUP, VERSION, hub.namespace, "volumesnapshots",
        label_selector=f"{naming.REASON}=final,{naming.user_selector(EMAIL)}")["items"]]
    [last] = finals
    assert last["metadata"]["annotations"][naming.USERNAME] == EMAIL
    assert last["status"]["readyToUse"] is True
    content = custom.get_cluster_custom_object(GROUP, VERSION, "volumesnapshotcontents",
                                               last["status"]["boundVolumeSnapshotContentName"])
    assert content["spec"]["deletionPolicy"] == "Retain"

    restored = "restored-" + claim[:40]
    hub.core.create_namespaced_persistent_volume_claim(hub.namespace, {
        "metadata": {"name": restored},
        "spec": {"accessModes": ["ReadWriteOnce"],
                 "resources": {"requests": {"storage": last["status"]["restoreSize"]}},
                 "dataSource": {"apiGroup": GROUP, "kind": "VolumeSnapshot",
                                "name": last["metadata"]["name"]}}})
    # WaitForFirstConsumer: a pod mounting it makes it bind (as a restore Job's would).
    hub.core.create_namespaced_pod(hub.namespace, {
        "metadata": {"name": "restore-reader"},
        "spec": {"containers": [{"name": "c", "image": "busybox",
                                 "volumeMounts": [{"name": "home", "mountPath": "/home"}]}],
                 "volumes": [{"name": "home", "persistentVolumeClaim": {"claimName": restored}}],
                 "tolerations": [{"operator": "Exists"}]}})
    until(lambda: hub.core.read_namespaced_persistent_volume_claim(
        restored, hub.namespace).status.phase == "Bound", timeout=180,
        what="the restored claim bound")
    after = digests(hub.emu.controller("volumes").folder(hub.namespace, restored))
    assert after == before
