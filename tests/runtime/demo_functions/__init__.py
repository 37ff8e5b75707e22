"""A functions package for the runtime's tests, loaded by name by `classops serve` subprocesses.

Each handler writes a ConfigMap naming the replica that acted (server-side apply: idempotent)
and appends one line to `$CLASSOPS_TEST_RUNLOG`, so a test counts how often each one ran.
"""

from __future__ import annotations

import hashlib
import os
from typing import Any

from shared.actions.model import Action, ApplyManifest
from shared.events import ROSTER_CHANGED, ClassEvent, WatchEvent
from shared.handlers.context import Context
from shared.handlers.registry import on, on_watch


def note(line: str) -> None:
    path = os.environ.get("CLASSOPS_TEST_RUNLOG")
    if path:
        with open(path, "a") as f:
            f.write(line + "\n")


@on(ROSTER_CHANGED, id="roster")
def roster(event: ClassEvent[Any], ctx: Context) -> list[Action]:
    note(f"roster {ctx.settings.identity} {event.id}")
    name = "roster-" + hashlib.sha256(event.id.encode()).hexdigest()[:10]
    return [ApplyManifest({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
        "name": name, "namespace": ctx.settings.namespace},
        "data": {"by": ctx.settings.identity, "size": str(event.data.size)}})]


@on_watch(kind="ConfigMap", labels={"demo": None}, id="demo-watch")
def demo(event: WatchEvent, ctx: Context) -> list[Action]:
    note(f"watch {ctx.settings.identity} {event.action} {event.object.name} "
         f"{event.object.resource_version}")
    return []
