"""Lecture warm-up (issue 14): room for every student before the meeting starts, and not a
node-hour more.

- `meeting.warmup` (at start - lead): hold `expected - running` seats for the meetings open now
  (this one and any overlapping: same audience max, different audiences sum), capped by
  `warmup.max`, as user-sized or node-sized placeholders (`shared.warmup.sizing`).
- `meeting.cooldown` (at end + grace): record the meeting's attendance (a count), then hold
  what the meetings still open need, or the baseline (an adopted release's own count; else
  `warmup.baseline` in term, 0 outside it).
- While a meeting is open the count follows `expected - running` as students' pods come and
  go, so a placeholder a student pre-empted does not ask the autoscaler for a node nobody
  needs; a reset of the count (a `helm upgrade` in a warm window) is re-asserted.
The decision's inputs go onto the workload as annotations (`shared.warmup.holding`): the state
lives in the cluster. In a plan without a cluster, nothing exists and nobody is running.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from functions import course
from shared.actions.model import Action, ApplyManifest, HoldPlaceholders
from shared.events import ClassEvent, KubeObject, WatchEvent
from shared.events.catalogue import COOLDOWN, WARMUP, MeetingData
from shared.handlers.context import Context
from shared.handlers.registry import PermanentError, on, on_watch
from shared.stack.admin import SCHEDULE_CONFIGMAP
from shared.stack.config import HubSettings
from shared.timetable import Timetable, sessions
from shared.warmup import attendance, holding, leadtime, sizing, workload
from shared.warmup.holding import WarmState
from shared.warmup.knobs import ATTENDANCE, LEAD_TIMES, WarmupKnobs, knobs_of
from shared.warmup.sizing import Demand

USER_PODS = "component=singleuser-server"
USER_NODE = ("hub.jupyter.org/node-purpose", "user")
MANAGER = "classops-warmup"
# The node-sized set's own spec: a manager apart from the one that applies the warm state's
# annotations, or each annotation-only apply would drop the spec that manager applied before.
NODES_MANAGER = "classops-warmup-nodes"


def timetable_of(ctx: Context) -> Timetable:
    """The schedule being run; the warm-up cannot size anything without one, even in a plan."""
    found = course.timetable(ctx)
    if found is None:
        raise PermanentError(f"no schedule: no ConfigMap {ctx.settings.namespace}/"
                             f"{SCHEDULE_CONFIGMAP}")
    return found


def _hub_settings(tt: Timetable) -> HubSettings | None:
    found = tt.extensions.get("hub")
    return found if isinstance(found, HubSettings) else None


def namespace(ctx: Context, tt: Timetable) -> str:
    """The course's namespace: the settings', else the schedule's `hub.namespace` (a plan)."""
    hub = tt.extensions.get("hub")
    return ctx.settings.namespace or str(getattr(hub, "namespace", "") or "")


def _data(ctx: Context, name: str, key: str, empty: str) -> object:
    found = ctx.kube.get("v1", "ConfigMap", name, ctx.settings.namespace)
    try:
        return json.loads(str((found.raw.get("data") or {}).get(key, empty)) if found else empty)
    except ValueError:
        return json.loads(empty)  # state is best effort: a broken record is started afresh


def counts(ctx: Context) -> dict[str, int]:
    raw = _data(ctx, ATTENDANCE, "counts", "{}")
    return {str(k): int(v) for k, v in raw.items() if isinstance(v, int)} \
        if isinstance(raw, dict) else {}


def lead(ctx: Context, tt: Timetable, knobs: WarmupKnobs) -> leadtime.LeadTime:
    raw = _data(ctx, LEAD_TIMES, "samples", "[]")
    samples = leadtime.from_records(raw if isinstance(raw, list) else [])
    return leadtime.lead_time(samples, tt.knobs.lead_time, knobs.lead_margin,
                              knobs.lead_quantile, knobs.lead_min_samples)


def _alive(pod: KubeObject) -> bool:
    return not pod.metadata.get("deletionTimestamp") and \
        pod.status.get("phase") not in ("Succeeded", "Failed")


