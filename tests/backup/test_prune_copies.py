"""`classops prune` over real copies in SeaweedFS, made by the archive worker at a fortnight of
nightly timestamps: the plan keeps what the schedule's policy says plus `latest.json`'s copy and
the term-end ones,
sweeps an archive without a manifest only once the grace is over, a dry run deletes nothing,
`--confirm` deletes exactly the plan, and the ledger has a record per deleted copy."""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from kubernetes import client

from shared.actions.applying import Ports
from shared.actions.executor import Executor
from shared.actions.model import DeleteCopy
from shared.archive.copy_jobs import FINAL, PURPOSE, TAKEN_FOR, USERNAME
from shared.archive.layout import Owner, Place, stamp
from shared.archive.worker import Home, archive_homes
from shared.cli.backup_group import cmd_prune
from shared.ledger.storage import Ledger
from shared.metrics import Metrics
from shared.ports.kube import Kube as Api
from shared.ports.s3 import S3
from shared.teardown.term_index import IndexEntry, TermIndex, index_key
from tests.archive.homes import port
from tests.conftest import Kube
from tests.servers.fixtures import S3Bucket

from .conftest import course

NY = ZoneInfo("America/New_York")  # the bundled schedule's: keep_last 3, daily 7, weekly 16
PREFIX = "cs101/fall-2026"
NIGHTS = [stamp(datetime.combine(date(2026, 11, 16) + timedelta(days=i), time(3), NY))
          for i in range(14)]  # Monday Nov 16 to Sunday Nov 29: two ISO weeks
CRASHED = stamp(datetime(2026, 11, 30, 8, tzinfo=UTC))
KINDS = ("copy", "garbage", "marker", "parts")  # DeleteCopy's targets; the rest are snapshots
KILLED = stamp(datetime(2026, 12, 1, 8, tzinfo=UTC))


@pytest.fixture
def bucket(kube: Kube, s3: S3Bucket, monkeypatch: pytest.MonkeyPatch) -> S3:
    """The course (its schedule ConfigMap) and its bucket, as `classops` finds them."""
    for name, value in s3.settings().items():
        monkeypatch.setenv(name, value)
    course(kube)
    return port(s3)


def nightly_copies(store: S3, root: Path) -> None:
    """alice and bob copied every night (each night's home differs), carol once; then what
    goes wrong in a term: carol's next copy crashed before its manifest and the one after was
    killed mid-upload (its parts stay), bob's `latest.json`
    stayed at his first copy, and alice has a stray marker of her first copy."""
    homes = [Home(Owner(u), root / u) for u in ("alice", "bob")]
    for night, timestamp in enumerate(NIGHTS):
        for h in homes:
            h.path.mkdir(parents=True, exist_ok=True)
            (h.path / "notes.ipynb").write_text(f"night {night}\n" * (night + 1))
        done = archive_homes(store, PREFIX, homes, timestamp)
        assert [c.status for c in done] == ["archived", "archived"], done
    carol = Home(Owner("carol@uni.edu"), root / "carol")
    carol.path.mkdir()
    (carol.path / "lab.ipynb").write_text("{}\n")
    [done] = archive_homes(store, PREFIX, [carol], NIGHTS[-1])
    store.put_bytes(Place(PREFIX, carol.owner).archive(CRASHED), store.get_bytes(done.archive))
    killed = Place(PREFIX, carol.owner).archive(KILLED)  # a worker killed mid-upload: parts
    part = b"x" * (5 << 20)
    store.upload_part(killed, store.start_upload(killed), 1, part, hashlib.sha256(part).digest())
    bob = Place(PREFIX, Owner("bob"))
    store.put_bytes(bob.latest, store.get_bytes(bob.manifest(NIGHTS[0])))
    store.put_bytes(Place(PREFIX, Owner("alice")).mark("0ld", NIGHTS[0]), b"")


