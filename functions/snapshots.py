"""Snapshot every student's volume on the backup cron and at each deadline.

One CSI VolumeSnapshot per user PVC (`component=singleuser-storage`, listed a page of 500 at a
time), the user read from its `hub.jupyter.org/username` annotation (named servers have their
own PVC, told apart by `hub.jupyter.org/servername`); a PVC without the annotation is not a
student's. Names are deterministic (`shared.backup.naming`), so a firing run twice finds its
snapshots done. Each `CreateVolumeSnapshot` waits for `readyToUse` (the applier watches it; see
`shared.applying.snapshot` for why the wait lives there), `CLASSOPS_SNAPSHOT_WORKERS` at once,
up to `CLASSOPS_SNAPSHOT_TIMEOUT`; one failure is its own Result (a Warning Event on the PVC, a
failed count, a ledger line) and the others go on.

Requests per PVC: its share of the paginated list, one POST, one watch and one Event: O(1).
PVCs being deleted are left to the finalizer (`functions/finalizers.py`); unbound ones hold no
data yet.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from shared.actions.model import Action, CreateVolumeSnapshot
from shared.backup import naming
from shared.events import BACKUP_DUE, DEADLINE, BackupData, ClassEvent, DeadlineData
from shared.handlers.context import Context
from shared.handlers.registry import on

from .course import timetable

SELECTOR = f"{naming.COMPONENT}={naming.STORAGE}"


def volumes(ctx: Context, user: str = "") -> list[naming.Volume]:
    found = []
    for pvc in ctx.kube.list("v1", "PersistentVolumeClaim", ctx.settings.namespace, SELECTOR):
        volume = naming.Volume.of(pvc.raw)
        if volume is None or pvc.metadata.get("deletionTimestamp"):
            continue
        if pvc.status.get("phase", "Bound") != "Bound" or (user and volume.user != user):
            continue
        found.append(volume)
    return sorted(found, key=lambda v: (v.user, v.server, v.claim))


def snapshot_of(ctx: Context, volume: naming.Volume, reason: str, at: datetime, event_id: str,
                course: str, term: str, deadline: str = "",
                timeout: float | None = None) -> CreateVolumeSnapshot:
    return CreateVolumeSnapshot(
        volume.namespace or ctx.settings.namespace,
        naming.snapshot_name(volume.claim, reason, at, deadline), volume.claim,
        ctx.settings.snapshot_class, naming.labels(volume, reason, course, term),
        naming.notes_of(volume, at, event_id, deadline),
        ctx.settings.snapshot_timeout if timeout is None else timeout)


def _all(ctx: Context, reason: str, at: datetime, event_id: str, user: str = "",
         deadline: str = "") -> list[Action]:
    # Without the schedule ConfigMap the snapshots are still worth taking, only unlabelled
    # with their course and term.
    found = timetable(ctx, required=False)
    if found is None and not ctx.assumed:
        ctx.log.warning("no readable classops-schedule ConfigMap: snapshots carry no term")
    course, term = (found.course, found.term.name) if found else ("", "")
    return [snapshot_of(ctx, v, reason, at, event_id, course, term, deadline)
            for v in volumes(ctx, user)]


@on(BACKUP_DUE)
def snapshot_on_schedule(event: ClassEvent[BackupData], ctx: Context) -> Sequence[Action]:
    return _all(ctx, event.data.reason or naming.SCHEDULED, event.time, event.id,
                event.data.user)


@on(DEADLINE)
def snapshot_at_deadline(event: ClassEvent[DeadlineData], ctx: Context) -> Sequence[Action]:
    d = event.data
    name = d.name if d.number is None else f"{d.name}-{d.number}"
    return _all(ctx, naming.DEADLINE_REASON, d.due, event.id, deadline=name)
