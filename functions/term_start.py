"""At term start, deploy the hub stack: every object of the `hub` part applied (server-side,
as `classops`), the generated secrets created if absent, and a new placeholder set scaled to 0.

The course config is the `schedules.yaml` classops itself runs from, read from its ConfigMap
(`classops-schedule`): the cluster holds the state, not the process. Applying an unchanged object
changes nothing, so this handler may fire twice. It never prunes: deleting is the operator's
`classops deploy --prune`. In a plan without a cluster there is no ConfigMap to read: no actions.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from shared.actions.model import Action
from shared.events import ClassEvent
from shared.events.catalogue import TERM_START, TermData
from shared.handlers.context import Context
from shared.handlers.registry import PermanentError, on
from shared.stack import secrets
from shared.stack.admin import SCHEDULE_CONFIGMAP, SCHEDULE_KEY
from shared.stack.manifests import render, settings_of
from shared.stack.plan import actions, classify
from shared.timetable import TimetableError, loads


@on(TERM_START)
def deploy_stack(event: ClassEvent[TermData], ctx: Context) -> Sequence[Action]:
    namespace = ctx.settings.namespace
    found = ctx.kube.get("v1", "ConfigMap", SCHEDULE_CONFIGMAP, namespace)
    if found is None:
        if ctx.assumed:
            return []
        raise PermanentError(f"no ConfigMap {namespace}/{SCHEDULE_CONFIGMAP}: apply the "
                             f"classops part first (classops render --parts classops)")
    text = str((found.raw.get("data") or {}).get(SCHEDULE_KEY, ""))
    try:
        timetable = loads(text, f"configmap {namespace}/{SCHEDULE_CONFIGMAP}")
    except TimetableError as err:
        raise PermanentError(f"the schedule is invalid: {err.problems[0]}") from err
    settings = settings_of(timetable)
    if namespace:
        settings = dataclasses.replace(settings, namespace=namespace)
    entries = []
    for manifest in render(settings, parts=("hub",)):
        meta = manifest["metadata"]
        live = ctx.kube.get(manifest["apiVersion"], manifest["kind"], meta["name"],
                            meta.get("namespace", ""))
        entries.append(classify(manifest, live.raw if live else None, None))
    missing = [w.manifest(settings, secrets.new_token) for w in secrets.wanted()
               if ctx.kube.get("v1", "Secret", w.name, settings.namespace) is None]
    return actions(entries, missing)
