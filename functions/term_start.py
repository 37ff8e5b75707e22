"""At term start, deploy the hub stack: every object of the `hub` part applied (server-side,
as `classops`), the generated secrets created if absent, and a new placeholder set scaled to 0.

The course config is the schedule being run (`functions.course`: the plan's or serve's, else
the `classops-schedule` ConfigMap): the cluster holds the state, not the process. Applying an
unchanged object changes nothing, so this handler may fire twice. It never prunes: deleting is
the operator's `classops deploy --prune`. In a plan without a cluster: no actions.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from functions import course
from shared.actions.model import Action
from shared.events import ClassEvent
from shared.events.catalogue import TERM_START, TermData
from shared.handlers.context import Context
from shared.handlers.registry import on
from shared.stack import secrets
from shared.stack.manifests import render, settings_of
from shared.stack.plan import actions, classify


@on(TERM_START)
def deploy_stack(event: ClassEvent[TermData], ctx: Context) -> Sequence[Action]:
    if ctx.assumed:  # a plan without a cluster: nothing live to compare with
        return []
    namespace = ctx.settings.namespace
    timetable = course.timetable(ctx)
    assert timetable is not None  # required: missing or invalid is a PermanentError
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
