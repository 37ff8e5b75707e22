"""The teardown plan, decided purely: who is deleted, who is kept and why, and what the
namespace deletion is refused for."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from shared.actions.model import (
    DeleteObject,
    DeletePVC,
    DeleteSnapshotContent,
    DeleteVolumeSnapshot,
    ReleaseForTeardown,
    ScaleWorkload,
)
from shared.teardown.decisions import (
    Content,
    PodUse,
    StackObject,
    UserState,
    decide,
    mounts_since,
    plan,
)
from shared.teardown.term_index import IndexEntry

NS = "cs101"
FINAL = datetime(2026, 12, 19, 5, 0, tzinfo=UTC)


def entry(user: str, verified: bool = True, uid: str = "uid-1") -> IndexEntry:
    return IndexEntry(user, claim=f"claim-{user}", claim_uid=uid, snapshot=f"claim-{user}-final",
                      snapshot_at=FINAL.isoformat(), object=f"cs101/fall/{user}/x.tar.gz",
                      manifest=f"cs101/fall/{user}/x.manifest.json", size=100,
                      sha256="ab" * 32, verified=verified, files=3, bytes=300)


def state(user: str, **kw: object) -> UserState:
    base: dict[str, object] = {"claim": f"claim-{user}", "claim_uid": "uid-1",
                               "snapshots": (f"claim-{user}-final", f"claim-{user}-nightly"),
                               "entry": entry(user)}
    base.update(kw)
    return UserState(user, **base)  # type: ignore[arg-type]


def test_a_verified_unmounted_user_loses_snapshots_then_the_pvc_with_its_uid() -> None:
    row = decide(state("alice"), NS)
    assert row.decision == "delete"
    assert row.actions == (DeleteVolumeSnapshot(NS, "claim-alice-final", "alice"),
                           DeleteVolumeSnapshot(NS, "claim-alice-nightly", "alice"),
                           ReleaseForTeardown(NS, "claim-alice", "uid-1",
                                              "cs101/fall/alice/x.tar.gz"),
                           DeletePVC(NS, "claim-alice", "uid-1", "alice"))


def test_retained_contents_go_after_the_snapshots_and_delete_ones_are_left_to_them() -> None:
    contents = (Content("snapcontent-2", "c2", "Retain", f"{NS}/claim-alice-final"),
                Content("snapcontent-1", "c1", "Delete", f"{NS}/claim-alice-nightly"),
                Content("snapcontent-0", "c0", "Retain", f"{NS}/claim-alice-final-old"))
    row = decide(state("alice", contents=contents), NS)
    assert row.decision == "delete" and "2 retained snapshot content(s)" in row.why
    assert row.actions[2:4] == (
        DeleteSnapshotContent("snapcontent-0", "c0", "alice", "", f"{NS}/claim-alice-final-old"),
        DeleteSnapshotContent("snapcontent-2", "c2", "alice", "", f"{NS}/claim-alice-final"))
    assert not any(isinstance(a, DeleteSnapshotContent) and a.name == "snapcontent-1"
                   for a in row.actions)
    assert isinstance(row.actions[0], DeleteVolumeSnapshot)
    assert isinstance(row.actions[-1], DeletePVC)


def test_a_user_with_only_a_retained_content_left_is_still_torn_down() -> None:
    left = (Content("snapcontent-9", "c9", "Retain", f"{NS}/claim-carol-final"),)
    row = decide(state("carol", claim="", claim_uid="", snapshots=(), contents=left), NS)
    assert row.decision == "delete"
    assert row.actions == (DeleteSnapshotContent("snapcontent-9", "c9", "carol", "",
                                                 f"{NS}/claim-carol-final"),)
    only_delete = (Content("snapcontent-8", "c8", "Delete", f"{NS}/claim-carol-final"),)
    assert decide(state("carol", claim="", claim_uid="", snapshots=(), contents=only_delete),
                  NS).decision == "done"


def test_an_earlier_runs_user_loses_only_the_contents_of_snapshots_that_run_deleted() -> None:
    earlier = (f"volumesnapshot {NS}/claim-erin-final", f"persistentvolumeclaim {NS}/claim-erin")
    left = (Content("snapcontent-1", "c1", "Retain", f"{NS}/claim-erin-final"),
            Content("snapcontent-2", "c2", "Retain", f"{NS}/claim-erin-final-later"))
    gone = state("erin", claim="", claim_uid="", snapshots=(), torn_down=True)
    row = decide(dataclasses.replace(gone, contents=left, torn_down_targets=earlier), NS)
    assert row.decision == "delete" and row.earlier == earlier
    assert row.actions == (DeleteSnapshotContent("snapcontent-1", "c1", "erin", "",
                                                 f"{NS}/claim-erin-final"),)
    assert decide(gone, NS).decision == "done"
    bad = dataclasses.replace(gone, contents=left, torn_down_targets=earlier,
                              archive_problem="archive missing")
    assert decide(bad, NS).decision == "rearchive" and decide(bad, NS).actions == ()
    assert decide(dataclasses.replace(bad, archive_problem="", protected="a TA"),
                  NS).decision == "done"


def test_retained_contents_stay_with_unverified_and_protected_users() -> None:
    left = (Content("snapcontent-9", "c9", "Retain", f"{NS}/claim-bob-final"),)
    for row in (decide(state("bob", contents=left, archive_problem="archive missing"), NS),
                decide(state("bob", contents=left, protected="a hub admin"), NS)):
        assert row.decision in ("rearchive", "keep") and row.actions == ()


def test_an_unverified_archive_keeps_the_pvc_and_says_why() -> None:
    row = decide(state("bob", archive_problem="archive missing: no object at k"), NS)
    assert row.decision == "rearchive" and row.actions == ()
    assert "archive missing: no object at k" in row.why and "archive-term" in row.why


def test_a_mount_after_the_final_snapshot_means_archive_again() -> None:
    row = decide(state("carol", mounts=("pod jupyter-carol mounts it now",)), NS)
    assert row.decision == "rearchive" and "jupyter-carol" in row.why and row.actions == ()


def test_protected_users_are_kept_even_when_verified() -> None:
    row = decide(state("prof", protected="protected (teardown.protected)"), NS)
    assert row.decision == "keep" and row.actions == () and "teardown.protected" in row.why


def test_a_claim_made_again_under_the_same_name_is_not_deleted() -> None:
    row = decide(state("dave", claim_uid="uid-2"), NS)
    assert row.decision == "rearchive" and "uid-2" in row.why


def test_a_user_torn_down_before_is_done_and_nothing_is_repeated() -> None:
    row = decide(state("erin", torn_down=True), NS)
    assert row.decision == "done" and row.actions == ()


def test_a_half_done_user_loses_only_what_is_left() -> None:
    row = decide(state("fay", claim="", snapshots=("claim-fay-nightly",)), NS)
    assert row.actions == (DeleteVolumeSnapshot(NS, "claim-fay-nightly", "fay"),)


def test_mount_evidence_pods_now_pods_since_and_hub_activity() -> None:
    before, after = FINAL - timedelta(hours=1), FINAL + timedelta(minutes=5)
    pods = [PodUse("old", before, ("claim-a",), finished=True),
            PodUse("job", after, ("claim-a",), finished=True),
            PodUse("live", before, ("claim-b",)),
            PodUse("other", after, ("claim-x",), finished=True)]
    assert mounts_since("claim-a", FINAL, pods)[0].startswith("pod job started")
    assert mounts_since("claim-b", FINAL, pods) == ("pod live mounts it now",)
    assert mounts_since("claim-c", FINAL, pods) == ()
    assert mounts_since("claim-c", FINAL, pods, hub_servers=[""]) == (
        "the hub runs the default server for the user",)


def test_the_stack_goes_placeholders_first_and_the_hub_db_only_when_verified() -> None:
    stack = [StackObject("v1", "PersistentVolumeClaim", "hub-db-dir", "u1"),
             StackObject("apps/v1", "Deployment", "hub", "u2")]
    kept = plan([state("alice")], NS, stack, [("StatefulSet", "user-placeholder")])
    assert kept.stack == (ScaleWorkload(NS, "user-placeholder", 0),
                          DeleteObject("apps/v1", "Deployment", "hub", NS, "u2"))
    assert kept.stack_kept and "hub-db-dir" in kept.stack_kept[0]
    assert "1 snapshot(s) of hub-db-dir" in plan([], NS, stack, hub_db_snapshots=["s"]
                                                 ).stack_kept[1]
    done = plan([state("alice")], NS, stack, [], hub_db=entry("hub-db"), hub_db_snapshots=["s"])
    assert done.stack[-2:] == (DeleteObject("v1", "PersistentVolumeClaim", "hub-db-dir", NS, "u1"),
                               DeleteVolumeSnapshot(NS, "s"))


def test_the_hub_dbs_retained_contents_go_with_its_snapshots_only_when_verified() -> None:
    contents = [Content("snapcontent-r", "r", "Retain", f"{NS}/s"),
                Content("snapcontent-d", "d", "Delete", f"{NS}/t")]
    done = plan([], NS, [], [], hub_db=entry("hub-db"), hub_db_snapshots=["s", "t"],
                hub_db_contents=contents)
    assert done.stack == (DeleteVolumeSnapshot(NS, "s"), DeleteVolumeSnapshot(NS, "t"),
                          DeleteSnapshotContent("snapcontent-r", "r", snapshot=f"{NS}/s"))
    kept = plan([], NS, [], [], hub_db_snapshots=["s", "t"], hub_db_contents=contents)
    assert not any(isinstance(a, DeleteSnapshotContent) for a in kept.stack)


def test_deleting_the_namespace_is_refused_while_anything_is_kept() -> None:
    states = [state("alice"), state("prof", protected="protected (a hub admin)")]
    refused = plan(states, NS, hub_db=entry("hub-db"), delete_namespace=True)
    assert refused.namespace is None and "prof" in refused.namespace_refused
    unverified_db = plan([state("alice")], NS, hub_db=entry("hub-db", verified=False),
                         delete_namespace=True)
    assert unverified_db.namespace is None and "hub database" in unverified_db.namespace_refused
    allowed = plan([state("alice")], NS, hub_db=entry("hub-db"), delete_namespace=True)
    assert allowed.namespace == DeleteObject("v1", "Namespace", NS)
    assert allowed.actions[-1] == allowed.namespace
    assert plan([state("alice")], NS).namespace is None  # not asked for
