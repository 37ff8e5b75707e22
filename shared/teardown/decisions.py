"""The teardown plan, decided purely from what the survey found (`UserState`s).

Per user, in this order of precedence:
- `done`: a teardown record says an earlier run finished this user (resume: nothing repeated),
  unless `Retain` contents of the very snapshots that run deleted are left (a teardown from
  before contents were torn down): then `delete` takes those only, and the record keeps both;
- `keep`: protected (instructors, TAs: `teardown.protected`, the hub's admins);
- `rearchive`: the final archive is missing or not verified, or the PVC was mounted since its
  final snapshot (a pod, a hub login), or it is not the claim the archive was made from: it
  stays until `classops archive-term` has snapshotted and archived it again;
- `delete`: its snapshots, then the `Retain` VolumeSnapshotContents of its snapshots (the
  final snapshots' ones outlive their VolumeSnapshot, and their storage costs money: a
  `Delete` content goes with its snapshot already), including those whose snapshot is gone,
  then its PVC (with the archived claim's uid as a precondition, so a claim made again under
  the same name is never the one deleted), released first from the backup's last-snapshot
  finalizer (annotated with its final archive, one write).
Then the stack: placeholders to 0 and the hub stack classops deployed (the hub database's PVC
only once its archive is verified). Deleting the namespace is refused while any user is kept or
unverified, or the hub database is not verified: the namespace holds all of it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from shared.actions.model import (
    Action,
    DeleteObject,
    DeletePVC,
    DeleteSnapshotContent,
    DeleteVolumeSnapshot,
    ReleaseForTeardown,
    ScaleWorkload,
)
from shared.teardown.term_index import IndexEntry

Decision = Literal["delete", "keep", "rearchive", "done"]
NEVER_DELETED_WITH_THE_STACK = frozenset({"Namespace"})


@dataclass(frozen=True)
class PodUse:
    """A pod that mounts user claims, as the survey saw it."""

    name: str
    created: datetime
    claims: tuple[str, ...]
    finished: bool = False  # Succeeded or Failed: it no longer writes


@dataclass(frozen=True)
class Content:
    """A VolumeSnapshotContent of one of the user's snapshots, as the survey saw it."""

    name: str
    uid: str
    policy: str  # its deletionPolicy: Retain or Delete
    snapshot: str = ""  # NAMESPACE/NAME of the VolumeSnapshot it was taken for

    @property
    def retained(self) -> bool:
        return self.policy != "Delete"  # a content without a policy is kept as Retain is


@dataclass(frozen=True)
class UserState:
    user: str
    server: str = ""
    claim: str = ""  # "" : no PVC any more
    claim_uid: str = ""
    snapshots: tuple[str, ...] = ()  # every VolumeSnapshot of the claim
    contents: tuple[Content, ...] = ()  # theirs, and retained ones whose snapshot is gone
    entry: IndexEntry | None = None  # from the term index
    archive_problem: str = ""  # "" : the final archive is verified (by archive-term and now)
    mounts: tuple[str, ...] = ()  # evidence of a mount since the final snapshot
    protected: str = ""  # why protected ("" : not)
    torn_down: bool = False  # a teardown record exists
    torn_down_targets: tuple[str, ...] = ()  # what its record says it deleted


@dataclass(frozen=True)
class Row:
    user: str
    server: str
    decision: Decision
    why: str
    actions: tuple[Action, ...] = ()
    entry: IndexEntry | None = None
    earlier: tuple[str, ...] = ()  # what an earlier run's record says it deleted (kept in it)

    @property
    def owner(self) -> tuple[str, str]:
        return self.user, self.server


@dataclass(frozen=True)
class StackObject:
    api_version: str
    kind: str
    name: str
    uid: str = ""


@dataclass(frozen=True)
class Plan:
    rows: tuple[Row, ...]
    stack: tuple[Action, ...] = ()
    stack_kept: tuple[str, ...] = ()  # what of the stack stays, and why
    namespace: Action | None = None
    namespace_refused: str = ""  # why --delete-namespace is refused ("" : not refused)

    def count(self, decision: Decision) -> int:
        return sum(1 for r in self.rows if r.decision == decision)

    @property
    def actions(self) -> list[Action]:
        found = [a for r in self.rows for a in r.actions] + list(self.stack)
        return found + ([self.namespace] if self.namespace else [])


def mounts_since(claim: str, since: datetime | None, pods: Iterable[PodUse],
                 hub_servers: Sequence[str] = ()) -> tuple[str, ...]:
    """Evidence that `claim` was (or is) mounted after `since` (the final snapshot): a pod that
    mounts it now, one that started after `since`, or a server the hub runs for its user
    (`hub_servers`: their names, "" the default one; the hub lists only running ones).

    A pod that started after the final snapshot and is gone leaves no trace here; `term.end`
    closes spawning before the final snapshots, so only the hub's admins (protected) or a pod
    made by hand could do that."""
    found: list[str] = []
    for pod in pods:
        if claim not in pod.claims:
            continue
        if not pod.finished:
            found.append(f"pod {pod.name} mounts it now")
        elif since is not None and pod.created > since:
            found.append(f"pod {pod.name} started {pod.created:%Y-%m-%d %H:%M:%S} UTC, after "
                         "the final snapshot")
    found += [f"the hub runs {'server ' + name if name else 'the default server'} for the user"
              for name in hub_servers]
    return tuple(found)


