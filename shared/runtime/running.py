"""Run one event: its handlers decide (`dispatch`), the executor acts, and the outcome is
summed up as JSON for the event's record (the inbox entry, `classops events`).

The runner acts only while `leading()` is true; it is asked before the handlers run and again
before the executor acts, so a leader that lost its Lease mid-event stops at the next step.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Protocol

from shared.actions.executor import Result
from shared.actions.model import Action
from shared.events import Event
from shared.handlers.context import Context
from shared.handlers.dispatching import DEFAULT_DELAY, dispatch
from shared.handlers.registry import Registry
from shared.metrics import Metrics


class Executes(Protocol):
    def execute(self, actions: Sequence[Action], event_id: str) -> list[Result]: ...


class NotLeading(Exception):
    """The Lease was lost while the event was being handled; it stays pending."""


class Runner:
    def __init__(self, registry: Registry, context: Context, executor: Executes,
                 metrics: Metrics, leading: Callable[[], bool]) -> None:
        self.registry, self.context, self.executor = registry, context, executor
        self.metrics, self.leading = metrics, leading

    def run(self, event: Event) -> dict[str, Any]:
        """`{"handlers": [...], "retry": seconds | None, "failed": bool, "at": ...}`."""
        if not self.leading():
            raise NotLeading(event.id)
        outcomes = dispatch(event, self.context, self.registry, self.metrics)
        handlers, retry, failed = [], None, False
        for outcome in outcomes:
            if not self.leading():
                raise NotLeading(event.id)
            results = [r.as_dict() for r in self.executor.execute(outcome.actions,
                                                                  event.id)]
            status = outcome.status
            if status == "ok" and any(r["outcome"] == "failed" for r in results):
                status = "retry"  # the executor's own retries are spent; run it all later
            if status == "retry":
                delay = outcome.delay if outcome.delay is not None else DEFAULT_DELAY
                retry = delay if retry is None else max(retry, delay)
            failed = failed or status == "failed"
            handlers.append({"handler": outcome.handler, "status": status,
                             "error": outcome.error, "actions": results})
        return {"handlers": handlers, "retry": retry, "failed": failed,
                "at": _now(self.context.clock)}


def _now(clock: Callable[[], datetime]) -> str:
    return clock().isoformat()
