"""The workload controllers in one loop: ReplicaSets, Deployments, StatefulSets, DaemonSets.

Each pass reads pods, nodes and workloads once, groups pods by their controller ownerReference
(uid), and lets each kind take one step (`deployments.py`, `statefulsets.py`, `daemonsets.py` say
what a step is). ReplicaSets go before Deployments, so a Deployment's write against a ReplicaSet
that changed during the pass is refused (409) and redone next pass rather than acting twice.
Objects owned by a workload that no longer exists are left alone: garbage collection is "Test
bed 2"'s.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import TYPE_CHECKING

from ..store import Obj
from .base import Controller
from .daemonsets import sync_daemonset
from .deployments import sync_deployment, sync_replicaset
from .pods import owner
from .statefulsets import sync_statefulset

if TYPE_CHECKING:
    from ..emulator import Emulator


class Workloads(Controller):
    name = "workloads"

    def __init__(self, emu: Emulator) -> None:
        super().__init__(emu)
        self.pods, self.nodes = self.resource("", "pods"), self.resource("", "nodes")
        self.replicasets = self.resource("apps", "replicasets")
        self.deployments = self.resource("apps", "deployments")
        self.statefulsets = self.resource("apps", "statefulsets")
        self.daemonsets = self.resource("apps", "daemonsets")

    def _owned(self, objs: list[Obj]) -> dict[str, list[Obj]]:
        out: dict[str, list[Obj]] = defaultdict(list)
        for obj in objs:
            ref = owner(obj)
            if ref is not None:
                out[ref["uid"]].append(obj)
        return out

    def reconcile(self, now: datetime) -> None:
        pods_of = self._owned(self.items(self.pods))
        replicasets = self.items(self.replicasets)
        for rs in replicasets:
            sync_replicaset(self, rs, pods_of[rs["metadata"]["uid"]], now)
        sets_of = self._owned(replicasets)
        for d in self.items(self.deployments):
            sync_deployment(self, d, sets_of[d["metadata"]["uid"]], pods_of, now)
        for sts in self.items(self.statefulsets):
            sync_statefulset(self, sts, pods_of[sts["metadata"]["uid"]], now)
        daemonsets = self.items(self.daemonsets)
        if daemonsets:
            nodes = self.items(self.nodes)
            for ds in daemonsets:
                sync_daemonset(self, ds, pods_of[ds["metadata"]["uid"]], nodes, now)
