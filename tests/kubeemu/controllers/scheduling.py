"""Schedulers: bind pending pods to nodes, spreading or packing, and pre-empt for priority.

What kube-scheduler does (https://kubernetes.io/docs/concepts/scheduling-eviction/kube-scheduler/),
sized to what the hub stack needs:

- **Who schedules.** A pod naming `default-scheduler` (or none) is spread over the least allocated
  nodes (the NodeResourcesFit `LeastAllocated` score); a pod naming a packing scheduler (default
  `user-scheduler` and any name ending in `-user-scheduler`, which z2jh configures `MostAllocated`)
  goes to the most allocated node that fits. A pod naming any other scheduler stays Pending
  untouched. Pods are taken highest priority first, then oldest.
- **Filters.** Node affinity and nodeSelector, taints (NoSchedule, NoExecute) against tolerations,
  `spec.unschedulable`, requests against `status.allocatable` (cpu, memory, pods; terminating pods
  still hold their room), and required pod anti-affinity with topologyKey
  `kubernetes.io/hostname` in both directions (other topology keys are not modelled). Scores use
  the scheduler's non-zero defaults (100m cpu, 200Mi memory per container without requests);
  ties go to the node whose name sorts first (the real scheduler picks at random).
- **Unschedulable.** A pod no node fits gets `PodScheduled=False`, reason `Unschedulable`, with a
  "0/N nodes are available: ..." message: what cluster autoscalers watch for.
- **Pre-emption** (https://kubernetes.io/docs/concepts/scheduling-eviction/pod-priority-preemption/):
  if removing lower-priority pods from a node would let the pod fit, the fewest needed (the others
  reprieved, most important first) are deleted gracefully, the pod's
  `status.nominatedNodeName` names the node, and it binds once the victims are gone. Each victim
  first gets the `DisruptionTarget` condition (reason `PreemptionByScheduler`, message
  "<scheduler>: preempting to accommodate a higher priority pod"), as the scheduler writes it
  since 1.26 (https://kubernetes.io/docs/concepts/workloads/pods/disruptions/
  #pod-disruption-conditions); a victim written by someone else meanwhile puts the pre-emption
  off to the next pass. The room on a nominated node is held for the nominee against pods of
  lower priority; a nominee whose node still has terminating lower-priority pods waits instead of
  pre-empting more. The node chosen has the lowest highest-victim priority, then the fewest
  victims. `preemptionPolicy: Never` pods wait.
- **Priority**: the scheduler brings the Priority admission plugin (`priority.py`) with it.
- **Binding** is what `pods/binding` does: `spec.nodeName` set and `PodScheduled=True`, in one
  write guarded by the resourceVersion read.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from ..clock import timestamp
from ..recorder import record_event
from ..store import Obj
from .base import Controller, deep
from .pods import (
    RESOURCES,
    allocatable,
    disruption_target,
    finished,
    node_matches,
    priority,
    quantity,
    requests,
    selects,
    spec,
    status,
    terminating,
    tolerates,
    untolerated_taint,
    with_condition,
)
from .priority import PriorityAdmission

if TYPE_CHECKING:
    from ..emulator import Emulator

HOSTNAME = "kubernetes.io/hostname"
NO_NODES = "no nodes available to schedule pods"
NOT_HELPFUL = "Preemption is not helpful for scheduling"
NO_VICTIMS = "No preemption victims found for incoming pod"
_NONZERO = {"cpu": Decimal("0.1"), "memory": Decimal(200 * 2**20)}
Usage = dict[str, Decimal]


def _anti_terms(pod: Obj) -> list[Obj]:
    anti = (spec(pod).get("affinity") or {}).get("podAntiAffinity") or {}
    return [t for t in anti.get("requiredDuringSchedulingIgnoredDuringExecution") or []
            if t.get("topologyKey") == HOSTNAME]


def _term_hits(term: Obj, owner: Obj, other: Obj) -> bool:
    namespaces = term.get("namespaces") or [owner["metadata"]["namespace"]]
    return (other["metadata"]["namespace"] in namespaces
            and selects(term.get("labelSelector"), other))


def anti_affinity_conflict(pod: Obj, others: list[Obj],
                           terms: Callable[[Obj], list[Obj]] = _anti_terms) -> bool:
    """`terms` reads a pod's anti-affinity terms (a pass passes its memo of them)."""
    mine = terms(pod)
    return any(_term_hits(t, pod, o) for o in others for t in mine) or any(
        _term_hits(t, o, pod) for o in others for t in terms(o))


