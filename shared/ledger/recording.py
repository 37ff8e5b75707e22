"""The executor's ledger hook, and the ledger a process writes to.

`LedgerSink(ledger)` is an executor sink: each `execute()` call's results (any capability's:
warm-up scales, snapshots, copies) become one ledger batch; a batch's copy Job becomes one
record per student (`records_of`). `open_ledger` finds the course and
term the way the rest of classops does: the schedule file the process runs from
(`CLASSOPS_SCHEDULE`), else the `classops-schedule` ConfigMap of the namespace.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from shared.settings import Settings
from shared.timetable import Timetable, TimetableError, load, loads

from .notify import Webhook
from .records import records_of
from .storage import Ledger

if TYPE_CHECKING:
    from shared.ports.kube import Kube
    from shared.ports.s3 import S3

SCHEDULE_CONFIGMAP, SCHEDULE_KEY = "classops-schedule", "schedules.yaml"


class LedgerSink:
    """Appends each batch of results to the ledger. `ledger` may be a provider called at each
    batch until it gives one (a `serve` started before its schedule ConfigMap exists)."""

    def __init__(self, ledger: Ledger | Callable[[], Ledger | None],
                 clock: Callable[[], datetime]) -> None:
        self._ledger: Ledger | None = ledger if isinstance(ledger, Ledger) else None
        self._provide = None if isinstance(ledger, Ledger) else ledger
        self.clock = clock

    @property
    def ledger(self) -> Ledger | None:
        if self._ledger is None and self._provide is not None:
            self._ledger = self._provide()
        return self._ledger

    def __call__(self, results: Sequence[Any], event_id: str) -> None:
        ledger = self.ledger
        if ledger is None or not results:
            return
        now = self.clock()
        ledger.append([record for r in results if r.outcome != "planned"
                       for record in records_of(r, event_id, now)])


def timetable_of(kube: Kube | None, namespace: str, path: str | None) -> Timetable | None:
    """The course's timetable: the file, else the namespace's ConfigMap; None if neither."""
    if path:
        try:
            return load(path)
        except (OSError, TimetableError):
            pass
    if kube is None:
        return None
    found = kube.get("v1", "ConfigMap", SCHEDULE_CONFIGMAP, namespace)
    if found is None:
        return None
    try:
        return loads(str((found.raw.get("data") or {}).get(SCHEDULE_KEY, "")),
                     f"configmap {namespace}/{SCHEDULE_CONFIGMAP}")
    except TimetableError:
        return None


def open_ledger(settings: Settings, kube: Kube | None, namespace: str, s3: S3 | None,
                clock: Callable[[], datetime], timetable: Timetable | None = None,
                counter: Any = None, log: logging.Logger | None = None) -> Ledger | None:
    """The term's ledger, or None when no course and term can be found."""
    timetable = timetable or timetable_of(kube, namespace, settings.schedule)
    if timetable is None:
        return None
    course, term = timetable.course, timetable.term.name
    notify = Webhook(settings.ledger_webhook_url, course, term) \
        if settings.ledger_webhook_url else None
    return Ledger(kube, namespace, s3, course, term, clock, notify, log, counter)