def decide(state: UserState, namespace: str) -> Row:
    s = state

    def row(decision: Decision, why: str, actions: tuple[Action, ...] = ()) -> Row:
        return Row(s.user, s.server, decision, why, actions, s.entry)

    retained = sorted((c for c in s.contents if c.retained), key=lambda c: c.name)
    if s.torn_down:
        # only contents of snapshots that run deleted: anything newer was never verified
        left = [c for c in retained if f"volumesnapshot {c.snapshot}" in s.torn_down_targets]
        if not left or s.protected:
            return row("done", "torn down by an earlier run")
        if s.archive_problem:  # they may be the last copy there is
            return row("rearchive", f"{s.archive_problem}: its {len(left)} retained snapshot "
                                    "content(s) stay (restore from them, archive again)")
        return Row(s.user, s.server, "delete", f"torn down by an earlier run; {len(left)} "
                   "retained snapshot content(s) of the snapshots it deleted remain",
                   tuple(DeleteSnapshotContent(c.name, c.uid, s.user, s.server, c.snapshot)
                         for c in left), s.entry, s.torn_down_targets)
    if s.protected:
        return row("keep", s.protected)
    if not s.claim and not s.snapshots and not retained:
        return row("done", "nothing left in the cluster")
    if s.archive_problem:
        return row("rearchive", f"{s.archive_problem}: archive again first "
                                "(classops archive-term)")
    if s.mounts:
        return row("rearchive", f"mounted since its final snapshot ({s.mounts[0]}): snapshot "
                                "and archive again first (classops archive-term)")
    archived_uid = s.entry.claim_uid if s.entry else ""
    if s.claim and archived_uid and s.claim_uid and s.claim_uid != archived_uid:
        return row("rearchive", f"pvc {s.claim} is not the claim that was archived (uid "
                                f"{s.claim_uid}, archived {archived_uid}): archive it first")
    actions: list[Action] = [DeleteVolumeSnapshot(namespace, n, s.user, s.server)
                             for n in sorted(s.snapshots)]
    actions += [DeleteSnapshotContent(c.name, c.uid, s.user, s.server, c.snapshot)
                for c in retained]
    if s.claim:
        uid = archived_uid or s.claim_uid
        actions += [ReleaseForTeardown(namespace, s.claim, uid, s.entry.object if s.entry else ""),
                    DeletePVC(namespace, s.claim, uid, s.user, s.server)]
    kept_storage = (f"; and {len(retained)} retained snapshot content(s)" if retained else "")
    return row("delete", "final archive verified, not mounted since its final snapshot"
               + kept_storage, tuple(actions))


def plan(states: Iterable[UserState], namespace: str,
         stack: Sequence[StackObject] = (), placeholders: Sequence[tuple[str, str]] = (),
         hub_db: IndexEntry | None = None, hub_db_problem: str = "",
         delete_namespace: bool = False, hub_db_snapshots: Sequence[str] = (),
         hub_db_contents: Sequence[Content] = ()) -> Plan:
    """The whole teardown. `placeholders`: (kind, name) of the placeholder workloads;
    `hub_db`: the hub database's index entry (and `hub_db_problem` if it did not check);
    `hub_db_snapshots`: its PVC's snapshots, which go with it (and `hub_db_contents`, their
    contents: the `Retain` ones too, where the default snapshot class retains)."""
    rows = tuple(sorted((decide(s, namespace) for s in states), key=lambda r: r.owner))
    db_ok = hub_db is not None and hub_db.verified and not hub_db_problem
    db_why = ("" if db_ok else hub_db_problem or
              ("the hub database's archive is not verified" if hub_db is not None
               else "the hub database was not archived"))
    actions: list[Action] = [ScaleWorkload(namespace, name, 0, kind=kind)
                             for kind, name in placeholders]
    kept: list[str] = []
    for o in sorted(stack, key=lambda o: (o.kind == "PersistentVolumeClaim", o.kind, o.name)):
        if o.kind in NEVER_DELETED_WITH_THE_STACK:
            continue
        if o.kind == "PersistentVolumeClaim" and not db_ok:
            kept.append(f"persistentvolumeclaim {namespace}/{o.name}: {db_why}")
            continue
        actions.append(DeleteObject(o.api_version, o.kind, o.name, namespace, o.uid))
    if db_ok:
        actions += [DeleteVolumeSnapshot(namespace, n) for n in sorted(hub_db_snapshots)]
        actions += [DeleteSnapshotContent(c.name, c.uid, snapshot=c.snapshot)
                    for c in sorted(hub_db_contents, key=lambda c: c.name) if c.retained]
    elif hub_db_snapshots:
        kept.append(f"{len(hub_db_snapshots)} snapshot(s) of hub-db-dir: {db_why}")
    blockers = [f"{r.user}: {r.why}" for r in rows if r.decision in ("keep", "rearchive")]
    if not db_ok:
        blockers.append(f"hub database: {db_why}")
    refused = ""
    if delete_namespace and blockers:
        refused = (f"--delete-namespace refused: {len(blockers)} thing(s) would be lost, "
                   f"first {blockers[0]}")
    namespace_action = (DeleteObject("v1", "Namespace", namespace)
                        if delete_namespace and not blockers else None)
    return Plan(rows, tuple(actions), tuple(kept), namespace_action, refused)
