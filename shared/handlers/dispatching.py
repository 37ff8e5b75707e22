"""Dispatch: run every handler registered for an event, each on its own.

One failing handler never stops the others: each run ends in an `Outcome` (`ok` with its
actions, `retry` after a `TemporaryError` or an unexpected exception, `failed` after a
`PermanentError` or a handler that returned something other than a list of Actions). Unexpected
exceptions are retried, as kopf does by default: a bug fixed and redeployed then catches up.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from shared.actions.model import Action
from shared.events import Event
from shared.handlers.context import Context
from shared.handlers.registry import PermanentError, Registry, TemporaryError

if TYPE_CHECKING:  # prometheus_client loads with the runtime, not with `classops plan`
    from shared.metrics import Metrics

DEFAULT_DELAY = 60.0


@dataclass(frozen=True)
class Outcome:
    handler: str
    status: Literal["ok", "retry", "failed"]
    actions: tuple[Action, ...] = ()
    error: str = ""
    delay: float | None = None  # retry: after this many seconds


def dispatch(event: Event, ctx: Context, registry: Registry,
             metrics: Metrics | None = None) -> list[Outcome]:
    outcomes = []
    for handler in registry.handlers_for(event):
        hctx = ctx.bound(event_id=event.id, event_type=event.type, handler=handler.id)
        outcome = _run(handler.id, handler.fn, event, hctx)
        if outcome.status == "ok":
            hctx.log.debug("handler decided", extra={"actions": len(outcome.actions)})
        else:
            hctx.log.warning("handler %s: %s", outcome.status, outcome.error,
                             extra={"delay": outcome.delay})
        if metrics is not None:
            metrics.handlers.labels(handler.id, outcome.status).inc()
        outcomes.append(outcome)
    return outcomes


def _run(hid: str, fn: object, event: Event, ctx: Context) -> Outcome:
    assert callable(fn)
    try:
        result = fn(event, ctx)
    except TemporaryError as err:
        return Outcome(hid, "retry", error=str(err), delay=err.delay)
    except PermanentError as err:
        return Outcome(hid, "failed", error=str(err))
    except Exception as err:
        ctx.log.exception("handler raised %s", type(err).__name__)
        return Outcome(hid, "retry", error=f"{type(err).__name__}: {err}", delay=DEFAULT_DELAY)
    if not isinstance(result, Sequence) or isinstance(result, str) or not all(
            isinstance(a, Action) for a in result):
        return Outcome(hid, "failed", error=f"returned {type(result).__name__}, expected a "
                                            f"list of Actions")
    return Outcome(hid, "ok", tuple(result))