def term_end_copies(kube: Kube, store: S3) -> None:
    """Final copies, as after term: alice's second night named by the term index, bob's third
    made from a `final` VolumeSnapshot (a copy is named by its snapshot's instant)."""
    alice = Place(PREFIX, Owner("alice"))
    entry = IndexEntry("alice", object=alice.archive(NIGHTS[1]),
                       manifest=alice.manifest(NIGHTS[1]), verified=True)
    store.put_bytes(index_key(PREFIX), TermIndex("cs101", "fall-2026", "2026-12-19T05:00:00Z",
                                                 (entry,)).to_json())
    at = datetime.strptime(NIGHTS[2], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    client.CustomObjectsApi(kube.api).create_namespaced_custom_object(
        "snapshot.storage.k8s.io", "v1", kube.namespace, "volumesnapshots", {
            "apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshot",
            "metadata": {"name": "claim-bob-final", "labels": {PURPOSE: FINAL},
                         "annotations": {USERNAME: "bob", TAKEN_FOR: at.isoformat()}},
            "spec": {"source": {"persistentVolumeClaimName": "claim-bob"}}})


def listing(store: S3) -> dict[str, datetime | None]:
    return {o.key: o.modified for o in store.objects(PREFIX + "/")
            if not o.key.startswith(PREFIX + "/ledger/")}


def prune(kube: Kube, now: datetime, confirm: bool,
          capsys: pytest.CaptureFixture[str]) -> tuple[list[dict[str, str]], str]:
    code = cmd_prune(argparse.Namespace(
        kubeconfig=None, namespace=kube.namespace, output="json", schedule=None,
        functions=None, confirm=confirm, registry=None, api_client=kube.emu.api_client(),
        now=now))
    out, err = capsys.readouterr()
    assert code == 0, err
    return [r for r in json.loads(out) if r["target"].split()[0] in KINDS], err


def kept_by_policy(stamps: list[str]) -> set[str]:
    """keep_last 3, keep_daily 7, keep_weekly 16 over nightly stamps, as restic reads them."""
    newest_first = sorted(stamps, reverse=True)
    local = {t: datetime.strptime(t, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC).astimezone(NY)
             for t in stamps}
    weeks: dict[tuple[int, int], str] = {}
    for t in newest_first:
        weeks.setdefault(local[t].isocalendar()[:2], t)
    return set(newest_first[:7]) | set(sorted(weeks.values(), reverse=True)[:16])


def test_prune_keeps_the_policy_and_latest_and_sweeps_garbage_after_the_grace(
        kube: Kube, bucket: S3, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = bucket
    nightly_copies(store, tmp_path)
    term_end_copies(kube, store)
    before = listing(store)
    written = max(m for m in before.values() if m is not None)

    # Within the grace (an hour after the last write) nothing goes, even with --confirm:
    # carol's manifest-less archive may be a copy being written now.
    planned, err = prune(kube, written + timedelta(hours=1), True, capsys)
    assert planned == [] and "deleted 0 copies in S3" in err
    assert listing(store) == before
    [(_, upload)] = store.unfinished_uploads(PREFIX)

    later = written + timedelta(hours=48)
    planned, err = prune(kube, later, False, capsys)  # the dry run
    assert listing(store) == before, "a dry run deleted something"
    alice, bob, carol = (Place(PREFIX, Owner(u)) for u in ("alice", "bob", "carol@uni.edu"))
    assert store.unfinished_uploads(PREFIX) == [(carol.archive(KILLED), upload)]
    assert {r["outcome"] for r in planned} == {"planned"}
    policy = kept_by_policy(NIGHTS)
    alice_kept, bob_kept = policy | {NIGHTS[1]}, policy | {NIGHTS[0], NIGHTS[2]}
    expected = {f"copy {alice.archive(t)}" for t in NIGHTS if t not in alice_kept} \
        | {f"copy {bob.archive(t)}" for t in NIGHTS if t not in bob_kept} \
        | {f"garbage {carol.archive(CRASHED)}", f"parts {carol.archive(KILLED)}"}
    assert {r["target"] for r in planned} == expected
    # week 47's Sunday stays, alice's final, bob's final and latest
    assert len(expected) == 5 + 4 + 2
    assert "would delete 11 copies in S3 (9 older, 1 without a manifest, 1 unfinished " \
           "uploads)" in err

    done, err = prune(kube, later, True, capsys)
    assert sorted((r["target"], r["outcome"]) for r in done) == sorted(
        (t, "changed") for t in expected)
    gone = {alice.mark("0ld", NIGHTS[0]), carol.archive(CRASHED)} | {
        k for p, t in [(alice, t) for t in NIGHTS if t not in alice_kept]
        + [(bob, t) for t in NIGHTS if t not in bob_kept]
        for k in (p.archive(t), p.manifest(t))}
    assert set(listing(store)) == set(before) - gone  # exactly the plan, nothing else
    assert store.unfinished_uploads(PREFIX) == []
    for place, latest in ((alice, NIGHTS[-1]), (bob, NIGHTS[0]), (carol, NIGHTS[-1])):
        assert json.loads(store.get_bytes(place.latest))["timestamp"] == latest
        assert store.head(place.archive(latest)) is not None

    ledger = Ledger(None, kube.namespace, store, "cs101", "fall-2026", lambda: later)
    records = [r for r in ledger.records() if r.action == "DeleteCopy"]
    assert sorted(r.target for r in records) == sorted(expected)
    assert {(r.kind, r.outcome) for r in records} == {("delete", "changed")}
    assert {r.user for r in records} == {"alice", "bob", "carol@uni.edu"}

    planned, err = prune(kube, later, True, capsys)  # again: nothing left to delete
    assert planned == [] and "deleted 0 copies in S3" in err


def test_a_copy_finished_or_rewritten_since_the_plan_is_not_deleted(
        kube: Kube, bucket: S3, tmp_path: Path) -> None:
    """The plan is read again just before: a late manifest (the Job re-ran and committed the
    copy) or a rewrite since the listing refuses the deletion, and nothing is deleted."""
    store = bucket
    home = Home(Owner("dana"), tmp_path / "dana")
    home.path.mkdir()
    (home.path / "a.txt").write_text("a\n")
    [done] = archive_homes(store, PREFIX, [home], NIGHTS[0])
    place = Place(PREFIX, home.owner)
    manifest = store.get_bytes(place.manifest(NIGHTS[0]))
    seen = store.head(place.archive(NIGHTS[0]))
    assert seen is not None and seen.modified is not None
    store.delete(place.manifest(NIGHTS[0]))  # as if the worker had not committed it yet
    late = DeleteCopy("dana", "", NIGHTS[0], "garbage", place.archive(NIGHTS[0]),
                      (place.archive(NIGHTS[0]),), "no manifest",
                      (place.manifest(NIGHTS[0]),), seen.modified.isoformat())
    earlier = dataclasses.replace(late, absent=(), seen=(seen.modified - timedelta(hours=1))
                                  .isoformat())
    store.put_bytes(place.manifest(NIGHTS[0]), manifest)  # ... and then it did
    executor = Executor(Ports(Api(kube.api), s3=store), Metrics(), lambda: datetime.now(UTC))
    [committed, rewritten] = executor.execute([late, earlier], "test")
    assert committed.outcome == "failed" and "was written since the plan" in committed.detail
    assert rewritten.outcome == "failed" and "written again" in rewritten.detail
    assert store.head(done.archive) is not None and store.head(place.manifest(NIGHTS[0]))
