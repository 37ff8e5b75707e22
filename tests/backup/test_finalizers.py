"""classops's finalizer on user PVCs, with `serve` running: a deleted PVC gets its last snapshot
(content Retain) before it goes; a snapshot that cannot be made releases it anyway, loudly;
`classops status` lists PVCs waiting while classops is away; `uninstall-finalizers` releases
them only with `--confirm`."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from kubernetes import client

from shared.backup import naming
from shared.cli.backup_group import cmd_uninstall_finalizers
from shared.cli.inspection_group import cmd_status
from shared.handlers.registry import load
from shared.runtime.server import Server
from tests.conftest import Kube
from tests.runtime.conftest import settings_for
from tests.wait import until as wait_until

from .conftest import GROUP, VERSION, bound, course, fail_snapshots, user_pvc
from .test_snapshots import snapshots


@pytest.fixture
def serve(storage: Kube) -> Iterator[Server]:
    server = Server.open(settings_for(storage, final_snapshot_bound=120.0, snapshot_timeout=120.0),
                         load("functions"), api=storage.emu.api_client(),
                         clock=lambda: datetime.now(UTC), drain_tick=0.2).start()
    wait_until(lambda: server.elector.leading, timeout=30, what="the Lease taken")
    yield server
    if not server._stopping:
        server.stop()


def pvc(kube: Kube, name: str) -> Any:
    try:
        return client.CoreV1Api(kube.api).read_namespaced_persistent_volume_claim(
            name, kube.namespace)
    except client.ApiException as err:
        if err.status == 404:
            return None
        raise


def finalized(kube: Kube, name: str) -> bool:
    found = pvc(kube, name)
    return found is not None and naming.FINALIZER in (found.metadata.finalizers or [])


def test_a_deleted_pvc_keeps_its_files_in_a_last_snapshot(
        storage: Kube, serve: Server) -> None:
    kube = storage
    course(kube)
    claim = user_pvc(kube, "gina@uni.edu", "lab")["metadata"]["name"]
    bound(kube, claim)
    volumes = kube.emu.controller("volumes")
    (volumes.folder(kube.namespace, claim) / "thesis.ipynb").write_text("{\"cells\": []}")
    wait_until(lambda: finalized(kube, claim), timeout=60, what="classops's finalizer added")
    client.CoreV1Api(kube.api).delete_namespaced_persistent_volume_claim(claim, kube.namespace)
    wait_until(lambda: pvc(kube, claim) is None, timeout=120, what="the PVC released and gone")

    [last] = snapshots(kube)
    assert last["metadata"]["labels"][naming.REASON] == "final"
    assert last["metadata"]["annotations"][naming.USERNAME] == "gina@uni.edu"
    assert last["metadata"]["annotations"][naming.SERVERNAME] == "lab"
    assert last["status"]["readyToUse"] is True
    content = client.CustomObjectsApi(kube.api).get_cluster_custom_object(
        GROUP, VERSION, "volumesnapshotcontents", last["status"]["boundVolumeSnapshotContentName"])
    assert content["spec"]["deletionPolicy"] == "Retain"
    # the content names its owner: after term, teardown finds it when the snapshot is gone
    notes = content["metadata"]["annotations"]
    assert (notes[naming.USERNAME], notes[naming.SERVERNAME]) == ("gina@uni.edu", "lab")
    assert notes["classops.edu/snapshot"] == f"{kube.namespace}/{last['metadata']['name']}"
    assert content["metadata"]["labels"][naming.REASON] == "final"
    copy = kube.emu.controller("snapshots").folder(kube.namespace, last["metadata"]["name"])
    assert (copy / "thesis.ipynb").read_text() == "{\"cells\": []}"
    summary = json.loads(client.CoreV1Api(kube.api).read_namespaced_config_map(
        "classops-ledger-fall-2026", kube.namespace).data["summary.json"])
    assert summary["users"]["gina@uni.edu"]["snapshot"]["ref"] == last["metadata"]["name"]


def test_a_pvc_whose_last_snapshot_fails_is_released_loudly(
        storage: Kube, serve: Server) -> None:
    kube = storage
    course(kube)
    claim = user_pvc(kube, "hank")["metadata"]["name"]
    fail_snapshots(kube, claim)
    wait_until(lambda: finalized(kube, claim), timeout=60, what="classops's finalizer added")
    client.CoreV1Api(kube.api).delete_namespaced_persistent_volume_claim(claim, kube.namespace)
    wait_until(lambda: pvc(kube, claim) is None, timeout=120, what="the PVC released anyway")
    events = client.EventsV1Api(kube.api).list_namespaced_event(kube.namespace).items
    [warning] = [e for e in events if e.type == "Warning"
                 and e.reporting_controller == "classops.edu/executor"]
    assert warning.regarding.name == claim
    assert "WITHOUT a last snapshot" in warning.note
    assert serve.metrics.value("classops_actions_total", action="FinalSnapshot",
                               outcome="failed") >= 1
    summary = json.loads(client.CoreV1Api(kube.api).read_namespaced_config_map(
        "classops-ledger-fall-2026", kube.namespace).data["summary.json"])
    assert "WITHOUT" in summary["users"]["hank"]["failed"]["detail"]


def uninstall(kube: Kube, confirm: bool) -> int:
    return cmd_uninstall_finalizers(argparse.Namespace(
        kubeconfig=None, namespace=kube.namespace, output="table", schedule=None,
        functions=None, confirm=confirm, registry=None, api_client=kube.emu.api_client()))


def test_status_shows_pvcs_waiting_and_uninstall_needs_confirm(
        storage: Kube, capsys: pytest.CaptureFixture[str], serve: Server) -> None:
    kube = storage
    course(kube)
    claims = [user_pvc(kube, u)["metadata"]["name"] for u in ("ida", "jo")]
    for claim in claims:
        wait_until(lambda c=claim: finalized(kube, c), timeout=60, what="finalizer added")
    serve.stop()  # classops is away
    client.CoreV1Api(kube.api).delete_namespaced_persistent_volume_claim(claims[0],
                                                                         kube.namespace)
    assert cmd_status(argparse.Namespace(
        kubeconfig=None, namespace=kube.namespace, output="table", schedule="/nonexistent",
        api_client=kube.api, hub=None)) == 0
    out = capsys.readouterr().out
    assert "PVCs waiting on classops: 1" in out and f"{claims[0]} (ida)" in out
    assert "without a snapshot: 1" in out  # jo has a PVC and no snapshot recorded

    assert uninstall(kube, confirm=False) == 0
    assert "would remove classops.edu/last-snapshot from 2 PVCs" in capsys.readouterr().err
    assert all(finalized(kube, c) for c in claims), "a dry run removed a finalizer"
    assert uninstall(kube, confirm=True) == 0
    assert pvc(kube, claims[0]) is None  # released: its deletion completes
    assert not finalized(kube, claims[1])
