"""The executor does Actions; the dry-run executor prints them. Both take the same list.

For each action the `Executor`
- applies it through the ports (`applying`), retrying the whole (idempotent) applier on
  409/429/5xx and on no answer, with exponential back-off, or exactly the server's Retry-After
  when it sent one (the Kubernetes port turns urllib3's own status retries off, so the wait is
  never doubled);
- records a Kubernetes Event (events.k8s.io/v1) on the object it changed, named from the event id
  and the action so a re-run finds it there instead of adding another; nothing changed, no Event;
- counts it in Prometheus (`classops_actions_total{action, outcome}`) and logs one JSON line
  carrying the event id.
A failing action does not stop the next ones: each gets its `Result`; one that says what it
`regarding()` gets a Warning Event there (a failed snapshot shows on its PVC).

Actions marked `parallel` (snapshots: each waits for its own `readyToUse`) run `workers` at a
time when they come one after another; the rest run in order. After each `execute()` the
results go, as one batch, to every sink (`sinks`: the term ledger), whatever the capability.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, TextIO

from shared.actions.applying import Done, Part, Ports, Ref, Refused, create, do
from shared.actions.model import Action
from shared.logs import Bound, bind
from shared.ports.errors import ApiError

if TYPE_CHECKING:  # prometheus_client loads with the runtime; the dry run needs no metrics
    from shared.metrics import Metrics

CONTROLLER = "classops.edu/executor"


@dataclass(frozen=True)
class Backoff:
    attempts: int = 5  # tries in all, the first included
    base: float = 0.5  # seconds before the second try; doubles each time
    cap: float = 30.0
    max_retry_after: float = 120.0  # a longer Retry-After is cut to this

    def delay(self, attempt: int, err: ApiError) -> float:
        if err.retry_after is not None:
            return min(err.retry_after, self.max_retry_after)
        return min(self.cap, self.base * 2 ** (attempt - 1))


@dataclass(frozen=True)
class Result:
    action: Action
    outcome: Literal["changed", "unchanged", "failed", "planned"]
    detail: str = ""
    attempts: int = 1
    at: datetime | None = None  # when it ended (the ledger's time)
    parts: tuple[Part, ...] = ()  # each student's own outcome (an action serving several)

    def as_dict(self) -> dict[str, Any]:
        return {**self.action.as_dict(), "outcome": self.outcome, "detail": self.detail}


Sink = Callable[[Sequence[Result], str], None]  # (one execute()'s results, the event id)


class Executor:
    def __init__(self, ports: Ports, metrics: Metrics, clock: Callable[[], datetime],
                 log: logging.Logger | Bound | None = None, backoff: Backoff = Backoff(),
                 sleep: Callable[[float], None] = time.sleep, instance: str = "classops",
                 sinks: Sequence[Sink] = (), workers: int = 8) -> None:
        self.ports, self.metrics, self.clock = ports, metrics, clock
        self.log = bind(log or logging.getLogger("classops.executor"))
        self.backoff, self.sleep, self.instance = backoff, sleep, instance
        self.sinks, self.workers = list(sinks), max(1, workers)

    def execute(self, actions: Sequence[Action], event_id: str) -> list[Result]:
        results: list[Result] = []
        i = 0
        while i < len(actions):
            j = i
            while j < len(actions) and actions[j].parallel:
                j += 1
            if j - i > 1 and self.workers > 1:
                with ThreadPoolExecutor(min(self.workers, j - i),
                                        thread_name_prefix="action") as pool:
                    results += pool.map(lambda a: self.one(a, event_id), actions[i:j])
                i = j
            else:
                results.append(self.one(actions[i], event_id))
                i += 1
        for sink in self.sinks:
            try:
                sink(results, event_id)
            except Exception as err:  # a sink (the ledger) never undoes what was done
                self.log.error("result sink failed: %s", err, extra={"event_id": event_id})
        return results

    def one(self, action: Action, event_id: str) -> Result:
        name = type(action).__name__
        log = bind(self.log, event_id=event_id, action=name, target=action.target)
        started = time.monotonic()
        refused: list[Refused] = []
        done, attempts, error = self._retrying(lambda: do(self.ports, action), log, refused)
        self.metrics.action_seconds.labels(name).observe(time.monotonic() - started)
        if done is None:
            self.metrics.actions.labels(name, "failed").inc()
            log.error("action failed: %s", error, extra={"attempts": attempts})
            regarding = action.regarding()
            if regarding is not None:
                self._record(action, Ref(*regarding), event_id, error, log, failed=True)
            return Result(action, "failed", error, attempts, self.clock(),
                          refused[-1].parts if refused else ())
        outcome: Literal["changed", "unchanged"] = "changed" if done.changed else "unchanged"
        self.metrics.actions.labels(name, outcome).inc()
        log.info("%s %s: %s", action.verb, action.target, done.detail,
                 extra={"outcome": outcome, "attempts": attempts})
        if done.changed and done.touched is not None:
            self._record(action, done.touched, event_id, done.detail, log)
        return Result(action, outcome, done.detail, attempts, self.clock(), done.parts)

    def _retrying(self, call: Callable[[], Done], log: Bound,
                  refused: list[Refused] | None = None) -> tuple[Done | None, int, str]:
        """(done, attempts, "") or (None, attempts, why); a `Refused` goes into `refused` too
        (its `parts`: each student's outcome of a failed batch)."""
        for attempt in range(1, self.backoff.attempts + 1):
            try:
                return call(), attempt, ""
            except ApiError as err:
                if not err.retryable or attempt == self.backoff.attempts:
                    return None, attempt, str(err)
                wait = self.backoff.delay(attempt, err)
                self.metrics.retries.labels(err.system, str(err.status)).inc()
                # A 409 is optimistic concurrency at work (someone wrote the object between
                # our read and write), an everyday retry; other refusals are worth a warning.
                say = log.info if err.status == 409 else log.warning
                say("retrying in %.2f s: %s", wait, err, extra={"attempt": attempt})
                self.sleep(wait)
            except (Refused, TimeoutError, KeyError, ValueError) as err:
                if isinstance(err, Refused) and refused is not None:
                    refused.append(err)
                return None, attempt, f"{type(err).__name__}: {err}"
        raise AssertionError("unreachable")

    def _record(self, action: Action, ref: Ref, event_id: str, detail: str, log: Bound,
                failed: bool = False) -> None:
        """A Kubernetes Event on the touched object; best effort, never fails the action."""
        mark = "|failed" if failed else ""
        digest = hashlib.sha256(f"{event_id}|{action.describe()}{mark}".encode()).hexdigest()[:16]
        namespace = ref.namespace or "default"
        event = {
            "apiVersion": "events.k8s.io/v1", "kind": "Event",
            "metadata": {"name": f"{ref.name}.{digest}", "namespace": namespace,
                         "annotations": {"classops.edu/event-id": event_id}},
            "eventTime": self.clock().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "reportingController": CONTROLLER, "reportingInstance": self.instance,
            "action": type(action).__name__,
            "reason": f"{action.verb.capitalize()}Failed" if failed else action.verb.capitalize(),
            "type": "Warning" if failed else "Normal", "regarding": ref.as_dict(),
            "note": (f"{'FAILED ' if failed else ''}{action.describe()} ({detail}) for "
                     f"{event_id}")[:1024],
        }
        done, _, error = self._retrying(lambda: create(self.ports, event), log)
        if done is None:
            log.warning("could not record a Kubernetes Event: %s", error)


class DryRunExecutor:
    """Does nothing; says what would be done, as a table or JSON lines, to `out` (if given)."""

    def __init__(self, out: TextIO | None = None, output: str = "table") -> None:
        self.out, self.output = out, output

    def execute(self, actions: Sequence[Action], event_id: str) -> list[Result]:
        results = [Result(a, "planned") for a in actions]
        if self.out is not None and actions:
            text = (as_json(actions, event_id) if self.output == "json"
                    else as_table([(event_id, a) for a in actions]))
            print(text, file=self.out)
        return results


def as_table(rows: Sequence[tuple[str, Action]]) -> str:
    """One line per action: EVENT, VERB, TARGET, DETAIL; `!` marks a destructive one."""
    cells = [(event_id, ("! " if a.destructive else "") + a.verb, a.target, a.detail())
             for event_id, a in rows]
    titles = ("EVENT", "VERB", "TARGET", "DETAIL")
    widths = [max(len(r[i]) for r in [titles, *cells]) for i in range(3)]
    return "\n".join(("  ".join(c.ljust(w) for c, w in zip(r[:3], widths, strict=True))
                      + "  " + r[3]).rstrip() for r in [titles, *cells])


def as_json(actions: Sequence[Action], event_id: str) -> str:
    return "\n".join(json.dumps({"event_id": event_id, **a.as_dict()}, sort_keys=True)
                     for a in actions)
