"""`classops snapshot` on the emulator: every student's PVC, one snapshot each, O(1) requests per
PVC, a failure that leaves the others done and the exit code 1, every outcome in the ledger."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from shared.backup import naming
from shared.backup.inventory import held
from shared.cli.backup_group import cmd_snapshot
from shared.cli.main import main
from tests.conftest import Kube
from tests.servers.fixtures import S3Bucket
from tests.wait import until as wait_until

from .conftest import GROUP, VERSION, bound, course, fail_snapshots, user_pvc


def s3_env(monkeypatch: pytest.MonkeyPatch, s3: S3Bucket) -> None:
    e = s3.endpoint
    for name, value in {"CLASSOPS_S3_ENDPOINT": e.endpoint_url, "CLASSOPS_S3_BUCKET": s3.name,
                        "CLASSOPS_S3_REGION": e.region, "AWS_ACCESS_KEY_ID": e.access_key,
                        "AWS_SECRET_ACCESS_KEY": e.secret_key}.items():
        monkeypatch.setenv(name, value)


def snapshots(kube: Kube) -> list[dict[str, Any]]:
    custom = client.CustomObjectsApi(kube.api)
    items: list[dict[str, Any]] = custom.list_namespaced_custom_object(
        GROUP, VERSION, kube.namespace, "volumesnapshots")["items"]
    return items


def cli(kube: Kube, *args: str) -> int:
    return main([*args, "--kubeconfig", str(kube.kubeconfig), "--namespace", kube.namespace])


def test_every_student_is_snapshotted_and_one_failure_fails_the_run(
        storage: Kube, s3: S3Bucket,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    kube = storage
    s3_env(monkeypatch, s3)
    monkeypatch.setenv("CLASSOPS_SNAPSHOT_WORKERS", "16")
    course(kube)
    users = [f"student-{i:03d}" for i in range(297)] + ["Alice.Smith@uni.edu"]
    claims = {user_pvc(kube, u)["metadata"]["name"]: (u, "") for u in users}
    claims |= {user_pvc(kube, "bob")["metadata"]["name"]: ("bob", "")}
    claims |= {user_pvc(kube, "bob", "Lab 2")["metadata"]["name"]: ("bob", "Lab 2")}
    assert len(claims) == 300
    # not a student's: no username annotation; and one not bound yet (no data to snapshot)
    client.CoreV1Api(kube.api).create_namespaced_persistent_volume_claim(kube.namespace, {
        "metadata": {"name": "claim-mallory", "labels": {"component": "singleuser-storage"}},
        "spec": {"accessModes": ["ReadWriteOnce"],
                 "resources": {"requests": {"storage": "1Gi"}}}})
    user_pvc(kube, "late-student", storage_class="gold")  # never bound: no data to snapshot
    bound(kube, *claims)
    broken = next(c for c, (u, _) in claims.items() if u == "student-007")
    fail_snapshots(kube, broken)
    kube.emu.clear_requests()

    code = cli(kube, "snapshot")
    out, err = capsys.readouterr()
    assert code == 1, err
    assert "299 of 300 snapshots ready, 1 FAILED" in err

    # O(1) requests per PVC: the list's pages, then per PVC one POST, one watch, one Event.
    # The emulator logs a watch when its stream ends (classops closes it once ready).
    def logged() -> list[Any]:
        found = [r for r in kube.emu.requests() if f"/namespaces/{kube.namespace}/" in r.path]
        return found if sum(r.verb == "watch" for r in found) >= len(claims) else []

    mine = wait_until(logged, timeout=60, what="every snapshot's watch ended")
    per_pvc = len(mine) / len(claims)
    print(f"{len(mine)} requests for {len(claims)} PVCs: {per_pvc:.2f} per PVC")
    assert per_pvc <= 3.2, sorted({(r.verb, r.path.rsplit('/', 2)[-2]) for r in mine})
    watches = [r for r in mine if r.verb == "watch"]
    assert len(watches) == len(claims) and all("fieldSelector" in r.query for r in watches)

    taken = {s["spec"]["source"]["persistentVolumeClaimName"]: s for s in snapshots(kube)}
    assert set(taken) == set(claims)  # one each, none of the others
    for claim, s in taken.items():
        h = held(s)
        assert h is not None and (h.user, h.server) == claims[claim]
        assert h.ready == (claim != broken) and h.reason == "manual"
        assert s["metadata"]["labels"][naming.TERM] == "fall-2026"
        assert s["metadata"]["name"].startswith(f"{claim}-manual-")
    failed_line = next(line for line in out.splitlines() if line.startswith("failed"))
    assert "student-007" in failed_line and "injected: cannot snapshot" in failed_line

    # A Warning Event from classops on the PVC whose snapshot failed.
    events = client.EventsV1Api(kube.api).list_namespaced_event(kube.namespace).items
    warnings = [e for e in events if e.type == "Warning"
                and e.reporting_controller == "classops.edu/executor"]
    assert [(e.regarding.kind, e.regarding.name) for e in warnings] == \
        [("PersistentVolumeClaim", broken)]

    # The ledger: 300 records in S3, the summary names each student's newest snapshot.
    keys = [o["Key"] for o in s3.client.list_objects_v2(Bucket=s3.name)["Contents"]]
    assert keys and all(k.startswith("cs101/fall-2026/ledger/") for k in keys)
    lines = [json.loads(line) for k in keys for line in s3.client.get_object(
        Bucket=s3.name, Key=k)["Body"].read().decode().splitlines()]
    assert len(lines) == 300 and sum(r["outcome"] == "failed" for r in lines) == 1
    assert {r["user"] for r in lines} == {u for u, _ in claims.values()}
    summary = json.loads(client.CoreV1Api(kube.api).read_namespaced_config_map(
        "classops-ledger-fall-2026", kube.namespace).data["summary.json"])
    assert summary["users"]["Alice.Smith@uni.edu"]["snapshot"]["ref"].startswith(
        "claim-alice-smith-uni-edu---")
    assert "snapshot" not in summary["users"]["student-007"]
    assert summary["counts"] == {"snapshot/changed": 299, "snapshot/failed": 1}

    # One user, twice at the same minute: the same names, so the second run finds them done.
    at = datetime(2026, 12, 1, 3, tzinfo=UTC)
    for _ in range(2):
        assert cmd_snapshot(argparse.Namespace(
            kubeconfig=None, namespace=kube.namespace, output="table", schedule=None,
            functions=None, registry=None, api_client=kube.emu.api_client(), now=at,
            reason="manual", user="bob")) == 0
        assert "2 of 2 snapshots ready" in capsys.readouterr().err
    assert len(snapshots(kube)) == 302


def test_history_answers_what_we_hold_for_a_student(
        storage: Kube, s3: S3Bucket,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        tmp_path: Path) -> None:
    kube = storage
    s3_env(monkeypatch, s3)
    course(kube)
    bound(kube, user_pvc(kube, "carol@uni.edu")["metadata"]["name"],
          user_pvc(kube, "dave")["metadata"]["name"])
    assert cli(kube, "snapshot", "--reason", "before-exam") == 0
    capsys.readouterr()
    assert cli(kube, "history", "carol@uni.edu") == 0
    out = capsys.readouterr().out
    assert out.startswith("carol@uni.edu: 1 snapshots held now")
    assert "before-exam" in out and "dave" not in out
    assert "changed" in out.split("AT", 1)[1]  # the ledger's record of it
    assert cli(kube, "-o", "json", "history", "nobody") == 0
    empty = json.loads(capsys.readouterr().out)
    assert (empty["held"], empty["records"]) == ([], [])
