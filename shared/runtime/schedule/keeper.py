"""The handler that keeps calendar changes (`edu.classops.calendar.changed`) in the overlay's
ConfigMap, through the executor; `serve` registers it beside the functions when it runs a
scheduler. Idempotent by event id: a change already kept is not appended again.
"""

from __future__ import annotations

import json

from shared.actions.model import Action, ApplyManifest
from shared.events import CALENDAR_CHANGED, CalendarChangedData, ClassEvent
from shared.handlers.context import Context
from shared.handlers.registry import Registry, on
from shared.runtime.schedule.overlay import OVERLAY, manifest


def register_calendar(registry: Registry) -> None:
    """The handler that keeps calendar changes in the overlay (idempotent by event id)."""
    if any(h.id == "classops.calendar-overlay" for h in registry):
        return

    @on(CALENDAR_CHANGED, id="classops.calendar-overlay", registry=registry)
    def keep_change(event: ClassEvent[CalendarChangedData], ctx: Context) -> list[Action]:
        found = ctx.kube.get("v1", "ConfigMap", OVERLAY, ctx.settings.namespace)
        changes = json.loads((found.raw.get("data") or {}).get("changes", "[]")) if found else []
        if any(c.get("event") == event.id for c in changes):
            return []
        changes.append({**event.data.to_data(), "event": event.id})
        return [ApplyManifest(manifest(ctx.settings.namespace, changes),
                              field_manager="classops-calendar")]
