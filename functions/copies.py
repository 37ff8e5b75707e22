"""Copies to S3 (`backup.copy`, after the snapshots): every student's newest ready snapshot,
restored into a scratch PVC and archived by a Job, one Job per batch of students.

What to copy is read from the cluster: classops's VolumeSnapshots (`data.snapshot_run` keeps
those of one backup event), each owner's newest ready one. Batches of `JobSettings.batch`
students, each batch one snapshot time (the copy's timestamp), become `RunArchiveJob`s whose
applier makes the scratch PVCs, runs the Job, waits for it, reads each student's outcome and
deletes the scratch PVCs; the executor runs a few at once. The Job runs the classops image
(`hub.classops_image` in the schedule). In a plan without a cluster: no actions.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from functions.drill import schedule
from shared.actions.model import Action, RunArchiveJob
from shared.archive.copy_jobs import (
    CLAIM,
    JobSettings,
    batches,
    claims,
    job,
    job_name,
    newest_ready,
)
from shared.archive.layout import stamp
from shared.events import ClassEvent
from shared.events.catalogue import BACKUP_COPY, BackupCopyData
from shared.handlers.context import Context
from shared.handlers.registry import on
from shared.stack.manifests import settings_of

EVENT = "classops.edu/event-id"
SNAPSHOTS = "snapshot.storage.k8s.io/v1"


@on(BACKUP_COPY)
def copy_snapshots(event: ClassEvent[BackupCopyData], ctx: Context) -> Sequence[Action]:
    timetable = schedule(ctx)
    if timetable is None:
        return []
    namespace = ctx.settings.namespace
    found = [o.raw for o in ctx.kube.list(SNAPSHOTS, "VolumeSnapshot", namespace,
                                          "app.kubernetes.io/managed-by=classops")
             if not event.data.snapshot_run or
             (o.metadata.get("annotations") or {}).get(EVENT) == event.data.snapshot_run]
    notes = {str(o["metadata"]["name"]): o["metadata"].get("annotations") or {} for o in found}
    sources = []
    for s in newest_ready(found):
        claim = ctx.kube.get("v1", "PersistentVolumeClaim", notes[s.snapshot].get(CLAIM, ""),
                             namespace) if notes[s.snapshot].get(CLAIM) else None
        storage_class = str((claim.spec if claim else {}).get("storageClassName") or "")
        sources.append(dataclasses.replace(s, storage_class=storage_class))
    settings = JobSettings(namespace, settings_of(timetable).classops_image,
                           f"{timetable.course}/{timetable.term.name}")
    actions: list[Action] = []
    for members in batches(sources, settings.batch):
        name = job_name(stamp(members[0].at), members)
        actions.append(RunArchiveJob(
            job(name, members, settings), "", members[0].snapshot, settings.prefix,
            tuple(claims(name, members, namespace)), tuple(str(m.owner) for m in members),
            wait_seconds=settings.deadline_seconds + 300))
    return actions
