"""Where the ledger lives: JSON lines in S3 and a summary ConfigMap in the course namespace.

S3 has no append, so each batch (one executor run, or one `append` of a capability) is its own
object: `<course>/<term>/ledger/<YYYY-MM-DD>/<HHMMSS.ffffff>Z-<digest>.jsonl` (UTC). Keys sort in
time order, a day's batches list under one prefix, and two replicas never overwrite each other
(the digest covers the batch). A term of nightly runs is a few hundred objects: `records()` reads
them all, which `classops history` can afford.

The summary (`classops-ledger-<term>`, key `summary.json`) is read, folded and written back with
its resourceVersion (a concurrent writer gets 409 and folds again), so `classops status` answers
"newest snapshot and copy per student" with one GET.

Without S3 (`CLASSOPS_S3_BUCKET` unset) only the summary is kept, and the first batch says so
in the log. Writing never raises into the caller: a ledger outage is logged and counted
(`classops_ledger_writes_total{store, outcome}`), and the action it records stays done.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from shared.ports.errors import ApiError

from .records import Record, fold

if TYPE_CHECKING:
    from shared.ports.kube import Kube
    from shared.ports.s3 import S3

SUMMARY_KEY = "summary.json"
LABEL = "classops.edu/ledger"
# Each 409 means another writer's fold landed between our GET and our PUT, and every writer
# lands once per batch: so N writers at once need at most N tries each. Within one process the
# folds take turns (a lock); the tries cover the replicas and CLI runs beside it.
CONFLICT_TRIES = 10


def summary_name(term: str) -> str:
    safe = "".join(c if c.isalnum() else "-" for c in term.lower()).strip("-")
    return f"classops-ledger-{safe or 'term'}"


class Ledger:
    def __init__(self, kube: Kube | None, namespace: str, s3: S3 | None, course: str,
                 term: str, clock: Callable[[], datetime],
                 notify: Callable[[Sequence[Record]], None] | None = None,
                 log: logging.Logger | None = None, counter: Any = None) -> None:
        self.kube, self.namespace, self.s3 = kube, namespace, s3
        self.course, self.term, self.clock, self.notify = course, term, clock, notify
        self.log = log or logging.getLogger("classops.ledger")
        self.counter = counter  # a prometheus Counter(store, outcome), or None
        self._warned = False
        self._folding = threading.Lock()  # the executor's parallel actions share one ledger

    @property
    def prefix(self) -> str:
        return f"{self.course}/{self.term}/ledger/"

    # -- writing --------------------------------------------------------------------------------
    def append(self, records: Sequence[Record]) -> None:
        """Store one batch (S3 object + summary) and notify its failures; never raises."""
        if not records:
            return
        self._guarded("s3", self._put, records)
        self._guarded("summary", self._fold, records)
        failed = [r for r in records if not r.ok]
        if failed and self.notify is not None:
            self._guarded("webhook", self.notify, failed)

    def _guarded(self, store: str, call: Callable[[Sequence[Record]], None],
                 records: Sequence[Record]) -> None:
        try:
            call(records)
            outcome = "ok"
        except Exception as err:  # the ledger must never undo or block the work it records
            outcome = "failed"
            self.log.error("ledger: could not write %d records to %s: %s", len(records), store,
                           err)
        if self.counter is not None:
            self.counter.labels(store, outcome).inc()

    def key_for(self, records: Sequence[Record]) -> str:
        now = self.clock().astimezone(UTC)
        digest = hashlib.sha256("\n".join(r.line() for r in records).encode()).hexdigest()[:12]
        return f"{self.prefix}{now:%Y-%m-%d}/{now:%H%M%S.%f}Z-{digest}.jsonl"

    def _put(self, records: Sequence[Record]) -> None:
        if self.s3 is None:
            if not self._warned:
                self.log.warning("ledger: no S3 bucket configured (CLASSOPS_S3_BUCKET): only "
                                 "the summary ConfigMap is kept")
                self._warned = True
            return
        body = "".join(r.line() + "\n" for r in records).encode()
        self.s3.put_bytes(self.key_for(records), body, "application/x-ndjson")

    def _fold(self, records: Sequence[Record]) -> None:
        if self.kube is None:
            return
        with self._folding:
            self._fold_once(records)

    def _fold_once(self, records: Sequence[Record]) -> None:
        assert self.kube is not None
        name = summary_name(self.term)
        for attempt in range(1, CONFLICT_TRIES + 1):
            found = self.kube.get("v1", "ConfigMap", name, self.namespace)
            before = self._parse(found.raw if found else None)
            after = fold(before, records)
            after.update(course=self.course, term=self.term,
                         updated=self.clock().astimezone(UTC).isoformat())
            data = {SUMMARY_KEY: json.dumps(after, sort_keys=True, separators=(",", ":"),
                                            ensure_ascii=False)}
            try:
                if found is None:
                    self.kube.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
                        "name": name, "namespace": self.namespace,
                        "labels": {"app.kubernetes.io/managed-by": "classops", LABEL: "summary"}},
                        "data": data})
                else:
                    self.kube.replace({**found.raw, "data": data})
                return
            except ApiError as err:
                if err.status != 409 or attempt == CONFLICT_TRIES:
                    raise  # 409: another writer (or creator) was first; fold again

    # -- reading --------------------------------------------------------------------------------
    @staticmethod
    def _parse(raw: Any) -> dict[str, Any]:
        text = ((raw or {}).get("data") or {}).get(SUMMARY_KEY)
        return json.loads(text) if text else {}

    def summary(self) -> dict[str, Any]:
        """The cluster summary ({} when nothing was recorded this term)."""
        if self.kube is None:
            return {}
        found = self.kube.get("v1", "ConfigMap", summary_name(self.term), self.namespace)
        return self._parse(found.raw if found else None)

    def records(self, user: str | None = None) -> Iterator[Record]:
        """Every record of the term from S3 in time order (of one user, when given)."""
        if self.s3 is None:
            raise ApiError("s3", 0, "NotConfigured", "the ledger's history needs "
                           "CLASSOPS_S3_BUCKET")
        keys = sorted(o.key for o in self.s3.objects(self.prefix) if o.key.endswith(".jsonl"))
        for key in keys:
            for line in self.s3.get_bytes(key).decode().splitlines():
                if line.strip():
                    record = Record.parse(line)
                    if user is None or record.user == user:
                        yield record
