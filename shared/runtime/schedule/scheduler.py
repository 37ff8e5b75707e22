"""The scheduler inside `classops serve` (the leader's only): the timetable's firings, on time.

APScheduler 3.x's BackgroundScheduler, with the term's timezone, fires only the expanded
occurrences: one DateTrigger job per firing, `misfire_grace_time=None` (its default grace of 1 s
would silently drop a late job) and `coalesce=True`. A firing becomes a CloudEvent put into the
inbox (`from_occurrence`), so it runs as a webhook event does, through the drainer, and is
deduped by its deterministic id: firing the same occurrence twice runs it once.

State in the cluster, in ConfigMaps of the course's namespace:
- `classops-scheduler`: the last fired instant of each trigger, and the last skipped firings
  (id and why), so a restarted leader knows what it missed;
- the calendar overlay: the calendar changes received (`overlay`: one ConfigMap per change),
  written by the `edu.classops.calendar.changed` handler (`keeper`) through the executor, and
  watched here: a change replans within a second or two. Replans are coalesced: a change asks
  for one, a replanner thread runs it, and changes that arrive while it runs or within
  `replan_gap` after it are served by the one next replan (which reads every change). A burst
  of 1,000 changes is a few dozen replans, not 1,000 (`bench/inbox_drain.py`).

On start and on each replan the missed firings are caught up (`usefulness.catch_up`):
the still useful fire once, now; the rest are skipped and recorded. The clock is injected: jobs
are placed at `at - (clock() - wall clock)`, so a test drives the emulator's clock and never
sleeps an emulated duration. Planning looks `horizon` ahead and replans when half of it passed.
"""

from __future__ import annotations

import functools
import json
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.date import DateTrigger

from shared.events import from_occurrence
from shared.logs import bind
from shared.ports.errors import ApiError
from shared.ports.kube import Kube
from shared.runtime.inbox.store import Inbox
from shared.runtime.schedule.overlay import OVERLAY_LABEL, OverlayError, apply, changes_of
from shared.runtime.schedule.usefulness import catch_up, following, useful_until
from shared.runtime.watching import Target, Watcher
from shared.timetable import Occurrence, Timetable, expand
from shared.warmup.knobs import LEAD_TIMES, learned

STATE = "classops-scheduler"
KEEP_SKIPPED = 200


def _metadata_only(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k != "data"}  # the watch only asks for replans


