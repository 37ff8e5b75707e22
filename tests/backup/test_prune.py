"""`classops prune` over a synthetic term of snapshots: the plan (a dry run changes nothing),
then `--confirm` deletes exactly what it listed, and restic's rules hold on what is left; each
deletion names its student, in the plan and in `classops history USER` (the term ledger)."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from kubernetes import client

from shared.backup import naming
from shared.backup.inventory import held
from shared.cli.backup_group import cmd_prune
from tests.conftest import Kube
from tests.servers.fixtures import S3Bucket
from tests.wait import until as wait_until

from .conftest import GROUP, VERSION, bound, course, user_pvc
from .test_snapshots import cli, s3_env, snapshots

NY = ZoneInfo("America/New_York")
NOW = datetime(2026, 11, 15, 12, tzinfo=NY)  # a Sunday, mid-term


def take(kube: Kube, volume: naming.Volume, reason: str, at: datetime,
         deadline: str = "") -> None:
    custom = client.CustomObjectsApi(kube.api)
    custom.create_namespaced_custom_object(GROUP, VERSION, kube.namespace, "volumesnapshots", {
        "apiVersion": f"{GROUP}/{VERSION}", "kind": "VolumeSnapshot",
        "metadata": {"name": naming.snapshot_name(volume.claim, reason, at, deadline),
                     "labels": naming.labels(volume, reason, "cs101", "fall-2026"),
                     "annotations": naming.notes_of(volume, at, "test", deadline)},
        "spec": {"source": {"persistentVolumeClaimName": volume.claim}}})


def prune(kube: Kube, confirm: bool, output: str = "table") -> int:
    return cmd_prune(argparse.Namespace(
        kubeconfig=None, namespace=kube.namespace, output=output, schedule=None,
        functions=None, confirm=confirm, registry=None, api_client=kube.emu.api_client(),
        now=NOW.astimezone(UTC)))


def test_prune_plans_then_deletes_only_with_confirm(
        storage: Kube, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    kube = storage
    monkeypatch.delenv("CLASSOPS_S3_BUCKET", raising=False)
    course(kube)  # retention: keep_last 3, keep_daily 7, keep_weekly 16
    volumes = [v for v in (naming.Volume.of(user_pvc(kube, u, server)) for u, server in (
        ("erin", ""), ("frank@uni.edu", "lab"))) if v is not None]
    bound(kube, *(v.claim for v in volumes))
    first = date(2026, 8, 31)
    for v in volumes:
        for day in range((NOW.date() - first).days + 1):
            take(kube, v, "scheduled", datetime.combine(first + timedelta(days=day), time(3), NY))
        for week in range(10):  # Friday deadlines, kept to the end of term
            due = datetime.combine(date(2026, 9, 11) + timedelta(weeks=week), time(23, 59), NY)
            take(kube, v, "deadline", due, f"assignment-{week + 1}")
    total = len(snapshots(kube))
    assert total == 2 * (77 + 10)

    def all_ready() -> bool:
        return all((s.get("status") or {}).get("readyToUse") for s in snapshots(kube))

    wait_until(all_ready, timeout=300, what="every snapshot ready")

    assert prune(kube, confirm=False) == 0
    out, err = capsys.readouterr()
    rows = [line.split() for line in out.splitlines() if line.startswith("planned")]
    planned = sorted(row[3] for row in rows)  # OUTCOME USER volumesnapshot NS/NAME
    assert {row[1] for row in rows} == {v.user for v in volumes}  # whose snapshot it is
    assert len(snapshots(kube)) == total, "a dry run deleted something"
    assert f"would delete {len(planned)}, keeping {total - len(planned)}" in err
    # Per volume: the 7 newest nights (Nov 9-15, holding the last 3 and this week's newest)
    # and the newest of each earlier week, its Sunday (10 weeks since Aug 31: fewer than 16);
    # no deadline snapshot goes before the end of term.
    assert len(planned) == 2 * (77 - 7 - 10)
    assert all("-scheduled-" in name for name in planned)

    assert prune(kube, confirm=True) == 0
    out, err = capsys.readouterr()
    assert sorted(line.split()[3] for line in out.splitlines()
                  if line.startswith("changed")) == planned
    # Deleting is asynchronous (the snapshot controller's finalizers): wait until they are gone.
    wait_until(lambda: len(snapshots(kube)) == total - len(planned), timeout=120,
               what="the pruned snapshots gone")
    left = [h for s in snapshots(kube) if (h := held(s)) is not None]
    for v in volumes:
        nights = sorted(h.at.astimezone(NY) for h in left
                        if h.user == v.user and h.reason == "scheduled")
        assert [n.date() for n in nights[-7:]] == [NOW.date() - timedelta(days=i)
                                                   for i in range(6, -1, -1)]
        assert len(nights) == 17 and all(n.weekday() == 6 for n in nights[:-7])
    assert prune(kube, confirm=True) == 0  # again: nothing left to delete
    assert "deleted 0" in capsys.readouterr().err


def test_a_pruned_snapshot_is_in_its_students_history(
        storage: Kube, s3: S3Bucket, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    kube = storage
    s3_env(monkeypatch, s3)
    course(kube)
    volumes = {v.user: v for v in (naming.Volume.of(user_pvc(kube, u, server)) for u, server in (
        ("frank@uni.edu", "lab"), ("gina", ""))) if v is not None}
    bound(kube, *(v.claim for v in volumes.values()))
    for v in volumes.values():
        for day in range(14):  # two weeks of nights up to now: some older ones go
            take(kube, v, "scheduled",
                 datetime.combine(NOW.date() - timedelta(days=day), time(3), NY))
    wait_until(lambda: all((s.get("status") or {}).get("readyToUse") for s in snapshots(kube)),
               timeout=120, what="every snapshot ready")
    owner = {s["metadata"]["name"]: h.user for s in snapshots(kube) if (h := held(s))}

    assert prune(kube, confirm=True, output="json") == 0
    results = json.loads(capsys.readouterr().out)
    deleted = {r["target"].rsplit("/", 1)[1] for r in results if r["outcome"] == "changed"}
    assert deleted and all(r["user"] == owner[r["target"].rsplit("/", 1)[1]] for r in results)

    for user, v in volumes.items():
        mine = {name for name in deleted if owner[name] == user}
        assert mine, f"retention deleted none of {user}'s snapshots"
        assert cli(kube, "-o", "json", "history", user) == 0
        records = json.loads(capsys.readouterr().out)["records"]
        deletions = [r for r in records if r["action"] == "DeleteVolumeSnapshot"]
        assert {r["refs"]["name"] for r in deletions} == mine
        assert all((r["user"], r["server"], r["outcome"]) == (user, v.server, "changed")
                   for r in deletions)
        assert cli(kube, "history", user) == 0  # the table an operator reads
        table = capsys.readouterr().out.split("AT", 1)[1]
        assert all(f"/{name}" in table for name in mine)
        assert not any(f"/{name}" in table for name in deleted - mine)
