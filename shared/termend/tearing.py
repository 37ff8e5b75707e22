"""Carry a teardown plan out: user by user, each user's deletes in order; after a user's last
delete, a record `teardown/USER.json` beside the term index. Then the stack (placeholders to 0,
the hub stack), then the namespace if asked and allowed.

The first failure (after the executor's retries) stops the run, stack included: a destructive
run that meets the unexpected waits for a person to look, and running it again continues.
Outcomes go to the executor's sinks (the term ledger) every `batch` users and at the end.

Resuming: a second run skips every user with a record, and a user it was in the middle of has
some objects gone already; the appliers read before they delete, so a gone object is "already
gone", never a second DELETE. A crash between a user's last delete and its record costs one
GET per object next time, nothing more.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from shared.actions.executor import Executor, Result
from shared.ports.s3 import S3
from shared.teardown.decisions import Plan
from shared.teardown.term_index import TornDown, record_key


@dataclass
class Outcome:
    failures: dict[tuple[str, str], str] = field(default_factory=dict)
    finished: list[tuple[str, str]] = field(default_factory=list)
    stack: list[Result] = field(default_factory=list)
    namespace: Result | None = None

    @property
    def failed(self) -> bool:
        return bool(self.failures) or any(r.outcome == "failed" for r in self.stack) or (
            self.namespace is not None and self.namespace.outcome == "failed")


def flush(executor: Executor, results: list[Result], event_id: str) -> None:
    """Hand `results` to the executor's sinks (the ledger), as `execute` does for a batch."""
    for sink in executor.sinks if results else ():
        try:
            sink(list(results), event_id)
        except Exception as err:  # the ledger never undoes what was done
            executor.log.error("result sink failed: %s", err, extra={"event_id": event_id})
    results.clear()


def carry_out(plan: Plan, executor: Executor, s3: S3, prefix: str,
              clock: Callable[[], datetime], event_id: str,
              progress: Callable[[str], None] | None = None, batch: int = 50) -> Outcome:
    outcome = Outcome()
    todo = [r for r in plan.rows if r.decision == "delete"]
    done: list[Result] = []
    for n, row in enumerate(todo, 1):
        deleted: list[str] = []
        for action in row.actions:
            result = executor.one(action, event_id)
            done.append(result)
            if result.outcome == "failed":
                outcome.failures[row.owner] = f"{action.describe()}: {result.detail}"
                break
            deleted.append(action.target)
        if outcome.failures:
            flush(executor, done, event_id)
            if progress is not None:
                progress(f"stopped at {row.user} after {len(outcome.finished)} of {len(todo)} "
                         "users: run again to continue")
            return outcome
        record = TornDown(row.user, row.server, (*row.earlier, *deleted), clock().isoformat())
        s3.put_bytes(record_key(prefix, row.user, row.server), record.to_json(),
                     "application/json")
        outcome.finished.append(row.owner)
        if n % batch == 0:
            flush(executor, done, event_id)
        if progress is not None and (n % 25 == 0 or n == len(todo)):
            progress(f"torn down {len(outcome.finished)} of {len(todo)} users")
    flush(executor, done, event_id)
    outcome.stack = executor.execute(list(plan.stack), event_id)
    if plan.namespace is not None and not outcome.failed:
        outcome.namespace = executor.one(plan.namespace, event_id)
    return outcome