@dataclass(frozen=True)
class Cluster:
    """What one decision read: the workloads, the servers, the nodes' room."""

    main: workload.Workload
    live: KubeObject | None  # the placeholder StatefulSet (None: not there, or a plan)
    nodes_live: KubeObject | None  # the node-sized one
    running: int
    users_per_node: int  # node mode: 0 when no user node could be measured
    node_requests: tuple[float, float] | None
    free_seats: int


def observe(ctx: Context, knobs: WarmupKnobs, hub_settings: HubSettings | None = None
            ) -> Cluster:
    ns = ctx.settings.namespace
    hub = ctx.kube.get("v1", "ConfigMap", "hub", ns)
    main = workload.placeholder_of(hub.raw.get("data") if hub else None)
    live = ctx.kube.get(main.api_version, main.kind, main.name, ns)
    scalers = [o.raw for o in ctx.kube.list("autoscaling/v2", "HorizontalPodAutoscaler", ns)]
    scalers += _scaled_objects(ctx, ns)
    owned = workload.owners(main, scalers)
    if owned:
        raise PermanentError(workload.refusal(main, owned))
    pods = [p for p in ctx.kube.list("v1", "Pod", ns, USER_PODS) if _alive(p)]
    nodes_live = ctx.kube.get(main.api_version, main.kind, workload.nodes_name(main), ns)
    if knobs.mode != "node":
        return Cluster(main, live, nodes_live, len(pods), 0, None, 0)
    per_user = workload.requests_of(((live.spec.get("template") or {}).get("spec") or {})
                                    if live else {})
    if live is None and hub_settings is not None:  # a plan: what the stack would render
        r = hub_settings.resources
        per_user = (workload.quantity(r.cpu_guarantee or 0),
                    float(r.memory_request or 0))  # KubeSpawner's bytes
    shapes = _user_nodes(ctx)
    alloc = (min(c for c, _ in shapes.values()), min(m for _, m in shapes.values())) \
        if shapes else None
    if alloc is None and knobs.node is not None:  # a pool scaled to 0: the configured shape
        alloc = (workload.quantity(knobs.node[0]), workload.quantity(knobs.node[1]))
    upn = knobs.users_per_node or (sizing.users_per_node(alloc, per_user) if alloc else 0)
    held = {str(p.spec.get("nodeName")) for p in ctx.kube.list(
        "v1", "Pod", ns, f"{workload.SIZE_LABEL}=node") if _alive(p)}
    per_node: dict[str, int] = {}
    for p in pods:
        per_node[str(p.spec.get("nodeName"))] = per_node.get(str(p.spec.get("nodeName")), 0) + 1
    # Room on nodes that students already use and no node placeholder holds (an empty node is
    # where a node placeholder goes, so it is not counted as room besides them).
    free = sum(max(0, upn - per_node[n]) for n in shapes if n not in held and per_node.get(n))
    return Cluster(main, live, nodes_live, len(pods), upn,
                   sizing.node_requests(alloc) if alloc else None, free)


def _scaled_objects(ctx: Context, ns: str) -> list[Mapping[str, Any]]:
    """KEDA's ScaledObjects, or none where KEDA is not installed (its API is not served)."""
    try:
        return [o.raw for o in ctx.kube.list("keda.sh/v1alpha1", "ScaledObject", ns)]
    except Exception as err:  # the port's ApiError; functions/ names no port
        if getattr(err, "not_found", False):
            return []
        raise


def _user_nodes(ctx: Context) -> dict[str, tuple[float, float]]:
    """Ready, schedulable user nodes (z2jh's node-purpose label, else every node): allocatable."""
    found: dict[str, tuple[float, float]] = {}
    nodes = list(ctx.kube.list("v1", "Node"))
    marked = [n for n in nodes if n.labels.get(USER_NODE[0]) == USER_NODE[1]]
    for n in marked or nodes:
        ready = any(c.get("type") == "Ready" and c.get("status") == "True"
                    for c in n.status.get("conditions") or [])
        alloc = n.status.get("allocatable") or {}
        if ready and not n.spec.get("unschedulable") and "cpu" in alloc:
            found[n.name] = (workload.quantity(alloc["cpu"]),
                             workload.quantity(alloc.get("memory", 0)))
    return found


