"""At term end (`edu.classops.term.end`, or `classops archive-term`): close the hub, stop every
server, wait until no pod mounts a user's PVC, take each user's final snapshot, then the hub
database's with the hub scaled to 0 (a live sqlite copy can be torn), and bring the hub back so
students see the announcement. It deletes nothing: deleting is `classops teardown --confirm`.

Closing the hub is the `hub-term-end` ConfigMap, which the hub reads live (a pre-spawn hook
refuses non-admins, `template_vars` shows the announcement): what z2jh operators do by hand with
a `helm upgrade`, without restarting the hub or anyone's session. The final snapshots are named
from the event's time, so the same event twice takes them once, and a later run (a student who
wrote after the final snapshot) takes new ones. Last, it asks for their copies (`backup.copy`
with this event's id as `snapshot_run`); verifying them and the term index follow
(`classops archive-term`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from functions import course
from shared.actions.model import (
    DEPLOY_MANAGER,
    Action,
    ApplyManifest,
    AwaitSnapshotsReady,
    AwaitUnmounted,
    CreateVolumeSnapshot,
    EmitEvent,
    ScaleWorkload,
    StopServer,
    snapshot_name,
)
from shared.events import ClassEvent
from shared.events.catalogue import BACKUP_COPY, TERM_END, TermData
from shared.handlers.context import Context
from shared.handlers.registry import on
from shared.stack.config import HubSettings
from shared.stack.manifests import settings_of
from shared.teardown.notes import announcement, closing_config

USER_STORAGE = "component=singleuser-storage"
USERNAME = "hub.jupyter.org/username"
FINAL = "final"
PURPOSE = "classops.edu/purpose"
HUB_DB = "hub-db-dir"
#: The owner the hub database's copy is filed under (a hub username never starts with "_" in
#: the course's hubs; the archive's folder is then `COURSE/TERM/_classops-hub-db/`).
HUB_DB_OWNER = "_classops-hub-db"
# What the copies capability reads on a snapshot (`backup.copy` with `snapshot_run` = this
# event's id copies exactly these): who, when it stands for, which claim, which event.
MANAGED = {"app.kubernetes.io/managed-by": "classops", PURPOSE: FINAL}
TAKEN_FOR, CLAIM, EVENT = "classops.edu/at", "classops.edu/claim", "classops.edu/event-id"


def _notes(event: ClassEvent[TermData], claim: str, owner: dict[str, str]) -> dict[str, str]:
    return {**owner, TAKEN_FOR: event.time.isoformat(), CLAIM: claim, EVENT: event.id}


def _hub_settings(event: ClassEvent[TermData], ctx: Context) -> HubSettings:
    namespace = ctx.settings.namespace
    timetable = course.timetable(ctx)
    if timetable is None:  # a plan without a cluster
        return HubSettings(course=event.data.course, namespace=namespace)
    settings = settings_of(timetable)
    return dataclasses.replace(settings, namespace=namespace) if namespace else settings


@on(TERM_END)
def end_term(event: ClassEvent[TermData], ctx: Context) -> Sequence[Action]:
    settings = _hub_settings(event, ctx)
    ns, at, data = settings.namespace, event.time, event.data
    actions: list[Action] = [ApplyManifest(closing_config(
        settings, announcement(data.course, data.term, data.end)))]
    actions += [StopServer(u.name, s.name) for u in ctx.hub.users() for s in u.servers]
    claims = sorted(ctx.kube.list("v1", "PersistentVolumeClaim", ns, USER_STORAGE),
                    key=lambda p: p.name)
    actions.append(AwaitUnmounted(ns, tuple(p.name for p in claims)))
    finals = [CreateVolumeSnapshot(
        ns, snapshot_name(p.name, FINAL, at), p.name, labels=MANAGED,
        annotations=_notes(event, p.name, {k: v for k, v in (p.metadata.get("annotations")
                                                            or {}).items()
                                           if k.startswith("hub.jupyter.org/")}))
        for p in claims]
    actions += finals
    actions.append(AwaitSnapshotsReady(ns, tuple(f.name for f in finals)))
    hub_db = snapshot_name(HUB_DB, FINAL, at)
    actions += [
        ScaleWorkload(ns, "hub", 0, kind="Deployment", field_manager=DEPLOY_MANAGER),
        AwaitUnmounted(ns, (HUB_DB,)),
        CreateVolumeSnapshot(ns, hub_db, HUB_DB, labels=MANAGED,
                             annotations=_notes(event, HUB_DB, {USERNAME: HUB_DB_OWNER})),
        AwaitSnapshotsReady(ns, (hub_db,)),
        ScaleWorkload(ns, "hub", 1, kind="Deployment", field_manager=DEPLOY_MANAGER),
        # the copies of exactly these snapshots (the copies capability's `backup.copy`)
        EmitEvent(BACKUP_COPY, f"copy-final/{event.id}", data.course,
                  {"cron": "", "snapshot_run": event.id}),
    ]
    return actions
