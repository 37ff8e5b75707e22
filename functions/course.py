"""The course's timetable as the functions read it: the context's (the plan's, with its overlay;
serve's schedule) or else the `classops-schedule` ConfigMap classops runs from (the cluster holds
the state). One reader for every function, so they all fail the same way on a missing or invalid
schedule."""

from __future__ import annotations

from functools import lru_cache

from shared.handlers.context import Context
from shared.handlers.registry import PermanentError
from shared.stack.admin import SCHEDULE_CONFIGMAP, SCHEDULE_KEY
from shared.timetable import Timetable, TimetableError, loads


def timetable(ctx: Context, required: bool = True) -> Timetable | None:
    """The schedule; None in a plan without a cluster, or when not `required` and absent or
    invalid. A required schedule that is missing or invalid is a PermanentError."""
    if ctx.timetable is not None:
        return ctx.timetable
    namespace = ctx.settings.namespace
    found = ctx.kube.get("v1", "ConfigMap", SCHEDULE_CONFIGMAP, namespace)
    if found is None:
        if ctx.assumed or not required:
            return None
        raise PermanentError(f"no ConfigMap {namespace}/{SCHEDULE_CONFIGMAP}: apply the "
                             f"classops part first (classops render --parts classops)")
    try:
        return _parsed(str((found.raw.get("data") or {}).get(SCHEDULE_KEY, "")),
                       f"configmap {namespace}/{SCHEDULE_CONFIGMAP}")
    except TimetableError as err:
        if not required:
            return None
        raise PermanentError(f"the schedule is invalid: {err.problems[0]}") from err


@lru_cache(maxsize=4)
def _parsed(text: str, file: str) -> Timetable:
    """The same text is parsed once: a watch-driven handler reads the schedule on every event
    (the timetable is frozen, so one parse can be shared; an invalid text is not kept)."""
    return loads(text, file)
