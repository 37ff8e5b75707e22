"""A node autoscaler modelled on cluster-autoscaler, on the emulated clock.

What https://github.com/kubernetes/autoscaler/blob/master/cluster-autoscaler/FAQ.md says CA does,
sized to what a class's hub needs:

- **Node pools** (`NodePool`: name, node shape cpu/memory/pods, labels, taints, min and max size).
  The default pool is a z2jh user pool: label `hub.jupyter.org/node-purpose=user`, taint
  `hub.jupyter.org/dedicated=user:NoSchedule` (z2jh's "dedicated user nodes"). A pool starts
  with `min_size` Ready nodes, as the cloud's node group does.
- **Scale-up.** A pod the scheduler marked unschedulable (`PodScheduled=False`, `Unschedulable`)
  whose priority is not below `expendable_cutoff` (CA's `--expendable-pods-priority-cutoff`,
  -10: placeholders at -10 still count) and that is not waiting for a pre-emption
  (`nominatedNodeName`) is placed, in a simulation using the scheduler's own filters, on the
  existing nodes, then on the nodes already coming, then on new template nodes of the first pool
  that fits (binpacking estimator, `--expander=random` reduced to list order). If new nodes are
  needed, the pool's size grows at once and every pod that needs them gets a `TriggeredScaleUp`
  Event ("pod triggered scale-up: [{user 0->2 (max: 10)}]"); a pod no pool can take gets
  `NotTriggerScaleUp` ("pod didn't trigger scale-up: 1 max node group size reached", or the
  filter reasons), repeated at most once per `scan_seconds` while the reason holds.
- **Provisioning.** A new Node object appears only `provision_seconds` after the decision (the
  cloud VM boots), registered NotReady with the `node.kubernetes.io/not-ready:NoSchedule` taint
  for `not_ready_seconds` (the kubelet and CNI start), then Ready. While it comes it counts as
  upcoming, so the same pods do not trigger another node.
- **Scale-down.** A pool node with no pods but DaemonSet pods and expendable ones (priority below
  the cutoff) for `scale_down_seconds` (`--scale-down-unneeded-time`), and no scale-up in the last
  `delay_after_add` seconds, is removed down to `min_size`: the `ToBeDeletedByClusterAutoscaler`
  taint and a `ScaleDown` Event on the Node ("marked the node as toBeDeleted/unschedulable"), a
  `ScaleDown` Event on each pod evicted from it, `ScaleDownEmpty` on the status ConfigMap, then
  the Node is deleted (the kubelet's pod GC takes what is left).
- **Status.** The `kube-system/cluster-autoscaler-status` ConfigMap exists while it runs (what
  `classops check` looks for); `ScaledUpGroup`/`ScaleDownEmpty` Events are recorded on it.

The image pull on a new node is the kubelet's `pull_seconds` (first pull of an image per node).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ..clock import timestamp
from ..nodes import node_address, node_body
from ..recorder import record_event
from ..store import Obj
from .base import Controller, deep
from .pods import RESOURCES, allocatable, condition, finished, owner, priority, spec, status
from .scheduling import node_filter, room_filter

if TYPE_CHECKING:
    from ..emulator import Emulator

COMPONENT = "cluster-autoscaler"
NOT_READY = {"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"}
TO_BE_DELETED = "ToBeDeletedByClusterAutoscaler"
USER_LABELS = {"hub.jupyter.org/node-purpose": "user"}
USER_TAINTS = [{"key": "hub.jupyter.org/dedicated", "value": "user", "effect": "NoSchedule"}]
_ADDRESS_BASE = 1000  # autoscaled nodes' addresses start after the first 1000 static ones


@dataclass
class NodePool:
    name: str = "user"
    cpu: str = "4"
    memory: str = "16Gi"
    pods: int = 110
    labels: dict[str, str] = field(default_factory=lambda: dict(USER_LABELS))
    taints: list[Obj] = field(default_factory=lambda: [dict(t) for t in USER_TAINTS])
    min_size: int = 0
    max_size: int = 10

    def template(self, name: str, address: str, ready: bool, now: str) -> Obj:
        taints = [*self.taints, *([] if ready else [dict(NOT_READY)])]
        return node_body(name, cpu=self.cpu, memory=self.memory, pods=self.pods,
                         labels={**self.labels, "kubeemu.io/node-pool": self.name},
                         taints=taints, address=address, ready=ready, now=now,
                         provider_id=f"kubeemu://{self.name}/{name}")


@dataclass
class _Coming:
    pool: str
    name: str
    due: datetime  # when the Node object appears
    ready: datetime  # when it turns Ready
    address: str


class _Sim:
    """A scheduling simulation: nodes with what is placed on them (and the room that uses, kept
    as a running sum: summing every node's pods again for each waiting pod made a storm's scan
    quadratic, the emulator's largest cost in a 200-student storm's profile, bench/README.md)."""

    def __init__(self) -> None:
        self.nodes: list[tuple[Obj, list[Obj]]] = []
        self._room: list[tuple[dict[str, Decimal], dict[str, Decimal]]] = []  # (alloc, used)

    def add(self, node: Obj, pods: list[Obj]) -> None:
        self.nodes.append((node, list(pods)))
        used = {r: sum((_req(p)[r] for p in pods), Decimal(0)) for r in RESOURCES}
        self._room.append((allocatable(node), used))

    def place(self, pod: Obj, start: int = 0, end: int | None = None) -> int | None:
        for i in range(start, len(self.nodes) if end is None else end):
            node, on = self.nodes[i]
            alloc, used = self._room[i]
            if node_filter(pod, node) is None and room_filter(pod, alloc, on, used) is None:
                on.append(pod)
                for r, v in _req(pod).items():
                    used[r] += v
                return i
        return None


def _req(pod: Obj) -> dict[str, Decimal]:
    from .pods import requests

    return requests(pod)


class NodeAutoscaler(Controller):
    name = "autoscaler"

    def __init__(self, emu: Emulator, pools: Iterable[NodePool | Mapping[str, Any]] = (),
                 provision_seconds: float = 60.0, not_ready_seconds: float = 30.0,
                 scale_down_seconds: float = 600.0, delay_after_add: float = 0.0,
                 expendable_cutoff: int = -10, scan_seconds: float = 10.0) -> None:
        super().__init__(emu)
        made = [p if isinstance(p, NodePool) else NodePool(**p) for p in pools]
        self.pools: dict[str, NodePool] = {p.name: p for p in made or [NodePool()]}
        self.provision_seconds, self.not_ready_seconds = provision_seconds, not_ready_seconds
        self.scale_down_seconds, self.delay_after_add = scale_down_seconds, delay_after_add
        self.expendable_cutoff, self.scan_seconds = expendable_cutoff, scan_seconds
        self.pods, self.nodes = self.resource("", "pods"), self.resource("", "nodes")
        self.configmaps = self.resource("", "configmaps")
        self.coming: list[_Coming] = []
        self.scale_ups: list[tuple[datetime, str, int, int]] = []  # (when, pool, from, to)
        self._serial: dict[str, int] = {}
        self._empty_since: dict[str, datetime] = {}
        self._last_up: datetime | None = None
        self._refused: dict[str, tuple[str, datetime]] = {}  # pod uid -> (message, said at)
        self._started = False

    # -- the loop -------------------------------------------------------------------------------
    def reconcile(self, now: datetime) -> None:
        if not self._started:
            self._status_map()
            self._fill_min(now)
            self._started = True
        self._provision(now)
        nodes = {n["metadata"]["name"]: n for n in self.items(self.nodes)}
        pods = self.items(self.pods)
        self._scale_up(nodes, pods, now)
        self._scale_down(nodes, pods, now)

    @property
    def unneeded(self) -> dict[str, datetime]:
        """The nodes counted empty and since when (cluster-autoscaler's scale-down candidates):
        a test waits for its node here before it moves the clock past the scale-down time."""
        return dict(self._empty_since)

    def pool_of(self, node: Obj) -> NodePool | None:
        provider = spec(node).get("providerID") or ""
        if not provider.startswith("kubeemu://"):
            return None
        return self.pools.get(provider.removeprefix("kubeemu://").split("/", 1)[0])

    def size(self, pool: str, nodes: Mapping[str, Obj]) -> int:
        present = sum(1 for n in nodes.values() if (p := self.pool_of(n)) and p.name == pool)
        return present + sum(1 for c in self.coming if c.pool == pool and c.name not in nodes)

    # -- provisioning ---------------------------------------------------------------------------
    def _new_name(self, pool: str) -> tuple[str, str]:
        """A new node's name and loopback address."""
        self._serial[pool] = self._serial.get(pool, 0) + 1
        return (f"{pool}-node-{self._serial[pool]}",
                node_address(_ADDRESS_BASE + sum(self._serial.values())))

    def _fill_min(self, now: datetime) -> None:
        nodes = {n["metadata"]["name"]: n for n in self.items(self.nodes)}
        for pool in self.pools.values():
            for _ in range(max(pool.min_size - self.size(pool.name, nodes), 0)):
                name, address = self._new_name(pool.name)
                self.create(self.nodes, "", pool.template(name, address, True, timestamp(now)))

    def _provision(self, now: datetime) -> None:
        left = []
        for c in self.coming:
            node = self.store.get(self.nodes.key, ("", c.name))
            if node is None and now >= c.due:
                made = self.create(self.nodes, "", self.pools[c.pool].template(
                    c.name, c.address, now >= c.ready, timestamp(now)))
                if made is None:
                    left.append(c)
                    continue
                node = made
            if node is not None and now >= c.ready:
                if not self._make_ready(node, now):
                    left.append(c)
                continue
            left.append(c)
        self.coming = left

    def _make_ready(self, node: Obj, now: datetime) -> bool:
        cond = condition(node, "Ready") or {}
        if cond.get("status") != "True":
            new_status = deep(status(node))
            stamp = timestamp(now)
            new_status["conditions"] = [
                {**c, "status": "True", "reason": "KubeletReady",
                 "message": "kubelet is posting ready status", "lastHeartbeatTime": stamp,
                 "lastTransitionTime": stamp} if c.get("type") == "Ready" else c
                for c in new_status.get("conditions") or []]
            written = self.set_status(self.nodes, node, new_status)
            if written is None:
                return False
            node = written
        taints = spec(node).get("taints") or []
        kept = [t for t in taints if t.get("key") != NOT_READY["key"]]
        if kept != taints:
            new = deep(node)
            new["spec"]["taints"] = kept
            return self.update(self.nodes, new) is not None
        return True

    # -- scale-up -------------------------------------------------------------------------------
    def _waiting(self, pod: Obj) -> bool:
        cond = condition(pod, "PodScheduled") or {}
        return (not spec(pod).get("nodeName") and not pod["metadata"].get("deletionTimestamp")
                and cond.get("status") == "False" and cond.get("reason") == "Unschedulable"
                and not status(pod).get("nominatedNodeName")
                and priority(pod) >= self.expendable_cutoff)

    def _scale_up(self, nodes: dict[str, Obj], pods: list[Obj], now: datetime) -> None:
        waiting = sorted((p for p in pods if self._waiting(p)),
                         key=lambda p: (-priority(p), p["metadata"]["creationTimestamp"]))
        if not waiting:
            self._refused.clear()
            return
        sim, stamp = _Sim(), timestamp(now)
        on_node: dict[str, list[Obj]] = {name: [] for name in nodes}
        for p in pods:  # bound pods, and nominees where their pre-emption makes room
            where = spec(p).get("nodeName") or status(p).get("nominatedNodeName")
            if where in on_node and not finished(p):
                on_node[where].append(p)
        for name, node in nodes.items():
            pool = self.pool_of(node)
            if pool is not None and (condition(node, "Ready") or {}).get("status") != "True":
                node = pool.template(name, "", True, stamp)  # upcoming: as it will be
            sim.add(node, on_node[name])
        for c in self.coming:
            if c.name not in nodes:
                sim.add(self.pools[c.pool].template(c.name, "", True, stamp), [])
        fixed = len(sim.nodes)
        grow: dict[str, int] = {}
        triggered, refused = [], {}
        for pod in waiting:
            if sim.place(pod, 0, fixed) is not None:  # room now, or on a node coming
                continue
            reasons: dict[str, int] = {}
            for pool in self.pools.values():
                blank = pool.template("template", "", True, stamp)
                why = node_filter(pod, blank) or room_filter(
                    pod, allocatable(blank), [], {r: Decimal(0) for r in RESOURCES})
                if why:
                    reasons[why] = reasons.get(why, 0) + 1
                    continue
                if sim.place(pod, fixed) is not None:
                    triggered.append(pod)
                    break
                if self.size(pool.name, nodes) + grow.get(pool.name, 0) >= pool.max_size:
                    reasons["max node group size reached"] = reasons.get(
                        "max node group size reached", 0) + 1
                    continue
                grow[pool.name] = grow.get(pool.name, 0) + 1
                sim.add(pool.template(f"new-{pool.name}-{grow[pool.name]}", "", True, stamp), [])
                sim.place(pod, len(sim.nodes) - 1)
                triggered.append(pod)
                break
            else:
                refused[pod["metadata"]["uid"]] = (pod, ", ".join(
                    f"{n} {why}" for why, n in sorted(reasons.items())))
        if grow:
            self._grow(grow, nodes, triggered, now)
        self._refuse(refused, now)

    def _grow(self, grow: dict[str, int], nodes: Mapping[str, Obj], triggered: list[Obj],
              now: datetime) -> None:
        infos = []
        for name, n in grow.items():
            pool, before = self.pools[name], self.size(name, nodes)
            infos.append(f"{{{name} {before}->{before + n} (max: {pool.max_size})}}")
            for _ in range(n):
                node, address = self._new_name(name)
                self.coming.append(_Coming(
                    name, node, now + timedelta(seconds=self.provision_seconds),
                    now + timedelta(seconds=self.provision_seconds + self.not_ready_seconds),
                    address))
            self.scale_ups.append((now, name, before, before + n))
            cm = self._status_map()
            if cm is not None:
                record_event(self.emu, cm, "ScaledUpGroup", f"Scale-up: setting group {name} "
                             f"size to {before + n} instead of {before} (max: {pool.max_size})",
                             component=COMPONENT)
        self._last_up = now
        message = "pod triggered scale-up: [" + " ".join(infos) + "]"
        for pod in triggered:
            record_event(self.emu, pod, "TriggeredScaleUp", message, component=COMPONENT)

    def _refuse(self, refused: dict[str, tuple[Obj, str]], now: datetime) -> None:
        for uid, (pod, reasons) in refused.items():
            message = f"pod didn't trigger scale-up: {reasons}"
            said = self._refused.get(uid)
            if said is not None and said[0] == message and (
                    now - said[1]).total_seconds() < self.scan_seconds:
                continue
            self._refused[uid] = (message, now)
            record_event(self.emu, pod, "NotTriggerScaleUp", message, component=COMPONENT)
        self._refused = {u: s for u, s in self._refused.items() if u in refused}

    # -- scale-down -----------------------------------------------------------------------------
    def _blocks(self, pod: Obj) -> bool:
        """A pod that keeps its node: not a DaemonSet's, not expendable, not finished."""
        ref = owner(pod) or {}
        return (not finished(pod) and ref.get("kind") != "DaemonSet"
                and priority(pod) >= self.expendable_cutoff)

    def _scale_down(self, nodes: dict[str, Obj], pods: list[Obj], now: datetime) -> None:
        busy = {spec(p).get("nodeName") for p in pods if self._blocks(p)}
        sizes = {name: self.size(name, nodes) for name in self.pools}
        for name, node in sorted(nodes.items()):
            pool = self.pool_of(node)
            ready = (condition(node, "Ready") or {}).get("status") == "True"
            if pool is None or not ready or name in busy or any(
                    t.get("key") == TO_BE_DELETED for t in spec(node).get("taints") or []):
                self._empty_since.pop(name, None)
                continue
            since = self._empty_since.setdefault(name, now)
            if self._last_up is not None:
                since = max(since, self._last_up + timedelta(seconds=self.delay_after_add
                                                             - self.scale_down_seconds))
            if (now - since).total_seconds() < self.scale_down_seconds:
                continue
            if sizes[pool.name] <= pool.min_size:
                continue
            if self._remove(node, [p for p in pods if spec(p).get("nodeName") == name], now):
                sizes[pool.name] -= 1
                self._empty_since.pop(name, None)
        self._empty_since = {n: t for n, t in self._empty_since.items() if n in nodes}

    def _remove(self, node: Obj, pods: list[Obj], now: datetime) -> bool:
        name = node["metadata"]["name"]
        new = deep(node)
        new["spec"]["taints"] = [*(spec(node).get("taints") or []), {
            "key": TO_BE_DELETED, "value": str(int(now.timestamp())), "effect": "NoSchedule"}]
        marked = self.update(self.nodes, new)
        if marked is None:
            return False
        record_event(self.emu, marked, "ScaleDown", "marked the node as toBeDeleted/unschedulable",
                     component=COMPONENT)
        for pod in pods:
            if not finished(pod) and not pod["metadata"].get("deletionTimestamp"):
                record_event(self.emu, pod, "ScaleDown", "deleting pod for node scale down",
                             component=COMPONENT)
                self.delete(self.pods, pod)
        cm = self._status_map()
        if cm is not None:
            record_event(self.emu, cm, "ScaleDownEmpty",
                         f'Scale-down: removing empty node "{name}"', component=COMPONENT)
        return self.delete(self.nodes, marked, grace=0)

    # -- the status ConfigMap -------------------------------------------------------------------
    def _status_map(self) -> Obj | None:
        found = self.store.get(self.configmaps.key, ("kube-system", "cluster-autoscaler-status"))
        if found is not None:
            return found
        return self.create(self.configmaps, "kube-system", {"metadata": {
            "name": "cluster-autoscaler-status", "namespace": "kube-system",
            "annotations": {"cluster-autoscaler.kubernetes.io/last-updated": time.strftime(
                "%Y-%m-%d %H:%M:%S", time.gmtime())}},
            "data": {"status": "time: emulated\nautoscalerStatus: Running\n"}})
