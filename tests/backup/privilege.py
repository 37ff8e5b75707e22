"""The backup capability's flows, run as classops's own ServiceAccount for the least-privilege
test (tests/deploy/test_least_privilege.py): `classops snapshot`, `prune --confirm`, `history`,
the PVC finalizer through `serve` (add it; a deleted PVC's last snapshot, content Retain) and
`uninstall-finalizers --confirm`. What is not classops's (the schedule, students' PVCs, the CSI
controller's work, old snapshots) is done as admin."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, time, timedelta
from typing import Any

from kubernetes import client

from shared.backup import naming
from shared.cli.backup_group import (
    cmd_history,
    cmd_prune,
    cmd_snapshot,
    cmd_uninstall_finalizers,
)
from shared.handlers.registry import Registry, on_watch
from shared.runtime.server import Server
from tests.emulator.conftest import Cluster
from tests.runtime.conftest import settings_for
from tests.wait import until as wait_until

from .conftest import SCHEDULE, bound, user_pvc


def _args(cluster: Cluster, api: Any, now: datetime, **more: Any) -> argparse.Namespace:
    return argparse.Namespace(kubeconfig=None, namespace=cluster.namespace, output="table",
                              schedule=None, functions=None, registry=None, api_client=api,
                              now=now, **more)


def snapshots_once(cluster: Cluster, api: Any) -> None:
    import functions.finalizers as finalizers

    core = client.CoreV1Api(cluster.api)
    core.patch_namespaced_config_map("classops-schedule", cluster.namespace,
                                     {"data": {"schedules.yaml": SCHEDULE}})
    cluster.emu.enable_controllers("volumes", "snapshots",
                                   volumes={"binding_mode": "Immediate"})
    claims = [user_pvc(cluster, u)["metadata"]["name"] for u in ("kim", "lee@uni.edu")]
    bound(cluster, *claims)
    now = cluster.emu.clock.now()
    for day in range(1, 11):  # older nightly snapshots for retention to prune
        at = datetime.combine(now.date() - timedelta(days=day), time(3), UTC)
        volume = naming.Volume(claims[0], cluster.namespace, "kim")
        client.CustomObjectsApi(cluster.api).create_namespaced_custom_object(
            "snapshot.storage.k8s.io", "v1", cluster.namespace, "volumesnapshots", {
                "apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshot",
                "metadata": {"name": naming.snapshot_name(volume.claim, "scheduled", at),
                             "labels": naming.labels(volume, "scheduled", "cs101", "f"),
                             "annotations": naming.notes_of(volume, at, "old")},
                "spec": {"source": {"persistentVolumeClaimName": volume.claim}}})
    assert cmd_snapshot(_args(cluster, api, now, reason="manual", user="")) == 0
    assert cmd_prune(_args(cluster, api, now, confirm=True)) == 0
    assert cmd_history(_args(cluster, api, now, user="kim")) == 0

    registry = Registry()
    on_watch(kind="PersistentVolumeClaim", labels={"component": "singleuser-storage"},
             actions=("added", "modified"), registry=registry)(
        finalizers.keep_last_snapshot)
    server = Server.open(settings_for(cluster, identity="backup"), registry, api=api,
                         clock=cluster.emu.clock.now, drain_tick=0.2).start()
    try:
        def finalized(name: str) -> bool:
            pvc = core.read_namespaced_persistent_volume_claim(name, cluster.namespace)
            return naming.FINALIZER in (pvc.metadata.finalizers or [])

        wait_until(lambda: all(finalized(c) for c in claims), timeout=30,
                   what="classops's finalizer on every user PVC")
        core.delete_namespaced_persistent_volume_claim(claims[1], cluster.namespace)

        def gone() -> bool:
            left = core.list_namespaced_persistent_volume_claim(cluster.namespace).items
            return claims[1] not in {p.metadata.name for p in left}

        wait_until(gone, timeout=60, what="the deleted PVC released after its snapshot")
    finally:
        server.stop()
    # The emulator logs a watch when its stream ends: end them, wait for the PVCs' one.
    cluster.emu.cut_watches()
    wait_until(lambda: any(r.verb == "watch" and r.path.endswith("/persistentvolumeclaims")
                           for r in cluster.emu.requests()), timeout=10,
               what="the PVC watch ended")
    assert cmd_uninstall_finalizers(_args(cluster, api, now, confirm=True)) == 0
    assert not finalized(claims[0])