def demands(tt: Timetable, knobs: WarmupKnobs, history: dict[str, int]) -> list[Demand]:
    """Every meeting of the term as a Demand, its expected people from the slot's history when
    there is enough of it, else from the timetable."""
    found = []
    for s in sessions(tt):
        size = tt.enrolment.audience_size(s.audience)
        past = attendance.history(history, s.meeting, s.start)
        got = attendance.expected(size, s.expected, past, min_meetings=knobs.history_min)
        found.append(Demand(s.meeting, s.audience, got.expected, s.start, s.end, got.source))
    return found


def in_term(tt: Timetable, now: datetime) -> bool:
    zone = tt.term.timezone
    start = datetime.combine(tt.term.start, time(0), zone)
    return start <= now < datetime.combine(tt.term.end + timedelta(days=1), time(0), zone)


def baseline(tt: Timetable, knobs: WarmupKnobs, c: Cluster, now: datetime) -> int:
    """What the main placeholders hold when no meeting is: an adopted release's own count,
    else `warmup.baseline` in term and 0 outside it."""
    kept = holding.original(c.live.annotations if c.live else {},
                            (c.live.spec.get("replicas") if c.live else 0), c.main.adopted)
    if kept is not None:
        return kept
    return knobs.baseline if in_term(tt, now) else 0


def hold(ctx: Context, tt: Timetable, knobs: WarmupKnobs, c: Cluster, held: Sequence[Demand],
         verb: str, about: Demand, lead_used: leadtime.LeadTime,
         extra: str = "") -> list[Action]:
    """The actions that hold what `held` needs (or the baseline when it is empty)."""
    now, ns = ctx.clock(), namespace(ctx, tt)
    base = baseline(tt, knobs, c, now)
    original = holding.original(c.live.annotations if c.live else {},
                                (c.live.spec.get("replicas") if c.live else 0), c.main.adopted)
    mode = knobs.mode if knobs.mode == "user" or c.users_per_node else "user"
    expected = sizing.combined(held)
    target = sizing.size(expected, c.running, knobs.max, mode, c.users_per_node, c.free_seats)
    on_main = max(target.replicas, base) if mode == "user" else base
    on_nodes = target.replicas if mode == "node" else 0
    shown = on_main if mode == "user" else on_nodes
    head = f"{verb} to {shown} for {tt.course} {holding.label(about)}"
    if verb == "warmed":
        head += f", {lead_used.describe()}"
    if held:
        why = f"{head}: {holding.describe_meetings(held)}; {target.why()}"
        if mode != knobs.mode:
            why += "; user-sized until a user node can be measured"
        until = max(d.end for d in held) + tt.knobs.cooldown_grace
        state: WarmState | None = WarmState(expected, mode, knobs.max, c.users_per_node, until,
                                            tuple(holding.label(d) for d in held), base)
    else:
        why = f"{head}: no meeting open; baseline {base}"
        state = None
    why += extra
    name, nodes = c.main.name, workload.nodes_name(c.main)
    actions: list[Action] = []
    if mode == "node" and c.live is not None and c.node_requests is not None:
        cpu, memory = c.node_requests
        actions.append(ApplyManifest(workload.node_sized(c.live.raw, nodes, cpu, memory),
                                     field_manager=NODES_MANAGER))
    if mode == "user":
        actions.append(HoldPlaceholders(ns, name, on_main, why,
                                        holding.marks(state, on_main, why, original)))
    elif c.live is not None and c.live.spec.get("replicas") != on_main:
        # Node-sized: the user-sized set holds only its baseline (seen only when it differs).
        aside = f"baseline {on_main}: node-sized placeholders in {nodes} hold the seats"
        actions.append(HoldPlaceholders(ns, name, on_main, aside,
                                        holding.marks(None, on_main, aside, original)))
    if mode == "node" or c.nodes_live is not None:
        node_state = state if mode == "node" else None
        actions.append(HoldPlaceholders(ns, nodes, on_nodes, why,
                                        holding.marks(node_state, on_nodes, why, None)))
    if c.live is None and not ctx.assumed:
        raise PermanentError(f"no StatefulSet {ns}/{name} holds the placeholders: deploy the "
                             "hub stack first (classops deploy)")
    return actions


def _this(event: ClassEvent[MeetingData], all_demands: list[Demand]) -> Demand:
    d = event.data
    same = [x for x in all_demands if x.meeting == d.meeting and x.start == d.start]
    return same[0] if same else Demand(d.meeting, d.audience, d.expected, d.start, d.end)


