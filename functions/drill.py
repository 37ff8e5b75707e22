"""The restore drill (`drill.due`, weekly by default): restore `data.sample` students' newest
copies, chosen at random seeded by the event's id, to a scratch folder and compare them with
their manifests. The outcome goes to the ledger; a failure also to the failure webhook.

The course prefix (`COURSE/TERM`) is the schedule's, read from the `classops-schedule`
ConfigMap as every function reads it; whose copies exist is a listing of the bucket. In a plan
without a cluster or a bucket there is nothing to choose from: no actions.
"""

from __future__ import annotations

from collections.abc import Sequence

from shared.actions.model import Action, RestoreDrill
from shared.archive.sampling import choose, owners
from shared.events import ClassEvent
from shared.events.catalogue import DRILL_DUE, DrillData
from shared.handlers.context import Context
from shared.handlers.registry import PermanentError, on
from shared.stack.admin import SCHEDULE_CONFIGMAP, SCHEDULE_KEY
from shared.timetable import Timetable, TimetableError, loads


def schedule(ctx: Context) -> Timetable | None:
    """The schedule classops runs from (its ConfigMap); None in a plan without a cluster."""
    namespace = ctx.settings.namespace
    found = ctx.kube.get("v1", "ConfigMap", SCHEDULE_CONFIGMAP, namespace)
    if found is None:
        if ctx.assumed:
            return None
        raise PermanentError(f"no ConfigMap {namespace}/{SCHEDULE_CONFIGMAP}: apply the "
                             f"classops part first (classops render --parts classops)")
    try:
        return loads(str((found.raw.get("data") or {}).get(SCHEDULE_KEY, "")),
                     f"configmap {namespace}/{SCHEDULE_CONFIGMAP}")
    except TimetableError as err:
        raise PermanentError(f"the schedule is invalid: {err.problems[0]}") from err


def course_prefix(ctx: Context) -> str | None:
    """`COURSE/TERM`: where the course's copies live in the bucket."""
    timetable = schedule(ctx)
    return f"{timetable.course}/{timetable.term.name}" if timetable else None


@on(DRILL_DUE)
def restore_drill(event: ClassEvent[DrillData], ctx: Context) -> Sequence[Action]:
    prefix = course_prefix(ctx)
    if prefix is None:
        return []
    keys = (o.key for o in ctx.s3.objects(prefix + "/"))
    chosen = choose(owners(keys, prefix), event.id, event.data.sample)
    if not chosen and not ctx.assumed:
        raise PermanentError(f"no copies under {prefix}/ to restore: the drill proves nothing")
    return [RestoreDrill(prefix, o.user, o.server, event.id) for o in chosen]
