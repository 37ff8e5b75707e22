"""What the backup tests stand on: a course namespace (its `classops-schedule` ConfigMap), user
PVCs as KubeSpawner makes them (labels, raw-name annotations), and a snapshot controller.

`StandInSnapshotter` plays the CSI snapshot controller until the emulator has its own (issue
"Test bed 4"): a thread that watches the namespace's VolumeSnapshots through the API and marks
each one ready (status subresource, a VolumeSnapshotContent bound to it), or failed for the
claims in `fail`. It copies no files; the restore test waits for the emulator's controller.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from shared.backup import naming
from shared.backup.slugs import safe_slug
from tests.conftest import Kube

REPO = Path(__file__).resolve().parents[2]
SCHEDULE = (REPO / "schedules.yaml").read_text()
GROUP, VERSION = "snapshot.storage.k8s.io", "v1"


def course(kube: Kube) -> None:
    client.CoreV1Api(kube.api).create_namespaced_config_map(kube.namespace, {
        "metadata": {"name": "classops-schedule"}, "data": {"schedules.yaml": SCHEDULE}})


def user_pvc(kube: Kube, user: str, server: str = "", bound: bool = True,
             name: str | None = None) -> dict[str, Any]:
    """A PVC as KubeSpawner 7 makes it: `claim-<slug>[--<server slug>]`, the slug labels and
    the raw names in annotations."""
    claim = name or ("claim-" + safe_slug(user, label=False)
                     + (f"--{safe_slug(server, label=False)}" if server else ""))
    notes = {naming.USERNAME: user, **({naming.SERVERNAME: server} if server else {})}
    body = {"metadata": {"name": claim, "labels": {
        "component": "singleuser-storage", "app": "jupyterhub",
        naming.USERNAME: safe_slug(user)}, "annotations": notes},
        "spec": {"accessModes": ["ReadWriteOnce"],
                 "resources": {"requests": {"storage": "1Gi"}}}}
    core = client.CoreV1Api(kube.api)
    made = core.create_namespaced_persistent_volume_claim(kube.namespace, body)
    if bound:
        core.patch_namespaced_persistent_volume_claim_status(claim, kube.namespace, {
            "status": {"phase": "Bound", "capacity": {"storage": "1Gi"}}})
    return dict(made.to_dict())


class StandInSnapshotter:
    def __init__(self, kube: Kube) -> None:
        self.kube, self.fail = kube, set[str]()
        self.custom = client.CustomObjectsApi(kube.emu.api_client())
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True, name="stand-in-csi")

    def _run(self) -> None:
        while not self.stop.wait(0.05):
            try:
                self._sweep()
            except client.ApiException:
                continue

    def _sweep(self) -> None:
        found = self.custom.list_namespaced_custom_object(GROUP, VERSION, self.kube.namespace,
                                                          "volumesnapshots")
        for vs in found["items"]:
            status = vs.get("status") or {}
            if status.get("readyToUse") or status.get("error"):
                continue
            meta, claim = vs["metadata"], vs["spec"]["source"]["persistentVolumeClaimName"]
            now = self.kube.emu.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")
            if claim in self.fail:
                patch = {"status": {"readyToUse": False, "error": {
                    "message": f"stand-in CSI driver: cannot snapshot {claim}", "time": now}}}
            else:
                content = f"snapcontent-{meta['uid']}"
                try:
                    self.custom.create_cluster_custom_object(GROUP, VERSION,
                                                             "volumesnapshotcontents", {
                        "apiVersion": f"{GROUP}/{VERSION}", "kind": "VolumeSnapshotContent",
                        "metadata": {"name": content},
                        "spec": {"deletionPolicy": "Delete", "driver": "hostpath.csi.k8s.io",
                                 "source": {"volumeHandle": f"vol-{claim}"},
                                 "volumeSnapshotRef": {"name": meta["name"],
                                                       "namespace": meta["namespace"],
                                                       "uid": meta["uid"]}}})
                except client.ApiException as err:
                    if err.status != 409:
                        raise
                patch = {"status": {"readyToUse": True, "creationTime": now,
                                    "boundVolumeSnapshotContentName": content,
                                    "restoreSize": "1Gi"}}
            self.custom.patch_namespaced_custom_object_status(
                GROUP, VERSION, meta["namespace"], "volumesnapshots", meta["name"], patch)


@pytest.fixture
def snapshotter(kube: Kube) -> Iterator[StandInSnapshotter]:
    stand_in = StandInSnapshotter(kube)
    stand_in.thread.start()
    yield stand_in
    stand_in.stop.set()
    stand_in.thread.join(timeout=10)
