"""`classops teardown` on the emulator and SeaweedFS: it deletes only users whose final archive
checks and whose PVC was not mounted since its final snapshot, never protected users, changes
nothing without --confirm, and resumes after a crash without repeating a delete."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.conftest import Kube as Cluster
from tests.servers.fixtures import S3Bucket

from .term import PREFIX, SNAPSHOTS, Term, by_user, parse, schedule_file

STAFF = ("prof-smith", "ta-jones")  # a hub admin in the bundled schedule; teardown.protected


@pytest.fixture
def term(kube: Cluster, s3: S3Bucket, tmp_path: Path) -> Iterator[Term]:
    made = Term(kube, s3, schedule_file(tmp_path, protected=["ta-jones"]), [])
    yield made
    made.kube.close()


def setup(term: Term, count: int) -> list[str]:
    users = [f"u{i:03d}" for i in range(count)]
    for user in [*users, *STAFF]:
        term.add_user(user)
    term.write_index()
    return users


def snapshots_of(term: Term, user: str) -> set[str]:
    return {o.name for o in term.kube.list(SNAPSHOTS, "VolumeSnapshot", term.ns)
            if o.name.startswith(f"claim-{user}-")}


def test_fifty_users_three_bad_archives_survive_with_reasons_and_staff_are_kept(
        term: Term, capsys: pytest.CaptureFixture[str]) -> None:
    users = setup(term, 50)
    settings = term.deploy_hub_stack()
    entries = term.entries
    term.s3.delete(entries["u007"].object)  # lost
    data = bytearray(term.s3.get_bytes(entries["u013"].object))
    data[len(data) // 2] ^= 0xFF  # same size, different bytes
    term.s3.put_bytes(entries["u013"].object, bytes(data))
    term.s3.delete(entries["u029"].manifest)
    before, objects = term.state(), {o.key for o in term.s3.objects()}

    code, planned = term.run(capsys)
    assert code == 0
    assert Counter(u["status"] for u in planned["users"]) == {
        "would delete": 47, "re-archive first": 3, "kept": 2}
    assert term.state() == before  # every object, every resourceVersion
    assert {o.key for o in term.s3.objects()} == objects  # no record written either

    code, done = term.run(capsys, "--confirm")
    assert code == 0
    bad = {"u007", "u013", "u029"}
    assert term.alive() == bad | set(STAFF)
    report = by_user(done)
    assert sum(u["deleted"] for u in done["users"]) == 47
    assert all(report[u]["status"] == "deleted" for u in users if u not in bad)
    assert "archive missing" in report["u007"]["why"]
    assert "sha256" in report["u013"]["why"]
    assert "manifest missing" in report["u029"]["why"]
    assert "hub admin" in report["prof-smith"]["why"]
    assert "teardown.protected" in report["ta-jones"]["why"]
    assert all(not report[u]["deleted"] for u in [*bad, *STAFF])
    assert snapshots_of(term, "u000") == set() and len(snapshots_of(term, "u007")) == 2
    assert report["u000"]["bytes"] == 1000 and report["u000"]["stored"] > 0
    # the stack: placeholders and hub gone; the hub database kept, it was not archived
    left = {(kind, name) for kind, name in term.state() if kind not in ("VolumeSnapshot",)}
    assert ("StatefulSet", "user-placeholder") not in left
    assert ("Deployment", "hub") not in left
    assert ("PersistentVolumeClaim", "hub-db-dir") in left
    assert any("hub-db-dir" in k and "not archived" in k for k in done["stack_kept"])
    assert settings.namespace == term.ns


def test_the_namespace_is_not_deleted_while_anything_is_kept(
        term: Term, capsys: pytest.CaptureFixture[str]) -> None:
    setup(term, 3)
    before = term.state()
    code, report = term.run(capsys, "--confirm", "--delete-namespace")
    assert code == 2 and report == {}
    assert term.state() == before
    assert "--delete-namespace refused" in term.err and "prof-smith" in term.err


def test_without_a_term_index_confirm_is_refused_and_nothing_changes(
        term: Term, capsys: pytest.CaptureFixture[str]) -> None:
    term.add_user("u000")
    term.deploy_hub_stack()
    before = term.state()
    code, _ = term.run(capsys, "--confirm")
    assert code == 2 and "no term index" in term.err and "archive-term" in term.err
    assert term.state() == before


def test_a_crash_half_way_and_a_second_run_finishes_without_repeating_a_delete(
        term: Term, capsys: pytest.CaptureFixture[str]) -> None:
    users = setup(term, 10)
    emu = term.cluster.emu
    began = emu.requests()[-1].at if emu.requests() else 0.0
    # u005's snapshots go, then its PVC's DELETE fails every retry: the run stops there
    emu.fail("delete", rf"/namespaces/{term.ns}/persistentvolumeclaims/claim-u005$", 500,
             count=5)
    code, first = term.run(capsys, "--confirm")
    assert code == 1
    assert by_user(first)["u005"]["status"] == "failed"
    assert term.alive() == {*users[5:], *STAFF}
    assert snapshots_of(term, "u005") == set()
    emu.clear_faults()

    code, second = term.run(capsys, "--confirm")
    assert code == 0
    assert term.alive() == set(STAFF)
    assert by_user(second)["u000"]["status"] == "done"
    assert by_user(second)["u005"]["status"] == "deleted"
    deleted = Counter(r.path for r in emu.requests(began)
                      if r.verb == "delete" and r.status < 300 and f"/{term.ns}/" in r.path)
    assert len(deleted) == 30  # 10 users x (2 snapshots + 1 PVC)
    assert max(deleted.values()) == 1  # never the same object twice
    records = [o.key for o in term.s3.objects(f"{PREFIX}/teardown/")]
    assert len(records) == 10
    # every outcome in the term ledger: each PVC deleted once, u005's failure too
    ledger = [json.loads(line) for o in term.s3.objects(f"{PREFIX}/ledger/")
              for line in term.s3.get_bytes(o.key).decode().splitlines() if line.strip()]
    pvcs = [r for r in ledger if r["action"] == "DeletePVC"]
    assert sorted(r["target"].rsplit("/", 1)[1] for r in pvcs if r["outcome"] == "changed") \
        == [f"claim-{u}" for u in users]
    assert [r["target"] for r in pvcs if r["outcome"] == "failed"] == [
        f"persistentvolumeclaim {term.ns}/claim-u005"]
    # filed under the student, so `classops history USER` shows where the home went
    assert all(r["target"].endswith(f"/claim-{r['user']}") for r in pvcs)


def test_a_student_who_wrote_after_the_final_snapshot_keeps_the_pvc(
        term: Term, capsys: pytest.CaptureFixture[str]) -> None:
    setup(term, 2)
    emu = term.cluster.emu
    emu.clock.advance(120)  # after the final snapshots

    def finished_pod(name: str, user: str) -> None:
        term.kube.create({"apiVersion": "v1", "kind": "Pod",
                          "metadata": {"name": name, "namespace": term.ns},
                          "spec": {"containers": [{"name": "c", "image": "busybox"}],
                                   "volumes": [{"name": "home", "persistentVolumeClaim": {
                                       "claimName": f"claim-{user}"}}]}})
        term.cluster.core.patch_namespaced_pod_status(name, term.ns,
                                                      {"status": {"phase": "Succeeded"}})

    finished_pod("jupyter-u001", "u001")
    code, report = term.run(capsys, "--confirm")
    assert code == 0
    assert term.alive() == {"u001", *STAFF}
    why = by_user(report)["u001"]["why"]
    assert "jupyter-u001" in why and "after the final snapshot" in why
    assert by_user(report)["u001"]["status"] == "re-archive first"
    # archived again (a new final snapshot, after the pod): now it goes
    emu.clock.advance(120)
    pvc = term.kube.get("v1", "PersistentVolumeClaim", "claim-u001", term.ns)
    assert pvc is not None
    term.archive_user("u001", pvc.uid, ("final-again",), "20261220T050000Z")
    term.write_index()
    code, report = term.run(capsys, "--confirm")
    assert code == 0 and term.alive() == set(STAFF)
    assert by_user(report)["u001"]["status"] == "deleted"


def test_links_open_the_archive_and_say_when_they_stop_working(
        term: Term, capsys: pytest.CaptureFixture[str]) -> None:
    setup(term, 2)
    code, report = term.run(capsys, "--links")
    assert code == 0
    link = by_user(report)["u001"]["link"]
    assert requests.get(link, timeout=30).content == term.s3.get_bytes(
        term.entries["u001"].object)
    assert "7 days" in report["links_note"] and report["links_expire"]
    assert by_user(report)["prof-smith"]["link"]  # kept, but verified: the link is theirs too


def test_the_table_says_who_would_go_who_stays_and_that_nothing_changed(
        term: Term, capsys: pytest.CaptureFixture[str]) -> None:
    setup(term, 2)
    term.s3.delete(term.entries["u001"].object)
    args = parse(["teardown", "--schedule", str(term.schedule), "--namespace", term.ns])
    args.api_client, args.s3, args.hub, args.registry = term.cluster.api, term.s3, None, None
    assert args.func(args) == 0
    out = capsys.readouterr().out
    lines = {line.split()[0]: line for line in out.splitlines() if line.strip()}
    assert lines["USER"].split()[:4] == ["USER", "ARCHIVED", "VERIFIED", "DELETED"]
    assert "would delete" in lines["u000"] and "archive missing" in lines["u001"]
    assert "protected" in lines["prof-smith"]
    assert out.rstrip().endswith("run again with --confirm to act on this plan")