def fit_error(nodes: int, reasons: dict[str, int]) -> str:
    """FitError.Error(): "0/N nodes are available: " and the "<count> <reason>" strings sorted
    as strings (so "1 ..." before "2 ..."), as kube-scheduler words it."""
    detail = ", ".join(sorted(f"{n} {why}" for why, n in reasons.items()))
    return f"0/{nodes} nodes are available: {detail}."


def node_filter(pod: Obj, node: Obj) -> str | None:
    """The reasons no pod removal can cure (UnschedulableAndUnresolvable)."""
    if not node_matches(pod, node):
        return "node(s) didn't match Pod's node affinity/selector"
    if spec(node).get("unschedulable") and not tolerates(spec(pod).get("tolerations") or [], {
            "key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}):
        return "node(s) were unschedulable"
    taint = untolerated_taint(pod, node)
    if taint is not None:
        return f"node(s) had untolerated taint {{{taint.get('key')}: {taint.get('value', '')}}}"
    return None


def room_filter(pod: Obj, alloc: Usage, others: list[Obj], used: Usage,
                terms: Callable[[Obj], list[Obj]] = _anti_terms) -> str | None:
    """Requests against what is left (`used` sums `others`), then pod anti-affinity."""
    want = requests(pod)
    for r in RESOURCES:
        if want[r] and used[r] + want[r] > alloc[r]:
            return "Too many pods" if r == "pods" else f"Insufficient {r}"
    if anti_affinity_conflict(pod, others, terms):
        return "node(s) didn't match pod anti-affinity rules"
    return None


def _plus(used: Usage, pods: Iterable[Obj]) -> Usage:
    out = dict(used)
    for p in pods:
        for r, v in requests(p).items():
            out[r] += v
    return out


def _score_requests(pod: Obj) -> Usage:
    out = {r: Decimal(0) for r in _NONZERO}
    for c in spec(pod).get("containers") or []:
        asked = (c.get("resources") or {}).get("requests") or {}
        for r, default in _NONZERO.items():
            out[r] += quantity(asked[r]) if r in asked else default
    return out


_ZERO: Usage = {r: Decimal(0) for r in RESOURCES}


class _Pass:
    """What one scheduling pass knows: nodes, pods per node, nominees, room used per node.

    A pass is a snapshot, so what depends only on a pod's spec or a node (requests for the
    score, anti-affinity terms, the node filters for one scheduling shape) is worked out once a
    pass and kept here, and the room and score used per node are kept as running sums: a storm's
    pass is every pending pod x every node, and recomputing these per pair made it quadratic in
    the pods on a node (bench/scheduler_pass.py)."""

    def __init__(self, nodes: dict[str, Obj], bound: dict[str, list[Obj]],
                 nominated: dict[str, list[Obj]], now: datetime) -> None:
        self.nodes, self.bound, self.nominated, self.now = nodes, bound, nominated, now
        self.names = sorted(nodes)
        self.alloc = {name: allocatable(node) for name, node in nodes.items()}
        self.used = {name: _plus(_ZERO, bound[name]) for name in nodes}
        self._anti: dict[int, list[Obj]] = {}  # id(pod) -> its hostname anti-affinity terms
        self._scoring: dict[int, Usage] = {}  # id(pod) -> its requests as the score counts them
        self._shapes: dict[int, str] = {}  # id(pod) -> what node_filter reads of it
        self._filters: dict[tuple[str, str], str | None] = {}  # (shape, node) -> node_filter
        self._pods: list[Obj] = []  # keeps the pods keyed by id() alive for the pass
        # Both worked out for a node when first needed (most passes bind nothing):
        self._scored: dict[str, Usage] = {}  # node -> score requests of the pods on it
        # node -> whether a pod on it has anti-affinity terms: where none has, a pod without
        # terms of its own cannot conflict, and the check over every pod on the node is skipped.
        self._anti_on: dict[str, bool] = {}

    def scored(self, name: str) -> Usage:
        if name not in self._scored:
            self._scored[name] = self._sum_scoring(self.bound[name])
        return self._scored[name]

    def anti_matters(self, pod: Obj, name: str, held: list[Obj]) -> bool:
        """Whether pod anti-affinity can keep `pod` off node `name` (with the nominees `held`
        there): when it cannot, room_filter is given no pods to check it against."""
        if name not in self._anti_on:
            self._anti_on[name] = any(self.anti_terms(p) for p in self.bound[name])
        return bool(self.anti_terms(pod)) or self._anti_on[name] or any(
            self.anti_terms(q) for q in held)

    def anti_terms(self, pod: Obj) -> list[Obj]:
        key = id(pod)
        if key not in self._anti:
            self._pods.append(pod)
            self._anti[key] = _anti_terms(pod)
        return self._anti[key]

    def scoring(self, pod: Obj) -> Usage:
        key = id(pod)
        if key not in self._scoring:
            self._pods.append(pod)
            self._scoring[key] = _score_requests(pod)
        return self._scoring[key]

    def _sum_scoring(self, pods: Iterable[Obj]) -> Usage:
        out = {r: Decimal(0) for r in _NONZERO}
        for p in pods:
            for r, v in self.scoring(p).items():
                out[r] += v
        return out

    def node_filter(self, pod: Obj, name: str) -> str | None:
        """node_filter(pod, node), shared by the pods of one scheduling shape (a storm's
        students all have the same selectors, affinity and tolerations)."""
        pid = id(pod)
        if pid not in self._shapes:
            self._pods.append(pod)
            self._shapes[pid] = _shape(pod)
        key = (self._shapes[pid], name)
        if key not in self._filters:
            self._filters[key] = node_filter(pod, self.nodes[name])
        return self._filters[key]

    def add(self, node: str, pod: Obj) -> None:
        self.bound[node].append(pod)
        self.used[node] = _plus(self.used[node], [pod])
        if node in self._scored:
            for r, v in self.scoring(pod).items():
                self._scored[node][r] += v
        if node in self._anti_on and self.anti_terms(pod):
            self._anti_on[node] = True


def _shape(pod: Obj) -> str:
    """What node_filter reads of a pod, as a key."""
    s = spec(pod)
    return repr((s.get("nodeSelector"), (s.get("affinity") or {}).get("nodeAffinity"),
                 s.get("tolerations")))


class Scheduler(Controller):
    name = "scheduler"

    def __init__(self, emu: Emulator, packing: Iterable[str] = ("user-scheduler",)) -> None:
        super().__init__(emu)
        self.packing = set(packing)
        self.pods, self.nodes = self.resource("", "pods"), self.resource("", "nodes")
        self.admission = PriorityAdmission(emu.store)
        self._telling: list[tuple[Obj, str, str, str, Obj | None]] = []  # Events to record

    def start(self) -> None:
        if self.admission not in self.registry.admission:
            self.registry.admission.append(self.admission)
        super().start()

    def stop(self) -> None:
        super().stop()
        if self.admission in self.registry.admission:
            self.registry.admission.remove(self.admission)

    def strategy(self, scheduler_name: str) -> str | None:
        if scheduler_name in ("", "default-scheduler"):
            return "spread"
        if scheduler_name in self.packing or scheduler_name.endswith("-user-scheduler"):
            return "pack"
        return None

    def reconcile(self, now: datetime) -> None:
        nodes = {n["metadata"]["name"]: n for n in self.items(self.nodes)}
        bound: dict[str, list[Obj]] = defaultdict(list)
        pending, nominated = [], defaultdict(list)
        for pod in self.items(self.pods):
            node_name = spec(pod).get("nodeName")
            if node_name:
                if not finished(pod):
                    bound[node_name].append(pod)
            elif not terminating(pod) and self.strategy(spec(pod).get("schedulerName", "")):
                pending.append(pod)
                if status(pod).get("nominatedNodeName"):
                    nominated[status(pod)["nominatedNodeName"]].append(pod)
        if not pending:
            return
        pending.sort(key=lambda p: (-priority(p), p["metadata"]["creationTimestamp"],
                                    p["metadata"]["name"]))
        state = _Pass(nodes, bound, nominated, now)
        try:
            for pod in pending:
                self._schedule(pod, state)
        finally:
            self._tell()

    def _schedule(self, pod: Obj, state: _Pass) -> None:
        if self._volumes_unresolvable(pod, len(state.nodes), state.now):
            return
        nodes, bound, nominated, now = state.nodes, state.bound, state.nominated, state.now
        reasons: Counter[str] = Counter()  # the Filter statuses: reason -> number of nodes
        best: tuple[Decimal, str] | None = None
        pack = self.strategy(spec(pod).get("schedulerName", "")) == "pack"
        for name in state.names:
            held = [q for q in nominated.get(name, []) if q is not pod
                    and priority(q) >= priority(pod)]
            why = state.node_filter(pod, name) or room_filter(
                pod, state.alloc[name],
                bound[name] + held if state.anti_matters(pod, name, held) else [],
                _plus(state.used[name], held) if held else state.used[name], state.anti_terms)
            if why:
                reasons[why] += 1
                continue
            score = self._score(state.scoring(pod), state.alloc[name], state.scored(name), pack)
            if best is None or score > best[0]:
                best = (score, name)
        if best is not None:
            if self._bind(pod, best[1], now):
                state.add(best[1], pod)
            return
        nominee = status(pod).get("nominatedNodeName") or ""
        waiting = nominee in nodes and any(
            terminating(o) and priority(o) < priority(pod) for o in bound[nominee])
        postfilter, preempted = "", []
        if spec(pod).get("preemptionPolicy") == "Never":
            postfilter = "preemption: not eligible due to preemptionPolicy=Never."
        elif waiting:
            postfilter = "preemption: not eligible due to a terminating pod on the nominated node."
        else:
            choice, statuses = self._victims(pod, state)
            marked = self._mark_victims(pod, choice[1], now) if choice is not None else None
            if choice is None:
                postfilter = "preemption: " + fit_error(len(nodes), statuses)
            if choice is not None and marked is not None:
                nominee, victims = choice
                for victim, latest in zip(victims, marked, strict=True):
                    self.delete(self.pods, latest)
                    preempted.append(latest)
                    # What is left of this pass sees the victim as leaving, the room as held.
                    gone = deep(latest)
                    gone["metadata"]["deletionTimestamp"] = timestamp(now)
                    bound[nominee] = [gone if o is victim else o for o in bound[nominee]]
                nominated[nominee].append(pod)
        message = fit_error(len(nodes), dict(reasons)) if nodes else NO_NODES
        if nodes and postfilter:
            message += " " + postfilter
        self._unschedulable(pod, message, nominee if nominee in nodes else "", now)
        for victim in preempted:  # after the nomination is written, so a reader sees both
            self._preempted(victim, pod, nominee)

    def _score(self, mine: Usage, alloc: Usage, others: Usage, pack: bool) -> Decimal:
        """NodeResourcesFit's share of the node used with the pod (`mine`) on it (`others` sums
        the score requests of the pods already there)."""
        used = {r: mine[r] + others[r] for r in _NONZERO}
        shares = [min(used[r] / alloc[r], Decimal(1)) for r in _NONZERO if alloc[r] > 0]
        fraction = sum(shares, Decimal(0)) / len(shares) if shares else Decimal(0)
        return fraction if pack else 1 - fraction

    def _victims(self, pod: Obj, state: _Pass) -> tuple[tuple[str, list[Obj]] | None,
                                                        dict[str, int]]:
        """The node and victims to pre-empt, or None with why each node would not do (the
        default preemption's dry run: nodes an eviction cannot help are counted as "Preemption
        is not helpful for scheduling")."""
        candidates = []
        statuses: Counter[str] = Counter()
        mine = priority(pod)
        for name in state.nodes:
            on_node = state.bound[name]
            if state.node_filter(pod, name):
                statuses[NOT_HELPFUL] += 1
                continue
            lower = [o for o in on_node if priority(o) < mine and not terminating(o)]
            if not lower:
                statuses[NO_VICTIMS] += 1
                continue
            lower_ids = {id(o) for o in lower}
            held = [q for q in state.nominated.get(name, [])
                    if q is not pod and priority(q) >= mine]
            keep = [o for o in on_node if id(o) not in lower_ids] + held
            alloc, kept = state.alloc[name], _plus(_ZERO, keep)
            anti = state.anti_matters(pod, name, held)
            why = room_filter(pod, alloc, keep if anti else [], kept, state.anti_terms)
            if why:
                statuses[why] += 1
                continue
            victims = []
            lower.sort(key=lambda o: (-priority(o), o["metadata"]["creationTimestamp"]))
            for o in lower:
                with_o = _plus(kept, [o])  # the reprieve: does the pod still fit with o kept?
                if room_filter(pod, alloc, [*keep, o] if anti else [], with_o,
                               state.anti_terms) is None:
                    keep.append(o)
                    kept = with_o
                else:
                    victims.append(o)
            top = max(priority(v) for v in victims) if victims else -(2**31)
            candidates.append((top, len(victims), name, victims))
        if not candidates:
            return None, dict(statuses)
        _, _, name, victims = min(candidates, key=lambda c: c[:3])
        return (name, victims), dict(statuses)

    def _mark_victims(self, pod: Obj, victims: list[Obj], now: datetime) -> list[Obj] | None:
        """The DisruptionTarget condition on every victim before any is deleted (the victims as
        written); None (pre-empt next pass, from fresh state) if one changed since this pass
        read it."""
        cond = disruption_target(
            "PreemptionByScheduler", f"{spec(pod).get('schedulerName') or 'default-scheduler'}: "
            "preempting to accommodate a higher priority pod", now)
        marked = []
        for victim in victims:
            latest = self.set_status(self.pods, victim, with_condition(status(victim), cond))
            if latest is None:
                return None
            marked.append(latest)
        return marked

    # -- volume binding (the VolumeBinding plugin; on when the `volumes` controller runs) ---------
    def _volumes_unresolvable(self, pod: Obj, nodes: int, now: datetime) -> bool:
        """PreFilter: claims missing, being deleted or unbound Immediate keep the pod off every
        node (UnschedulableAndUnresolvable, so pre-emption cannot help)."""
        from .volumes import binding_of

        volumes = binding_of(self.emu)
        why = volumes.prefilter(pod) if volumes is not None and nodes else None
        if why is None:
            return False
        self._unschedulable(pod, f"0/{nodes} nodes are available: {why}. preemption: 0/{nodes} "
                            f"nodes are available: {nodes} Preemption is not helpful for "
                            "scheduling.", "", now)
        return True

    def _bind(self, pod: Obj, node: str, now: datetime) -> bool:
        from .volumes import binding_of

        volumes = binding_of(self.emu)
        if volumes is not None and not volumes.prebind(pod, node):
            return False  # PreBind: waiting for its WaitForFirstConsumer claims to bind
        new = deep(pod)
        new["spec"]["nodeName"] = node
        new["status"] = with_condition(status(new), {
            "type": "PodScheduled", "status": "True", "lastProbeTime": None,
            "lastTransitionTime": timestamp(now)})
        if not self.commit_if_unchanged(self.pods, pod, new):
            return False
        meta = pod["metadata"]
        self._event(pod, "Scheduled",
                    f"Successfully assigned {meta['namespace']}/{meta['name']} to {node}")
        return True

    # -- Events (recorder.py), as kube-scheduler's recorder writes them --------------------------
    def _event(self, pod: Obj, reason: str, message: str, type: str = "Normal",
               related: Obj | None = None) -> None:
        """Queued; recorded at the end of the pass, so its bindings stay close together."""
        self._telling.append((pod, reason, message, type, related))

    def _tell(self) -> None:
        telling, self._telling = self._telling, []
        for pod, reason, message, type, related in telling:
            name = spec(pod).get("schedulerName") or "default-scheduler"
            record_event(self.emu, pod, reason, message, component=name, type=type,
                         related=related)

    def _preempted(self, victim: Obj, pod: Obj, node: str) -> None:
        self._event(victim, "Preempted",
                    f"Preempted by pod {pod['metadata']['uid']} on node {node}", related=pod)

    def _unschedulable(self, pod: Obj, message: str, nominee: str, now: datetime) -> None:
        old = status(pod)
        current: Obj = next((c for c in old.get("conditions") or []
                        if c.get("type") == "PodScheduled"), {})
        same = (current.get("status"), current.get("reason"), current.get("message")) == (
            "False", "Unschedulable", message)
        if same and (old.get("nominatedNodeName") or "") == nominee:
            return
        new = with_condition(old, {
            "type": "PodScheduled", "status": "False", "reason": "Unschedulable",
            "message": message, "lastProbeTime": None,
            "lastTransitionTime": current.get("lastTransitionTime") if current.get(
                "status") == "False" else timestamp(now)})
        if nominee:
            new["nominatedNodeName"] = nominee
        else:
            new.pop("nominatedNodeName", None)
        if self.set_status(self.pods, pod, new) is not None and not same:
            # One FailedScheduling per new verdict (the real scheduler repeats it on each retry,
            # which the recorder counts; here a pass runs on every store change).
            self._event(pod, "FailedScheduling", message, type="Warning")


