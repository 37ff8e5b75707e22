"""Prune students' snapshots on `retention.due` with restic's rules (`shared.backup.retention`):
per user, server and reason, in the course's timezone; deadline snapshots kept to the end of
term, `final` ones always, and the newest ready one of every volume whatever the policy. Only
snapshots classops took are considered (labelled managed-by classops, with a reason), and none
already being deleted. Deleting
is destructive: `classops prune` shows these actions and does them only with `--confirm`.
Each deletion names its student (the snapshot's raw username and server annotations), so the
term ledger files it under them and `classops history USER` lists it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time, timedelta

from shared.actions.model import Action, DeleteVolumeSnapshot
from shared.backup import naming, policy
from shared.backup.inventory import held
from shared.events import RETENTION_DUE, ClassEvent, RetentionData
from shared.handlers.context import Context
from shared.handlers.registry import PermanentError, on

from .course import timetable

SNAPSHOTS = "snapshot.storage.k8s.io/v1"
SELECTOR = f"{naming.MANAGED_BY}=classops,{naming.REASON}"


def rules_of(event: ClassEvent[RetentionData]) -> policy.Policy:
    """The event's retention policy (the schedule's); one that keeps nothing is refused."""
    d = event.data
    try:
        return policy.Policy(d.keep_last, d.keep_hourly, d.keep_daily, d.keep_weekly,
                             d.keep_monthly)
    except ValueError as err:
        raise PermanentError(str(err)) from err


def decisions(event: ClassEvent[RetentionData], ctx: Context) -> list[policy.Decision]:
    course = timetable(ctx, required=False)
    if course is None:  # no term end, no timezone: deleting nothing is the safe answer
        if not ctx.assumed:
            ctx.log.warning("no readable classops-schedule ConfigMap: nothing pruned")
        return []
    rules = rules_of(event)
    term = course.term
    end = datetime.combine(term.end + timedelta(days=1), time(0), term.timezone)
    found = [h for o in ctx.kube.list(SNAPSHOTS, "VolumeSnapshot", ctx.settings.namespace,
                                      SELECTOR)
             if not o.metadata.get("deletionTimestamp") and (h := held(o.raw)) is not None]
    return policy.plan(found, rules, term.timezone, ctx.clock(), end)


@on(RETENTION_DUE)
def prune(event: ClassEvent[RetentionData], ctx: Context) -> Sequence[Action]:
    return [DeleteVolumeSnapshot(d.snapshot.namespace or ctx.settings.namespace,
                                 d.snapshot.name, d.snapshot.user, d.snapshot.server)
            for d in decisions(event, ctx) if not d.keep]
