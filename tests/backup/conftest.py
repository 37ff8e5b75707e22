"""What the backup tests stand on: a course namespace (its `classops-schedule` ConfigMap), user
PVCs as KubeSpawner makes them (labels, raw-name annotations), and `storage`: an emulator of the
test's own with the volumes controller (claims bound at once, PVs are folders) and the CSI
snapshots controller (snapshots copy the folder, ready at once on the emulated clock, failures
injected with `fail_snapshots`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from shared.backup import naming
from shared.backup.slugs import safe_slug
from tests.conftest import Kube, new_kube
from tests.kubeemu import Emulator
from tests.wait import until

REPO = Path(__file__).resolve().parents[2]
SCHEDULE = (REPO / "schedules.yaml").read_text()
GROUP, VERSION = "snapshot.storage.k8s.io", "v1"


def course(kube: Kube) -> None:
    client.CoreV1Api(kube.api).create_namespaced_config_map(kube.namespace, {
        "metadata": {"name": "classops-schedule"}, "data": {"schedules.yaml": SCHEDULE}})


def user_pvc(kube: Kube, user: str, server: str = "", name: str | None = None,
             storage_class: str | None = None) -> dict[str, Any]:
    """A PVC as KubeSpawner 7 makes it: `claim-<slug>[--<server slug>]`, the slug labels and
    the raw names in annotations."""
    claim = name or ("claim-" + safe_slug(user, label=False)
                     + (f"--{safe_slug(server, label=False)}" if server else ""))
    notes = {naming.USERNAME: user, **({naming.SERVERNAME: server} if server else {})}
    body = {"metadata": {"name": claim, "labels": {
        "component": "singleuser-storage", "app": "jupyterhub",
        naming.USERNAME: safe_slug(user)}, "annotations": notes},
        "spec": {"accessModes": ["ReadWriteOnce"],
                 "resources": {"requests": {"storage": "1Gi"}},
                 **({"storageClassName": storage_class} if storage_class else {})}}
    made = client.CoreV1Api(kube.api).create_namespaced_persistent_volume_claim(
        kube.namespace, body)
    return dict(made.to_dict())


def bound(kube: Kube, *claims: str) -> None:
    core = client.CoreV1Api(kube.api)

    def all_bound() -> bool:
        found = {p.metadata.name: p.status.phase for p in
                 core.list_namespaced_persistent_volume_claim(kube.namespace).items}
        return all(found.get(c) == "Bound" for c in claims)

    until(all_bound, timeout=120, what=f"{len(claims)} claims bound")


def fail_snapshots(kube: Kube, claim: str) -> None:
    """Every snapshot of `claim` fails, as a CSI driver's error would make it."""
    kube.emu.controller("snapshots").fail(kube.namespace, claim=claim,
                                          message=f"injected: cannot snapshot {claim}")


@pytest.fixture
def storage(tmp_path: Path) -> Iterator[Kube]:
    """An emulator of the test's own with PVs as folders and CSI snapshots."""
    emu = Emulator(controllers=("volumes", "snapshots"), bookmark_interval=0.3,
                   controller_options={"volumes": {"binding_mode": "Immediate"}}).start()
    k = new_kube(emu, tmp_path)
    yield k
    k.api.close()
    emu.stop()
