"""DaemonSets, as kube-controller-manager's daemonset controller keeps them.

https://kubernetes.io/docs/concepts/workloads/controllers/daemonset/:

- A node is eligible when the template's nodeSelector and required node affinity match it and
  its NoSchedule/NoExecute taints are tolerated, counting the tolerations the controller adds to
  every daemon pod (not-ready, unreachable, disk-, memory- and pid-pressure, unschedulable).
- Each eligible node gets one pod `<ds>-xxxxx` (owned, controller=true, labelled
  `controller-revision-hash`), pinned with required node affinity `matchFields metadata.name In
  [node]` and left to the default scheduler to bind, as since Kubernetes 1.12. Pods on nodes that
  are gone or no longer eligible are deleted, and so is any second pod for the same node.
- `updateStrategy: RollingUpdate` (default, maxUnavailable 1 or its value) replaces pods of an old
  template, a node at a time while unavailable pods stay within the bound; `OnDelete` waits.
- Status: `desiredNumberScheduled`, `currentNumberScheduled`, `numberMisscheduled`,
  `numberReady`, `numberAvailable`, `numberUnavailable`, `updatedNumberScheduled`,
  `observedGeneration`.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import TYPE_CHECKING

from ..store import Obj
from .base import deep
from .pods import (
    active,
    available,
    from_template,
    labels,
    node_matches,
    omit_zero,
    ready,
    spec,
    template_hash_of,
    untolerated_taint,
)

if TYPE_CHECKING:
    from .workloads import Workloads

REVISION = "controller-revision-hash"
DAEMON_TOLERATIONS = [
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/disk-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/memory-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/pid-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"},
]


def _daemon_pod(ds: Obj, revision: str) -> Obj:
    pod = from_template(ds, spec(ds).get("template") or {}, {REVISION: revision},
                        generateName=f"{ds['metadata']['name']}-")
    tolerations = pod["spec"].setdefault("tolerations", [])
    tolerations.extend(t for t in DAEMON_TOLERATIONS if t not in tolerations)
    return pod


def _pin(pod: Obj, node: str) -> Obj:
    pinned = deep(pod)
    affinity = pinned["spec"].setdefault("affinity", {}).setdefault("nodeAffinity", {})
    affinity["requiredDuringSchedulingIgnoredDuringExecution"] = {"nodeSelectorTerms": [
        {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node]}]}]}
    return pinned


def target_node(pod: Obj) -> str:
    """spec.nodeName, or the node its affinity pins it to (util.GetTargetNodeName)."""
    if spec(pod).get("nodeName"):
        return str(spec(pod)["nodeName"])
    required = (((spec(pod).get("affinity") or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution") or {})
    for term in required.get("nodeSelectorTerms") or []:
        for field in term.get("matchFields") or []:
            if field.get("key") == "metadata.name" and field.get("values"):
                return str(field["values"][0])
    return ""


def sync_daemonset(ctl: Workloads, ds: Obj, owned: list[Obj], nodes: list[Obj],
                   now: datetime) -> None:
    namespace = ds["metadata"]["namespace"]
    revision = template_hash_of(ds)
    probe = _daemon_pod(ds, revision)
    eligible = [n["metadata"]["name"] for n in nodes
                if node_matches(probe, n) and untolerated_taint(probe, n) is None]
    by_node: dict[str, list[Obj]] = {}
    for pod in sorted(owned, key=lambda p: p["metadata"]["creationTimestamp"]):
        if active(pod):
            by_node.setdefault(target_node(pod), []).append(pod)
    for node, pods in by_node.items():
        for pod in pods if node not in eligible else pods[1:]:
            ctl.delete(ctl.pods, pod)
    for node in eligible:
        if node not in by_node:
            ctl.create(ctl.pods, namespace, _pin(probe, node))
    min_ready = int(spec(ds).get("minReadySeconds") or 0)
    mine = {n: ps[0] for n, ps in by_node.items() if n in eligible}
    strategy = spec(ds).get("updateStrategy") or {}
    if strategy.get("type", "RollingUpdate") == "RollingUpdate" and len(mine) == len(eligible):
        limit = (strategy.get("rollingUpdate") or {}).get("maxUnavailable", 1)
        if isinstance(limit, str) and limit.endswith("%"):
            limit = max(1, math.ceil(int(limit[:-1]) * len(eligible) / 100))
        down = sum(1 for p in mine.values() if not available(p, min_ready, now))
        for node in sorted(mine):
            if down >= int(limit):
                break
            if labels(mine[node]).get(REVISION) != revision:
                ctl.delete(ctl.pods, mine[node])
                down += 1
    ready_count = sum(1 for p in mine.values() if ready(p))
    available_count = sum(1 for p in mine.values() if available(p, min_ready, now))
    new = {**(ds.get("status") or {}),
           "observedGeneration": ds["metadata"].get("generation", 1),
           "desiredNumberScheduled": len(eligible), "currentNumberScheduled": len(mine),
           "numberMisscheduled": sum(1 for n in by_node if n not in eligible),
           "numberReady": ready_count, "numberAvailable": available_count,
           "numberUnavailable": len(eligible) - available_count,
           "updatedNumberScheduled": sum(1 for p in mine.values()
                                         if labels(p).get(REVISION) == revision)}
    new = omit_zero(new, "numberAvailable", "numberUnavailable", "updatedNumberScheduled")
    ctl.set_status(ctl.daemonsets, ds, new)
