"""One leader among the replicas: a `coordination.k8s.io/v1` Lease, held by renewing it.

Our own small elector on the Kubernetes port, not a wrapper of the official client's
`kubernetes.leaderelection` (client 37): its `run()` cannot be stopped (`acquire()` loops
forever), it never releases the Lease, its thread keeps running after it lost the Lease, it reads
the wall clock (naive local times) to judge expiry, and its lock speaks the typed models through a
client whose urllib3 retries may outlast the renew deadline. Wrapping it would mean patching all
of that; what is left is ~100 lines of client-go's algorithm, written here:

- A follower tries every `retry_period`. It takes the Lease when nobody holds it (a released
  Lease has no holder) or when the record it sees has not changed for the record's
  `leaseDurationSeconds`, measured on its own monotonic clock from when it first saw that record
  (as client-go does: no comparison of two machines' clocks).
- The leader renews every `retry_period`. It stops leading when a renewal has not succeeded for
  `renew_deadline` or when the Lease names another holder; `on_stopped` runs first, before any
  further request, so the scheduler and handlers stop before anything else happens.
  `leading` also turns false by itself once the renew deadline has passed, so workers that
  check it stop even while the elector thread is stuck in a slow request.
- Each request may take up to `renew_deadline` (client-go bounds a renewal by it too): a
  timeout of one retry period would turn a slow answer on a busy node into a lost Lease.
- `stop()` (SIGTERM) stops the work, then releases the Lease: holderIdentity cleared and a
  duration of 1 s, so a follower takes over at its next try.

Writes are guarded by resourceVersion (PUT), so two candidates never both win one round. A
Lease gives no fencing: idempotent actions are what make a brief overlap harmless.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from shared.events import KubeObject
from shared.logs import bind
from shared.ports.errors import ApiError
from shared.ports.kube import Kube

LEASE = ("coordination.k8s.io/v1", "Lease")


@dataclass(frozen=True)
class Timings:
    lease_duration: float = 15.0
    renew_deadline: float = 10.0
    retry_period: float = 2.0


def micro_time(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Elector:
    def __init__(self, kube: Kube, namespace: str, name: str, identity: str, timings: Timings,
                 on_started: Callable[[], None], on_stopped: Callable[[], None],
                 wall: Callable[[], datetime] = lambda: datetime.now(UTC),
                 monotonic: Callable[[], float] = time.monotonic,
                 log: logging.Logger | None = None) -> None:
        self.kube, self.namespace, self.name, self.identity = kube, namespace, name, identity
        self.timings, self.on_started, self.on_stopped = timings, on_started, on_stopped
        self.wall, self.monotonic = wall, monotonic
        self.log = bind(log or logging.getLogger("classops.leadership"), lease=name,
                        identity=identity)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._leading = False
        self._renewed = 0.0  # monotonic time of the last successful acquire or renew
        self._seen: tuple[Any, ...] = ()  # the record last seen, and when it was first seen
        self._seen_at = 0.0

    @property
    def leading(self) -> bool:
        return self._leading and self.monotonic() - self._renewed < self.timings.renew_deadline

    def start(self) -> Elector:
        self._thread = threading.Thread(target=self._run, name="elector", daemon=True)
        self._thread.start()
        return self

    def stop(self, release: bool = True) -> None:
        """Stop trying; stop the work if leading; then give the Lease up."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self.timings.renew_deadline + 5)
        was_leading = self._leading
        self._lose("stopping")
        if release and was_leading:
            self._release()

    # -- the loop -------------------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                held = self._try()
            except ApiError as err:
                self.log.warning("lease: %s", err)
                held = False
            if self._stop.is_set():
                return
            if held:
                self._renewed = self.monotonic()
                if not self._leading:
                    self._leading = True
                    self.log.info("started leading")
                    self.on_started()
            elif self._leading and (self._other_holder() or self.monotonic() - self._renewed
                                    >= self.timings.renew_deadline):
                self._lose("lost the lease")
            self._stop.wait(self.timings.retry_period)

    def _lose(self, why: str) -> None:
        if self._leading:
            self._leading = False
            self.on_stopped()  # first: nothing else happens while the work still runs
            self.log.warning("stopped leading: %s", why)

    def _other_holder(self) -> bool:
        return bool(self._seen) and self._seen[0] not in ("", self.identity)

    def _try(self) -> bool:
        """One round: create, renew or take over the Lease; True if we hold it now."""
        lease = self._get()
        now = self.wall()
        if lease is None:
            return self._write(None, {"holderIdentity": self.identity, "acquireTime":
                                      micro_time(now), "leaseTransitions": 0}, now)
        spec = dict(lease.spec)
        record = (spec.get("holderIdentity") or "", spec.get("renewTime"),
                  spec.get("leaseDurationSeconds"), lease.resource_version)
        if record != self._seen:
            self._seen, self._seen_at = record, self.monotonic()
        holder = record[0]
        if holder == self.identity:
            return self._write(lease.raw, spec, now)
        duration = float(spec.get("leaseDurationSeconds") or self.timings.lease_duration)
        if holder and self.monotonic() - self._seen_at < duration:
            return False  # someone else holds it and renews it
        self.log.info("taking over the lease", extra={"previous": holder or "(released)"})
        return self._write(lease.raw, {
            **spec, "holderIdentity": self.identity, "acquireTime": micro_time(now),
            "leaseTransitions": int(spec.get("leaseTransitions") or 0) + 1}, now)

    def _get(self) -> KubeObject | None:
        path = self.kube.resource(*LEASE).path(self.namespace, self.name)
        try:
            return KubeObject(self.kube.request("GET", path, timeout=self.timings.renew_deadline))
        except ApiError as err:
            if err.not_found:
                return None
            raise

    def _write(self, current: Any, spec: dict[str, Any], now: datetime) -> bool:
        spec = {**spec, "renewTime": micro_time(now),
                "leaseDurationSeconds": max(1, round(self.timings.lease_duration))}
        meta = {"name": self.name, "namespace": self.namespace}
        manifest = {"apiVersion": LEASE[0], "kind": LEASE[1], "metadata": meta, "spec": spec}
        timeout = self.timings.renew_deadline
        try:
            if current is None:
                self.kube.request("POST", self.kube.resource(*LEASE).path(self.namespace),
                                  body=manifest, timeout=timeout)
            else:
                meta["resourceVersion"] = current["metadata"]["resourceVersion"]
                self.kube.request("PUT", self.kube.resource(*LEASE).path(
                    self.namespace, self.name), body=manifest, timeout=timeout)
        except ApiError as err:
            if err.status == 409:
                return False  # another candidate wrote first; read again next round
            raise
        return True

    def _release(self) -> None:
        try:
            lease = self._get()
            if lease is None or lease.spec.get("holderIdentity") != self.identity:
                return
            spec = {**lease.spec, "holderIdentity": "", "leaseDurationSeconds": 1,
                    "renewTime": micro_time(self.wall())}
            spec.pop("acquireTime", None)
            self.kube.replace({"apiVersion": LEASE[0], "kind": LEASE[1], "metadata": {
                "name": self.name, "namespace": self.namespace,
                "resourceVersion": lease.resource_version}, "spec": spec})
            self.log.info("released the lease")
        except ApiError as err:
            self.log.warning("could not release the lease: %s", err)
