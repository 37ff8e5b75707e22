"""The handler that keeps calendar changes (`edu.classops.calendar.changed`) in the overlay,
through the executor; `serve` registers it beside the functions when it runs a scheduler.

Each change is one small ConfigMap named after its event (`overlay.change_manifest`), created
once: idempotent by event id without reading anything, and the outcome record names one small
object, whatever the number of changes kept before it.
"""

from __future__ import annotations

from shared.actions.model import Action, CreateObject
from shared.events import CALENDAR_CHANGED, CalendarChangedData, ClassEvent
from shared.handlers.context import Context
from shared.handlers.registry import Registry, on
from shared.runtime.schedule.overlay import change_manifest


def register_calendar(registry: Registry) -> None:
    """The handler that keeps calendar changes in the overlay (idempotent by event id)."""
    if any(h.id == "classops.calendar-overlay" for h in registry):
        return

    @on(CALENDAR_CHANGED, id="classops.calendar-overlay", registry=registry)
    def keep_change(event: ClassEvent[CalendarChangedData], ctx: Context) -> list[Action]:
        return [CreateObject(change_manifest(ctx.settings.namespace, event.source, event.id,
                                             event.data.to_data(), event.time, ctx.clock()))]