class Scheduler:
    def __init__(self, kube: Kube, namespace: str, timetable: Timetable, inbox: Inbox,
                 clock: Callable[[], datetime], horizon: timedelta = timedelta(days=2),
                 max_age: timedelta = timedelta(days=1), replan_gap: float = 1.0,
                 log: logging.Logger | None = None) -> None:
        self.kube, self.namespace, self.base, self.inbox = kube, namespace, timetable, inbox
        self.clock, self.horizon, self.max_age = clock, horizon, max_age
        self.log = bind(log or logging.getLogger("classops.scheduling"))
        self.zone = timetable.term.timezone
        self.aps = BackgroundScheduler(timezone=self.zone)
        self._lock = threading.RLock()
        self._nexts: dict[str, datetime | None] = {}
        self._stopped = False
        self.replan_gap = replan_gap
        self._changed, self._ended = threading.Event(), threading.Event()
        self.watcher = Watcher(kube, Target("v1", "ConfigMap", namespace, OVERLAY_LABEL),
                               lambda *_: self._changed.set(), read_timeout=30.0,
                               trim=_metadata_only)

    def start(self) -> Scheduler:
        self.aps.start()
        self.replan()
        threading.Thread(target=self._replanner, name="replanner", daemon=True).start()
        self.watcher.start()
        return self

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            self._ended.set()
            self._changed.set()
            self.watcher.stop()
            self.aps.shutdown(wait=False)

    def _replanner(self) -> None:
        """One replan for every burst of overlay changes, at most one per `replan_gap`."""
        while not self._ended.is_set():
            self._changed.wait()
            if self._ended.is_set():
                return
            self._changed.clear()  # before reading: a change after this asks again
            self.replan()
            self._ended.wait(self.replan_gap)

    def jobs(self) -> list[str]:
        return sorted(job.id for job in self.aps.get_jobs())

    # -- state in the cluster -------------------------------------------------------------------
    def _read(self, name: str) -> dict[str, Any]:
        found = self.kube.get("v1", "ConfigMap", name, self.namespace)
        return dict(found.raw.get("data") or {}) if found is not None else {}

    def last_fired(self) -> dict[str, datetime]:
        raw = json.loads(self._read(STATE).get("last-fired", "{}"))
        return {k: datetime.fromisoformat(v) for k, v in raw.items()}

    def skipped(self) -> list[dict[str, str]]:
        return list(json.loads(self._read(STATE).get("skipped", "[]")))

    def _record(self, fired: list[Occurrence], skipped: list[Occurrence]) -> None:
        data = self._read(STATE)
        last = json.loads(data.get("last-fired", "{}"))
        for o in [*fired, *skipped]:  # a skipped firing is settled too: never looked at again
            at = o.at.astimezone(UTC)
            if o.trigger not in last or datetime.fromisoformat(last[o.trigger]) < at:
                last[o.trigger] = at.isoformat()
        notes = json.loads(data.get("skipped", "[]")) + [
            {"id": o.id, "reason": "no longer useful", "at": self.clock().isoformat()}
            for o in skipped]
        self.kube.apply({"apiVersion": "v1", "kind": "ConfigMap",
                         "metadata": {"name": STATE, "namespace": self.namespace},
                         "data": {"last-fired": json.dumps(last, sort_keys=True),
                                  "skipped": json.dumps(notes[-KEEP_SKIPPED:])}},
                        field_manager="classops-scheduler")

    def _timetable(self) -> Timetable:
        changes = changes_of(o.raw for o in self.kube.list("v1", "ConfigMap", self.namespace,
                                                             OVERLAY_LABEL))
        try:
            timetable = apply(self.base, changes)
        except OverlayError as err:
            self.log.error("calendar overlay not applied: %s", err)
            timetable = self.base
        # Warm-ups fire the lead time this cluster has measured before their meetings (issue
        # 14); until it has enough samples, knobs.lead_time.
        return learned(timetable, self._read(LEAD_TIMES).get("samples"))[0]

    # -- planning and firing --------------------------------------------------------------------
    def replan(self) -> None:
        with self._lock:
            if self._stopped:
                return
            try:
                self._replan()
            except ApiError as err:
                self.log.warning("replan failed, again in 10 s: %s", err)
                self._at(self.clock() + timedelta(seconds=10), self.replan, "replan")

    def _replan(self) -> None:
        now = self.clock()
        occurrences = expand(self._timetable(), now - self.max_age, now + self.horizon)
        self._nexts = following(occurrences)
        plan = catch_up(occurrences, self.last_fired(), now, self.max_age)
        for o in plan.fire:
            self.inbox.put(from_occurrence(o))
        self._record(plan.fire, plan.skip)
        for o in plan.skip:
            self.log.info("skipped: no longer useful", extra={"event_id": o.id})
        self.aps.remove_all_jobs()
        for o in plan.later:
            self._at(o.at, functools.partial(self.fire, o), o.id)
        self._at(now + self.horizon / 2, self.replan, "replan")
        self.log.info("planned", extra={"caught_up": len(plan.fire), "skipped": len(plan.skip),
                                        "scheduled": len(plan.later)})

    def _at(self, when: datetime, job: Callable[[], None], job_id: str) -> None:
        wall = when.astimezone(UTC) - (self.clock() - datetime.now(UTC))
        self.aps.add_job(job, DateTrigger(run_date=wall.astimezone(self.zone)), id=job_id,
                         misfire_grace_time=None, coalesce=True, replace_existing=True)

    def fire(self, occurrence: Occurrence) -> None:
        with self._lock:
            if self._stopped:
                return
            useful = self.clock().astimezone(UTC) < useful_until(
                occurrence, self._nexts.get(occurrence.id))
            try:
                if useful:
                    self.inbox.put(from_occurrence(occurrence))
                self._record([occurrence] if useful else [], [] if useful else [occurrence])
            except ApiError as err:  # the next replan catches it up, if still useful
                self.log.warning("could not fire %s: %s", occurrence.id, err)
