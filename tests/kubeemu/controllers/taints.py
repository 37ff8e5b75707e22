"""The taint eviction controller (the node lifecycle's taint manager): NoExecute taints evict pods.

https://kubernetes.io/docs/concepts/scheduling-eviction/taint-and-toleration/#taint-based-evictions,
as kube-controller-manager's `pkg/controller/tainteviction` does it:

- A pod bound to a node with a NoExecute taint it does not tolerate is evicted at once.
- A pod that tolerates every NoExecute taint of its node stays; if a toleration it uses has
  `tolerationSeconds`, it is evicted that many seconds (the smallest, 0 or less meaning now) on
  the emulated clock after the taint was first seen, unless the taint goes first (the eviction is
  then cancelled). A toleration without `tolerationSeconds` tolerates for ever.
- Evicting is what the taint manager does: the `DisruptionTarget` condition (reason
  `DeletionByTaintManager`, message "Taint manager: deleting due to NoExecute taint"), then a
  delete with the pod's own grace period. It does not go through the Eviction API, so
  PodDisruptionBudgets are not consulted, as in a real cluster.

Pods admitted without tolerations get the DefaultTolerationSeconds ones (`not-ready` and
`unreachable`, 300 s; `defaults.py`), so tainting a node `node.kubernetes.io/unreachable:NoExecute`
evicts its pods five emulated minutes later.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from ..store import Obj
from .base import Controller
from .pods import (
    disruption_target,
    finished,
    spec,
    status,
    terminating,
    tolerates,
    with_condition,
)

if TYPE_CHECKING:
    from ..emulator import Emulator


def grace_seconds(pod: Obj, taints: list[Obj]) -> float | None:
    """How long the pod may stay with these NoExecute taints: 0 (evict now), a number of
    seconds, or None (for ever). getMinTolerationTime over the tolerations in use."""
    tolerations = spec(pod).get("tolerations") or []
    used = []
    for taint in taints:
        matching = [t for t in tolerations if tolerates([t], taint)]
        if not matching:
            return 0
        used.append(matching[0])
    limits = [t["tolerationSeconds"] for t in used if t.get("tolerationSeconds") is not None]
    if not limits:
        return None
    return max(0, min(limits))


class TaintEviction(Controller):
    name = "taints"

    def __init__(self, emu: Emulator) -> None:
        super().__init__(emu)
        self.pods, self.nodes = self.resource("", "pods"), self.resource("", "nodes")
        self._since: dict[str, datetime] = {}  # pod uid -> when its eviction was scheduled

    @property
    def scheduled(self) -> dict[str, datetime]:
        """Pod uid -> when the eviction of a pod that tolerates its taints for a while was
        scheduled (for a test to see that a removed taint cancelled it)."""
        return dict(self._since)

    def reconcile(self, now: datetime) -> None:
        taints = {n["metadata"]["name"]: [t for t in spec(n).get("taints") or []
                                          if t.get("effect") == "NoExecute"]
                  for n in self.items(self.nodes)}
        if not any(taints.values()) and not self._since:
            return
        pending, due = set(), []
        for pod in self.items(self.pods):
            node_taints = taints.get(spec(pod).get("nodeName") or "")
            if not node_taints or terminating(pod) or finished(pod):
                continue
            seconds = grace_seconds(pod, node_taints)
            if seconds is None:
                continue
            uid = pod["metadata"]["uid"]
            since = self._since.setdefault(uid, now)
            pending.add(uid)
            if now >= since + timedelta(seconds=seconds):
                due.append(pod)
        # Cancelled (taint gone, toleration now for ever) or vanished pods are forgotten; every
        # start is noted before the first eviction is written, so a watcher who sees one knows
        # every other pod's time runs.
        self._since = {uid: t for uid, t in self._since.items() if uid in pending}
        for pod in due:
            if self._evict(pod, now):
                self._since.pop(pod["metadata"]["uid"], None)

    def _evict(self, pod: Obj, now: datetime) -> bool:
        marked = self.set_status(self.pods, pod, with_condition(status(pod), disruption_target(
            "DeletionByTaintManager", "Taint manager: deleting due to NoExecute taint", now)))
        return marked is not None and self.delete(self.pods, marked)
