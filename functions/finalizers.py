"""Deleting a hub user no longer loses their files: classops's finalizer on every user PVC.

KubeSpawner deletes a user's PVC when the hub deletes the user (`delete_pvc`, on by default).
On every user PVC added or changed, classops adds its finalizer `classops.edu/last-snapshot`;
when a PVC gets a deletionTimestamp while holding it, classops takes a last snapshot (reason
`final`, its content set to `Retain` so the files outlive the objects, and annotated with the
user, server and claim, so that once the VolumeSnapshot is gone the content still says whose it
is: after term, `classops teardown` deletes it with the rest of a verified student's), records
it in the ledger, and only then removes the finalizer (`FinalSnapshot`).

Decided: a PVC never waits on classops forever. If its last snapshot is not ready within
`CLASSOPS_FINAL_SNAPSHOT_BOUND` (15 min) of being taken, the finalizer is removed anyway and
that is a failure: a Warning Event on the PVC, a failed action count
(`classops_actions_total{action="FinalSnapshot",outcome="failed"}`), a ledger line and the
failure webhook. Holding on would block the namespace's deletion and a new user of the same
name, and the user's newest ready snapshot still exists (retention never deletes it). The bound
counts from classops's first attempt, not from the deletion: while classops is away nobody
removes the finalizer, the PVC stays Terminating with its data (what we want), `classops status`
lists it with its age, and classops back takes the snapshot then. `classops
uninstall-finalizers --confirm` removes every finalizer of classops when classops is removed.

The last snapshot is awaited inside the action (as every snapshot is), so a deletion holds the
PVC watch's delivery for as long as the CSI driver takes to cut it (seconds on most drivers;
at most the bound).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from shared.actions.model import Action, FinalSnapshot, SetFinalizer
from shared.backup import naming
from shared.events import WatchEvent
from shared.handlers.context import Context
from shared.handlers.registry import on_watch
from shared.teardown.term_index import RELEASED

from .course import timetable
from .snapshots import snapshot_of


@on_watch(kind="PersistentVolumeClaim", labels={naming.COMPONENT: naming.STORAGE},
          actions=("added", "modified"))
def keep_last_snapshot(event: WatchEvent, ctx: Context) -> Sequence[Action]:
    pvc = event.object
    volume = naming.Volume.of(pvc.raw)
    if volume is None:
        return []
    held = naming.FINALIZER in (pvc.metadata.get("finalizers") or [])
    deleting = pvc.metadata.get("deletionTimestamp")
    # after term (issue 17): a teardown released it, its final archive verified: no last
    # snapshot, and the finalizer is not put back
    released = RELEASED in (pvc.metadata.get("annotations") or {})
    if not deleting:
        return [] if held or released else [SetFinalizer(
            volume.namespace, volume.claim, naming.FINALIZER, True, volume.uid)]
    if not held:
        return []
    if released:
        return [SetFinalizer(volume.namespace, volume.claim, naming.FINALIZER, False, volume.uid)]
    course = timetable(ctx, required=False)  # without one the snapshot is still worth taking
    began = datetime.fromisoformat(str(deleting).replace("Z", "+00:00"))
    bound = ctx.settings.final_snapshot_bound
    snapshot = snapshot_of(ctx, volume, naming.FINAL, began, event.id,
                           course.course if course else "", course.term.name if course else "",
                           timeout=bound)
    return [FinalSnapshot(snapshot, volume.uid, naming.FINALIZER, bound)]
