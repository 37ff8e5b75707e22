"""The disruption controller: keeps PodDisruptionBudget `status` truthful for the Eviction API.

https://kubernetes.io/docs/concepts/workloads/pods/disruptions/ and
https://kubernetes.io/docs/tasks/run-application/configure-pdb/, with the arithmetic of
kube-controller-manager's `pkg/controller/disruption`:

- **Pods.** A PDB covers the pods of its namespace that `spec.selector` selects (an empty
  selector selects every pod, a missing one none).
- **Expected and desired.** `minAvailable` as an integer: desiredHealthy is that number and
  expectedPods the number of covered pods. `minAvailable` as a percentage, or `maxUnavailable`:
  expectedPods is the sum of `spec.replicas` of the covered pods' controllers (a Deployment
  through its ReplicaSet, a ReplicaSet, a StatefulSet), desiredHealthy that percentage of it
  rounded up, or expectedPods minus maxUnavailable (a percentage rounded up), never below 0. A
  covered pod without a controller, or with one of another kind (DaemonSet, ...), fails the sync:
  disruptionsAllowed 0 and `DisruptionAllowed=False`, reason `SyncFailed`, the error as message
  (observedGeneration stays where it was: a budget that never synced keeps evictions at "still
  being processed").
- **Healthy.** currentHealthy counts covered pods that are Ready, not terminating and not in
  `disruptedPods`. disruptionsAllowed = currentHealthy - desiredHealthy, or 0 when negative or
  when expectedPods is 0; `DisruptionAllowed` is True (`SufficientPods`) or False
  (`InsufficientPods`).
- **disruptedPods** is written by the Eviction API (`eviction.py`) just before it deletes a pod,
  so that two evictions cannot both spend the last allowed disruption; an entry goes once its pod
  is terminating or gone, or 2 minutes (on the emulated clock) after the eviction if the pod was
  never deleted.
- `observedGeneration` follows `metadata.generation`; until it does the Eviction API answers 429.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from ..clock import timestamp
from ..store import Obj
from .base import Controller
from .pods import owner, ready, selects, spec, status, terminating

if TYPE_CHECKING:
    from ..emulator import Emulator

DELETION_TIMEOUT = timedelta(minutes=2)


class SyncFailed(Exception):
    """A PDB whose expected pod count cannot be worked out (the controller's failSafe)."""


def covered(pdb: Obj, pods: Iterable[Obj]) -> list[Obj]:
    """The pods of the PDB's namespace its selector selects."""
    namespace = pdb["metadata"]["namespace"]
    selector = spec(pdb).get("selector")
    return [p for p in pods if p["metadata"]["namespace"] == namespace and selects(selector, p)]


def _scaled(value: int | str, total: int) -> int:
    if isinstance(value, str):
        if not value.endswith("%"):
            return int(value)
        return math.ceil(int(value[:-1]) * total / 100)
    return int(value)


def expected(pdb: Obj, pods: list[Obj], scale_of: dict[str, int]) -> tuple[int, int]:
    """(expectedPods, desiredHealthy); `scale_of` maps a pod's controller uid to its scale (the
    Deployment's replicas for a ReplicaSet it owns). Raises SyncFailed."""
    budget = spec(pdb)
    if budget.get("maxUnavailable") is not None:
        count = _expected_scale(pods, scale_of)
        return count, max(0, count - _scaled(budget["maxUnavailable"], count))
    minimum = budget.get("minAvailable")
    if isinstance(minimum, str) and minimum.endswith("%"):
        count = _expected_scale(pods, scale_of)
        return count, _scaled(minimum, count)
    if minimum is not None:
        return len(pods), int(minimum)
    return 0, 0


def _expected_scale(pods: list[Obj], scale_of: dict[str, int]) -> int:
    seen: dict[str, int] = {}
    for pod in pods:
        ref = owner(pod)
        if ref is None:
            raise SyncFailed(f'found no controller ref for pod "{pod["metadata"]["name"]}"')
        if ref["uid"] not in scale_of:
            raise SyncFailed(f'found no controllers for pod "{pod["metadata"]["name"]}"')
        seen[ref["uid"]] = scale_of[ref["uid"]]
    return sum(seen.values())


def _allowed_condition(old: Obj, allowed: bool, generation: int, now: datetime,
                       reason: str = "", message: str = "") -> Obj:
    value = "True" if allowed else "False"
    reason = reason or ("SufficientPods" if allowed else "InsufficientPods")
    prev: Obj = next((c for c in old.get("conditions") or []
                      if c.get("type") == "DisruptionAllowed"), {})
    return {"type": "DisruptionAllowed", "status": value, "reason": reason, "message": message,
            "observedGeneration": generation,
            "lastTransitionTime": prev["lastTransitionTime"] if prev.get("status") == value
            else timestamp(now)}


def pdb_status(pdb: Obj, pods: list[Obj], scale_of: dict[str, int], now: datetime) -> Obj:
    """The status the disruption controller writes for `pdb` over the pods it covers."""
    old, generation = status(pdb), pdb["metadata"].get("generation", 1)
    try:
        count, desired = expected(pdb, pods, scale_of)
    except SyncFailed as err:
        zeros = {"currentHealthy": 0, "desiredHealthy": 0, "expectedPods": 0}
        return {**zeros, **old, "disruptionsAllowed": 0, "conditions": [_allowed_condition(
            old, False, old.get("observedGeneration", 0), now, "SyncFailed", str(err))]}
    disrupted: dict[str, str] = {}
    for pod in pods:
        since = (old.get("disruptedPods") or {}).get(pod["metadata"]["name"])
        if since and not terminating(pod) and datetime.fromisoformat(
                since) + DELETION_TIMEOUT >= now:
            disrupted[pod["metadata"]["name"]] = since
    healthy = sum(1 for p in pods if ready(p) and not terminating(p)
                  and p["metadata"]["name"] not in disrupted)
    allowed = healthy - desired if count > 0 and healthy > desired else 0
    new: Obj = {"currentHealthy": healthy, "desiredHealthy": desired,
                "disruptionsAllowed": allowed, "expectedPods": count,
                "observedGeneration": generation,
                "conditions": [_allowed_condition(old, allowed > 0, generation, now)]}
    if disrupted:
        new["disruptedPods"] = disrupted
    return new


class Disruption(Controller):
    name = "disruption"

    def __init__(self, emu: Emulator) -> None:
        super().__init__(emu)
        self.pods = self.resource("", "pods")
        self.pdbs = self.resource("policy", "poddisruptionbudgets")
        self.replicasets = self.resource("apps", "replicasets")
        self.deployments = self.resource("apps", "deployments")
        self.statefulsets = self.resource("apps", "statefulsets")

    def scales(self) -> dict[str, int]:
        """Controller uid -> the scale a pod it owns counts towards (getExpectedScale's
        finders: a ReplicaSet owned by a Deployment counts the Deployment's replicas)."""
        deployments = {d["metadata"]["uid"]: d for d in self.items(self.deployments)}
        out = {s["metadata"]["uid"]: int(spec(s).get("replicas", 1))
               for s in self.items(self.statefulsets)}
        for rs in self.items(self.replicasets):
            ref = owner(rs)
            top = deployments.get(ref["uid"]) if ref and ref.get("kind") == "Deployment" else None
            out[rs["metadata"]["uid"]] = int(spec(top if top is not None else rs)
                                             .get("replicas", 1))
        return out

    def reconcile(self, now: datetime) -> None:
        pdbs = self.items(self.pdbs)
        if not pdbs:
            return
        pods, scale_of = self.items(self.pods), self.scales()
        for pdb in pdbs:
            new = pdb_status(pdb, covered(pdb, pods), scale_of, now)
            self.set_status(self.pdbs, pdb, new)