@on(WARMUP)
def warm_up(event: ClassEvent[MeetingData], ctx: Context) -> Sequence[Action]:
    tt = timetable_of(ctx)
    knobs = knobs_of(tt)
    c = observe(ctx, knobs, _hub_settings(tt))
    used = lead(ctx, tt, knobs)
    everything = demands(tt, knobs, counts(ctx))
    this = _this(event, everything)
    key = (this.meeting, this.start)
    held = [d for d in holding.open_at(everything, ctx.clock(), used.value,
                                       tt.knobs.cooldown_grace) if (d.meeting, d.start) != key]
    return hold(ctx, tt, knobs, c, [this, *held], "warmed", this, used)


@on(COOLDOWN)
def cool_down(event: ClassEvent[MeetingData], ctx: Context) -> Sequence[Action]:
    tt = timetable_of(ctx)
    knobs = knobs_of(tt)
    c = observe(ctx, knobs, _hub_settings(tt))
    used = lead(ctx, tt, knobs)
    history = counts(ctx)
    everything = demands(tt, knobs, history)
    this = _this(event, everything)
    key = (this.meeting, this.start)
    held = [d for d in holding.open_at(everything, ctx.clock(), used.value,
                                       tt.knobs.cooldown_grace) if (d.meeting, d.start) != key]
    actions = hold(ctx, tt, knobs, c, held, "cooled", this, used,
                   f"; {c.running} servers counted for {this.meeting}")
    mine = attendance.meeting_key(this.meeting, this.start)
    if not ctx.assumed and history.get(mine) != c.running:
        recorded = attendance.record(history, mine, c.running)
        actions.append(ApplyManifest({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": ATTENDANCE, "namespace": ctx.settings.namespace,
                         "labels": {"app.kubernetes.io/managed-by": "classops",
                                    "component": "classops-warmup"}},
            "data": {"counts": json.dumps(recorded, sort_keys=True)}}, field_manager=MANAGER))
    return actions


def follow(ctx: Context, why: str) -> list[Action]:
    """Re-size an open hold to `expected - running` (nothing when no hold is open)."""
    tt = timetable_of(ctx)
    knobs = knobs_of(tt)
    c = observe(ctx, knobs, _hub_settings(tt))
    now, ns = ctx.clock(), ctx.settings.namespace
    for obj, name in ((c.live, c.main.name), (c.nodes_live, workload.nodes_name(c.main))):
        state = WarmState.from_json(obj.annotations.get(holding.STATE)) if obj else None
        if obj is None or state is None or not state.open(now):
            continue
        upn = c.users_per_node or state.users_per_node
        target = sizing.size(state.expected, c.running, state.maximum, state.mode, upn,
                             c.free_seats)
        replicas = max(target.replicas, state.baseline) if state.mode == "user" \
            else target.replicas
        held = obj.annotations.get(holding.TARGET, "")
        current = obj.spec.get("replicas")
        if held == str(replicas) and current == replicas:
            return []
        text = f"followed to {replicas} ({why}): {target.why()}; for {', '.join(state.meetings)}"
        if held == str(replicas):
            text = f"re-asserted {replicas}: replicas were reset to {current} ({why})"
        original = holding.original(obj.annotations, None, False)
        return [HoldPlaceholders(ns, name, replicas, text,
                                 holding.marks(state, replicas, text, original))]
    return []


@on_watch(kind="Pod", labels={"component": "singleuser-server"}, id="warmup.follow",
          coalesce=True)  # it reads every server and node: once per burst of changes
def follow_servers(event: WatchEvent, ctx: Context) -> Sequence[Action]:
    return follow(ctx, f"server {event.action}: {event.object.name}")


@on_watch(kind="StatefulSet", group="apps", labels={"component": "user-placeholder"},
          actions=("modified",), id="warmup.reassert", coalesce=True)
def reassert(event: WatchEvent, ctx: Context) -> Sequence[Action]:
    obj = event.object
    held = obj.annotations.get(holding.TARGET)
    if held is None or str(obj.spec.get("replicas")) == held:
        return []
    owner = workload.replicas_owner(obj.raw)
    if owner == MANAGER:  # our own count, its new target annotated a moment before: no reset
        return []
    return follow(ctx, f"the count was set by {owner or 'someone else'}")

