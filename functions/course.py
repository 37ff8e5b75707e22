"""The course's timetable as the backup functions read it: the `classops-schedule` ConfigMap
classops runs from (the cluster holds the state). None in a plan without a cluster."""

from __future__ import annotations

from shared.handlers.context import Context
from shared.handlers.registry import PermanentError
from shared.timetable import Timetable, TimetableError, loads

SCHEDULE_CONFIGMAP, SCHEDULE_KEY = "classops-schedule", "schedules.yaml"


def timetable(ctx: Context, required: bool = True) -> Timetable | None:
    namespace = ctx.settings.namespace
    found = ctx.kube.get("v1", "ConfigMap", SCHEDULE_CONFIGMAP, namespace)
    if found is None:
        if ctx.assumed or not required:
            return None
        raise PermanentError(f"no ConfigMap {namespace}/{SCHEDULE_CONFIGMAP}: apply the "
                             f"classops part first (classops render --parts classops)")
    try:
        return loads(str((found.raw.get("data") or {}).get(SCHEDULE_KEY, "")),
                     f"configmap {namespace}/{SCHEDULE_CONFIGMAP}")
    except TimetableError as err:
        if not required:
            return None
        raise PermanentError(f"the schedule is invalid: {err.problems[0]}") from err
