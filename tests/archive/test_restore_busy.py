"""`classops restore USER --into-home` waits for the student: while their server (spawned by the
real KubeSpawner) runs, or any other pod mounts their PVC, it is refused before anything is
made; once the server is stopped, the same restore goes through."""

from __future__ import annotations

import argparse
import io
from collections.abc import Iterator
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from shared.cli.options import UsageError
from shared.cli.restore_group import cmd_restore
from shared.ports.kube import Kube
from tests.servers.kubehub import KubeHub
from tests.wait import until

from .homes import touch, tree
from .test_copy_jobs import ROOT

AT = "2026-09-14T07:00:00+00:00"


def restore(hub: KubeHub, user: str) -> tuple[int, str]:
    args = argparse.Namespace(user=user, source="snapshot", into=None, into_home=True,
                              wait=300.0, schedule=str(ROOT / "schedules.yaml"),
                              namespace=hub.namespace, kubeconfig=None, functions=None,
                              output="table", api_client=hub.api)
    out = io.StringIO()
    with redirect_stdout(out):
        code = cmd_restore(args)
    return code, out.getvalue()


def made(hub: KubeHub) -> set[tuple[str, str]]:
    """Every PVC and Job of the namespace (what a refused restore must leave as it was)."""
    jobs = client.BatchV1Api(hub.api).list_namespaced_job(hub.namespace).items
    return {("pvc", c.metadata.name) for c in hub.core.list_namespaced_persistent_volume_claim(
        hub.namespace).items} | {("job", j.metadata.name) for j in jobs}


@pytest.fixture
def ada(kube_hub: KubeHub) -> Iterator[tuple[KubeHub, Path]]:
    """ada logged in (her server running on a user node) with a file in her home, and a
    ready snapshot of that home; a node for the restore Jobs outside the user pool."""
    hub = kube_hub
    hub.emu.clock.set_rate(30)  # image pulls and grace periods pass 30x faster than wall time
    hub.add_node("user-1")
    hub.admin.create_user("ada")
    assert hub.admin.start_server("ada", timeout=120)["ready"]
    hub.add_node("core-1", user_pool=False)  # after: ada's server is on user-1
    [claim] = hub.claims()
    home = Path(hub.emu.controller("volumes").folder(hub.namespace, claim.metadata.name))
    touch(home / "lab1.ipynb", b'{"cells": ["tuesday"]}\n')
    name = f"{claim.metadata.name}-scheduled-20260914t0700"
    Kube(hub.api).create({
        "apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshot",
        "metadata": {"name": name, "namespace": hub.namespace,
                     "annotations": {"hub.jupyter.org/username": "ada", "classops.edu/at": AT}},
        "spec": {"source": {"persistentVolumeClaimName": claim.metadata.name}}})
    until(lambda: (Kube(hub.api).get("snapshot.storage.k8s.io/v1", "VolumeSnapshot", name,
                                     hub.namespace) or _None()).status.get("readyToUse"),
          timeout=120, what=f"snapshot {name} ready")
    yield hub, home


class _None:
    status: dict[str, Any] = {}


def test_a_restore_into_a_live_home_waits_until_nothing_mounts_it(
        ada: tuple[KubeHub, Path]) -> None:
    hub, home = ada
    snapshot = tree(home)
    before = made(hub)
    with pytest.raises(UsageError) as refused:
        restore(hub, "ada")
    said = str(refused.value)
    assert "pod jupyter-ada (ada's server, Running on node user-1)" in said, said
    assert "Stop Server" in said and "--into NEW-PVC" in said and "nothing was created" in said
    assert made(hub) == before

    hub.admin.stop_server("ada", timeout=120)
    until(lambda: not hub.pods(), timeout=120, what="ada's pod deleted")
    # a pod other than her server that mounts the home (someone's debug pod) counts too
    [claim] = hub.claims()
    hub.core.create_namespaced_pod(hub.namespace, {
        "metadata": {"name": "debug-ada"},
        "spec": {"containers": [{"name": "sh", "image": "busybox:1.36"}],
                 "volumes": [{"name": "home", "persistentVolumeClaim": {
                     "claimName": claim.metadata.name}}]}})
    with pytest.raises(UsageError, match=f"pod debug-ada \\(mounts pvc {claim.metadata.name}"):
        restore(hub, "ada")
    assert made(hub) == before
    hub.core.delete_namespaced_pod("debug-ada", hub.namespace, grace_period_seconds=0)
    until(lambda: "debug-ada" not in {p.metadata.name for p in hub.core.list_namespaced_pod(
        hub.namespace).items}, timeout=120, what="the debug pod gone")

    code, said = restore(hub, "ada")
    assert code == 0, said
    assert tree(home / "restored" / "2026-09-14T0700") == snapshot
