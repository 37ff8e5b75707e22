"""`classops teardown` and the VolumeSnapshotContents classops retains (issue 17, left over).

A final snapshot's content is `Retain` (the PVC finalizer of issue 15): it outlives its
VolumeSnapshot, and deleting the content as it is would still leave the stored snapshot (the
CSI sidecar deletes storage only for `Delete` contents). On the emulator's real snapshots (a
copy folder behind each content): the dry run keeps every content; `--confirm`, run with
classops's own ServiceAccount, deletes the `Retain` contents of verified students with their
copies (also those whose VolumeSnapshot is gone), never an unverified student's or a protected
user's, is denied nothing and uses each grant made for it; a rerun deletes nothing. A user an
earlier teardown finished loses the contents it left of the snapshots it deleted, no other.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.actions.applying import Ports, retain_content
from shared.events import KubeObject
from shared.stack import admin
from shared.teardown.term_index import TornDown, record_key
from tests.deploy.test_least_privilege import expand, triple
from tests.emulator.conftest import Cluster, cluster  # noqa: F401  (the fixture)
from tests.kubeemu.controllers import Snapshots
from tests.servers.fixtures import S3Bucket
from tests.wait import until

from .term import PREFIX, SNAPSHOTS, Term, by_user, schedule_file

VERIFIED = ("alice", "carol", "dave")  # carol's and dave's final snapshots are gone already
KEPT = ("bob", "ta-jones")  # bob's archive is lost; ta-jones is protected


@pytest.fixture
def term(cluster: Cluster, s3: S3Bucket, tmp_path: Path) -> Iterator[Term]:  # noqa: F811
    cluster.emu.enable_controllers("volumes", "snapshots",
                                   volumes={"binding_mode": "Immediate"})
    made = Term(cluster, s3, schedule_file(tmp_path, protected=["ta-jones"]), [])
    yield made
    made.kube.close()


def ready(term: Term, name: str) -> KubeObject:
    def taken() -> KubeObject | None:
        found = term.kube.get(SNAPSHOTS, "VolumeSnapshot", name, term.ns)
        return found if found and found.status.get("readyToUse") else None
    return until(taken, what=f"{name} ready")


def contents(term: Term) -> dict[str, tuple[str, str]]:
    """content name -> (its snapshot's name, its resourceVersion), this namespace's."""
    return {c.name: (c.spec["volumeSnapshotRef"]["name"], c.resource_version)
            for c in term.kube.list(SNAPSHOTS, "VolumeSnapshotContent")
            if c.spec["volumeSnapshotRef"]["namespace"] == term.ns}


def test_teardown_deletes_the_retained_contents_of_verified_students_only(
        term: Term, capsys: pytest.CaptureFixture[str]) -> None:
    ns, emu = term.ns, term.cluster.emu
    term.grant_classops()
    term.deploy_hub_stack()
    for user in (*VERIFIED, *KEPT):
        term.add_user(user)  # a nightly snapshot (Delete) and a final one
    finals = {u: ready(term, f"claim-{u}-final") for u in (*VERIFIED, *KEPT)}
    for user in ("alice", "bob", "ta-jones", "carol"):  # as the PVC finalizer retains it
        retain_content(Ports(term.kube), finals[user])
    final_content = {u: str(f.status["boundVolumeSnapshotContentName"])
                     for u, f in finals.items()}
    nightly = {u: str(ready(term, f"claim-{u}-nightly").status[
        "boundVolumeSnapshotContentName"]) for u in KEPT}  # Delete: they go with the snapshot
    # dave's was retained before contents carried their owner: the index names its snapshot
    term.kube.patch(SNAPSHOTS, "VolumeSnapshotContent", final_content["dave"], "",
                    {"spec": {"deletionPolicy": "Retain"}})
    for user in ("carol", "dave"):  # their final snapshots deleted: the contents stay
        term.kube.delete(SNAPSHOTS, "VolumeSnapshot", f"claim-{user}-final", ns)
        until(lambda u=user: term.kube.get(SNAPSHOTS, "VolumeSnapshot", f"claim-{u}-final",
                                           ns) is None, what=f"{user}'s final snapshot gone")
    snaps: Snapshots = emu.controller("snapshots")
    copies = {u: snaps.disk.snapshot(str(term.kube.get(
        SNAPSHOTS, "VolumeSnapshotContent", final_content[u]).status["snapshotHandle"]))
        for u in finals}
    assert all(c.exists() for c in copies.values())
    term.write_index()
    term.s3.delete(term.entries["bob"].object)  # bob's archive lost: nothing of his goes

    before = contents(term)
    code, planned = term.run(capsys)
    assert code == 0, term.err
    assert {u: by_user(planned)[u]["status"] for u in VERIFIED} == dict.fromkeys(
        VERIFIED, "would delete")
    assert all("1 retained snapshot content(s)" in by_user(planned)[u]["why"] for u in VERIFIED)
    assert contents(term) == before  # the dry run: every content, every resourceVersion
    assert all(c.exists() for c in copies.values())

    token = emu.service_account_token(ns, "classops")
    api = emu.api_client(token=token)
    began = emu.requests()[-1].at
    try:
        code, done = term.run(capsys, "--confirm", api_client=api)
        assert code == 0, term.err
        report = by_user(done)
        assert {u: report[u]["status"] for u in report} == {
            **dict.fromkeys(VERIFIED, "deleted"), "bob": "re-archive first",
            "ta-jones": "kept"}
        kept = {final_content[u] for u in KEPT} | set(nightly.values())
        until(lambda: set(contents(term)) == kept,
              what="only the unverified and protected users' contents left")
        until(lambda: not any(copies[u].exists() for u in VERIFIED),
              what="the stored snapshots of the verified students' contents removed")
        assert all(copies[u].exists() for u in KEPT)

        me = f"system:serviceaccount:{ns}:classops"
        mine = [r for r in emu.requests(began) if r.user == me]
        assert [(r.verb, r.path) for r in mine if r.status == 403] == []
        used = {t for r in mine if (t := triple(r.verb, r.path)) is not None}
        grants = [g.rule for g in (*admin.CLASSOPS_GRANTS, *admin.READ_GRANTS)
                  if "teardown" in g.uses]
        assert ("snapshot.storage.k8s.io", "volumesnapshotcontents", "delete") in expand(grants)
        assert expand(grants) <= used, expand(grants) - used

        again = emu.requests()[-1].at
        code, rerun = term.run(capsys, "--confirm", api_client=api)
    finally:
        api.close()
    assert code == 0, term.err
    assert all(by_user(rerun)[u]["deleted"] for u in VERIFIED)
    deletes = [(r.verb, r.path) for r in emu.requests(again) if r.verb == "delete" and (
        "volumesnapshot" in r.path or "persistentvolumeclaims" in r.path)]
    assert deletes == []  # nothing deleted twice
    assert set(contents(term)) == kept


def test_contents_an_earlier_teardown_left_go_and_its_record_keeps_both(
        term: Term, capsys: pytest.CaptureFixture[str]) -> None:
    """A teardown from before contents were torn down finished erin and wrote its record; the
    Retain content of the final snapshot it deleted is left. The next run deletes that content
    (and not one of a snapshot that run never deleted), and erin's record then says both."""
    ns = term.ns
    term.add_user("erin")
    term.kube.create({"apiVersion": SNAPSHOTS, "kind": "VolumeSnapshot",  # never verified
                      "metadata": {"name": "claim-erin-later", "namespace": ns},
                      "spec": {"source": {"persistentVolumeClaimName": "claim-erin"}}})
    left = {retain_content(Ports(term.kube), ready(term, snap)): snap
            for snap in ("claim-erin-final", "claim-erin-later")}
    ready(term, "claim-erin-nightly")
    term.write_index()
    # what that earlier teardown did: the snapshots it knew of and the PVC deleted, recorded
    for snap in ("claim-erin-final", "claim-erin-nightly", "claim-erin-later"):
        term.kube.delete(SNAPSHOTS, "VolumeSnapshot", snap, ns)
    term.kube.delete("v1", "PersistentVolumeClaim", "claim-erin", ns)
    earlier = [f"volumesnapshot {ns}/claim-erin-final", f"volumesnapshot {ns}/claim-erin-nightly",
               f"persistentvolumeclaim {ns}/claim-erin"]
    key = record_key(PREFIX, "erin")
    term.s3.put_bytes(key, TornDown("erin", "", tuple(earlier), "2026-12-20T00:00:00+00:00"
                                    ).to_json())
    until(lambda: term.kube.get(SNAPSHOTS, "VolumeSnapshot", "claim-erin-final", ns) is None
          and set(left) <= set(contents(term)), what="erin's snapshots gone, contents left")

    code, planned = term.run(capsys)
    assert code == 0 and by_user(planned)["erin"]["status"] == "would delete", term.err
    assert set(left) <= set(contents(term))
    code, done = term.run(capsys, "--confirm")
    assert code == 0, term.err
    assert by_user(done)["erin"]["status"] == "deleted"
    assert "1 retained snapshot content(s)" in by_user(done)["erin"]["why"]
    later = next(c for c, snap in left.items() if snap == "claim-erin-later")
    until(lambda: set(contents(term)) & set(left) == {later},
          what="only the content of the snapshot the earlier run deleted gone")
    final = next(c for c, snap in left.items() if snap == "claim-erin-final")
    assert json.loads(term.s3.get_bytes(key))["deleted"] == [
        *earlier, f"volumesnapshotcontent {final}"]

    began = term.cluster.emu.requests()[-1].at
    code, again = term.run(capsys, "--confirm")
    assert code == 0 and by_user(again)["erin"]["status"] == "done", term.err
    assert [r.path for r in term.cluster.emu.requests(began) if r.verb == "delete"] == []
