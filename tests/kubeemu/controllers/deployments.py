"""ReplicaSets and Deployments, as kube-controller-manager's replicaset and deployment controllers.

- **ReplicaSet** (https://kubernetes.io/docs/concepts/workloads/controllers/replicaset/): creates
  pods `<rs>-xxxxx` from its template (ownerReference controller=true) until `spec.replicas` are
  active (not terminating, not finished), deletes the surplus (unscheduled first, then pending,
  then not ready, then the newest), and reports what it observed: `replicas`,
  `fullyLabeledReplicas`, `readyReplicas`, `availableReplicas` (ready for `minReadySeconds`),
  `observedGeneration`.
- **Deployment** (https://kubernetes.io/docs/concepts/workloads/controllers/deployment/): one
  ReplicaSet per template, named `<deployment>-<pod-template-hash>`, the hash also a label of the
  ReplicaSet, its selector and its pods; `deployment.kubernetes.io/revision` annotations.
  `RollingUpdate` (maxSurge and maxUnavailable default 25%, surge rounded up, unavailable down,
  both 0 means unavailable 1) scales the new ReplicaSet up within replicas + maxSurge and the old
  ones down while at least replicas - maxUnavailable stay available (unhealthy old replicas
  first), one step per pass, as `rolloutRolling` does. `Recreate` scales every old ReplicaSet
  to 0 and brings the new one up only once their pods are gone (terminating ones included). Old
  ReplicaSets at 0 beyond `revisionHistoryLimit` (default 10) are deleted. Status: `replicas`,
  `updatedReplicas`, `readyReplicas`, `availableReplicas`, `unavailableReplicas`,
  `observedGeneration` and the `Available` and `Progressing` conditions with the real reasons.
  `paused` is honoured by doing nothing but status.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import TYPE_CHECKING

from ..clock import timestamp
from ..store import Obj
from .base import deep
from .pods import (
    active,
    available,
    finished,
    from_template,
    labels,
    omit_zero,
    ready,
    spec,
    status,
    template_hash,
)

if TYPE_CHECKING:
    from .workloads import Workloads

HASH = "pod-template-hash"
REVISION = "deployment.kubernetes.io/revision"


def _rank_for_deletion(pod: Obj) -> tuple[int, int, int, float]:
    """Which surplus pod goes first (controller.ActivePods' order, simplified)."""
    phase = {"Pending": 0, "Unknown": 1, "Running": 2}.get(status(pod).get("phase", ""), 0)
    created = datetime.fromisoformat(pod["metadata"]["creationTimestamp"]).timestamp()
    return (1 if spec(pod).get("nodeName") else 0, phase, 1 if ready(pod) else 0, -created)


def sync_replicaset(ctl: Workloads, rs: Obj, owned: list[Obj], now: datetime) -> None:
    pods = [p for p in owned if active(p)]
    want = spec(rs).get("replicas", 1)
    if len(pods) < want:
        name = rs["metadata"]["name"]
        for _ in range(want - len(pods)):
            ctl.create(ctl.pods, rs["metadata"]["namespace"], from_template(
                rs, spec(rs).get("template") or {}, {}, generateName=f"{name}-"))
    elif len(pods) > want:
        for pod in sorted(pods, key=_rank_for_deletion)[:len(pods) - want]:
            ctl.delete(ctl.pods, pod)
    min_ready = int(spec(rs).get("minReadySeconds") or 0)
    template_labels = labels(spec(rs).get("template") or {})
    new = {**status(rs), "replicas": len(pods),
           "fullyLabeledReplicas": sum(1 for p in pods if template_labels.items()
                                       <= labels(p).items()),
           "readyReplicas": sum(1 for p in pods if ready(p)),
           "availableReplicas": sum(1 for p in pods if available(p, min_ready, now)),
           "observedGeneration": rs["metadata"].get("generation", 1)}
    new = omit_zero(new, "fullyLabeledReplicas", "readyReplicas", "availableReplicas")
    ctl.set_status(ctl.replicasets, rs, new)


def _resolve(value: object, total: int, round_up: bool) -> int:
    if isinstance(value, str) and value.endswith("%"):
        exact = int(value[:-1]) * total / 100
        return math.ceil(exact) if round_up else math.floor(exact)
    return int(value)  # type: ignore[call-overload]


def _revision(rs: Obj) -> int:
    return int((rs["metadata"].get("annotations") or {}).get(REVISION, "0"))


def _scale(ctl: Workloads, rs: Obj, replicas: int) -> None:
    if spec(rs).get("replicas", 1) != replicas:
        new = deep(rs)
        new["spec"]["replicas"] = replicas
        ctl.update(ctl.replicasets, new)


def _new_replicaset(ctl: Workloads, d: Obj, pod_hash: str, revision: int) -> None:
    template = deep(spec(d).get("template") or {})
    template.setdefault("metadata", {}).setdefault("labels", {})[HASH] = pod_hash
    selector = deep(spec(d).get("selector") or {})
    selector.setdefault("matchLabels", {})[HASH] = pod_hash
    body = from_template(d, template, {}, name=f"{d['metadata']['name']}-{pod_hash}")
    body["metadata"]["labels"] = dict(template["metadata"]["labels"])
    body["metadata"]["annotations"] = {REVISION: str(revision)}
    body.update(apiVersion="apps/v1", kind="ReplicaSet", spec={
        "replicas": 0, "minReadySeconds": spec(d).get("minReadySeconds", 0),
        "selector": selector, "template": template})
    ctl.create(ctl.replicasets, d["metadata"]["namespace"], body)


def sync_deployment(ctl: Workloads, d: Obj, rss: list[Obj], pods_of: dict[str, list[Obj]],
                    now: datetime) -> None:
    template = spec(d).get("template") or {}
    pod_hash = template_hash(template)
    new_rs = next((rs for rs in rss if labels(rs).get(HASH) == pod_hash), None)
    old = sorted((rs for rs in rss if rs is not new_rs), key=_revision)
    replicas = spec(d).get("replicas", 1)
    strategy = spec(d).get("strategy") or {}
    rolling = strategy.get("type", "RollingUpdate") == "RollingUpdate"
    params = strategy.get("rollingUpdate") or {}
    surge = _resolve(params.get("maxSurge", "25%"), replicas, True) if rolling else 0
    unavailable = _resolve(params.get("maxUnavailable", "25%"), replicas, False) if rolling else 0
    if rolling and surge == 0 and unavailable == 0:
        unavailable = 1
    min_available = replicas - unavailable
    if not spec(d).get("paused"):
        if new_rs is None:
            _new_replicaset(ctl, d, pod_hash, max((_revision(rs) for rs in old), default=0) + 1)
        elif rolling:
            _roll(ctl, new_rs, old, replicas, surge, min_available)
        else:
            for rs in old:
                _scale(ctl, rs, 0)
            # Terminating pods still run: Recreate waits until they are gone (oldPodsRunning).
            if not any(not finished(p) for rs in old
                       for p in pods_of.get(rs["metadata"]["uid"], [])):
                _scale(ctl, new_rs, replicas)
        limit = spec(d).get("revisionHistoryLimit", 10)
        spent = [rs for rs in old if spec(rs).get("replicas", 1) == 0
                 and not status(rs).get("replicas")]
        for rs in spent[:max(0, len(spent) - limit)]:
            ctl.delete(ctl.replicasets, rs)
    _deployment_status(ctl, d, new_rs, rss, replicas, min_available, now)


def _roll(ctl: Workloads, new_rs: Obj, old: list[Obj], replicas: int, surge: int,
          min_available: int) -> None:
    specs = {rs["metadata"]["uid"]: spec(rs).get("replicas", 1) for rs in [new_rs, *old]}
    total = sum(specs.values())
    new_spec = specs[new_rs["metadata"]["uid"]]
    if new_spec > replicas:
        _scale(ctl, new_rs, replicas)
        return
    if new_spec < replicas and total < replicas + surge:
        _scale(ctl, new_rs, new_spec + min(replicas + surge - total, replicas - new_spec))
        return
    new_unavailable = new_spec - status(new_rs).get("availableReplicas", 0)
    budget = total - min_available - new_unavailable
    wanted = {rs["metadata"]["uid"]: specs[rs["metadata"]["uid"]] for rs in old}
    for rs in old:  # oldest first: unhealthy replicas go before healthy ones
        if budget <= 0:
            break
        uid = rs["metadata"]["uid"]
        cut = min(budget, wanted[uid] - status(rs).get("availableReplicas", 0))
        if cut > 0:
            wanted[uid] -= cut
            budget -= cut
    can_go = sum(status(rs).get("availableReplicas", 0) for rs in [new_rs, *old]) - min_available
    for rs in old:
        if can_go <= 0:
            break
        uid = rs["metadata"]["uid"]
        cut = min(can_go, wanted[uid])
        wanted[uid] -= cut
        can_go -= cut
    for rs in old:
        _scale(ctl, rs, wanted[rs["metadata"]["uid"]])


def _condition(old: Obj, kind: str, state: bool, reason: str, message: str, now: datetime) -> Obj:
    prev: Obj = next((c for c in old.get("conditions") or [] if c.get("type") == kind), {})
    value = "True" if state else "False"
    if (prev.get("status"), prev.get("reason"), prev.get("message")) == (value, reason, message):
        return prev
    return {"type": kind, "status": value, "reason": reason, "message": message,
            "lastUpdateTime": timestamp(now),
            "lastTransitionTime": prev["lastTransitionTime"] if prev.get("status") == value
            else timestamp(now)}


def _deployment_status(ctl: Workloads, d: Obj, new_rs: Obj | None, rss: list[Obj], replicas: int,
                       min_available: int, now: datetime) -> None:
    def total(field: str) -> int:
        return sum(status(rs).get(field, 0) for rs in rss)

    old = status(d)
    updated = status(new_rs).get("replicas", 0) if new_rs is not None else 0
    available_now = total("availableReplicas")
    new = {**old, "observedGeneration": d["metadata"].get("generation", 1),
           "replicas": total("replicas"), "updatedReplicas": updated,
           "readyReplicas": total("readyReplicas"), "availableReplicas": available_now}
    new.pop("unavailableReplicas", None)
    if replicas - available_now > 0:
        new["unavailableReplicas"] = replicas - available_now
    ok = available_now >= min_available
    conditions = [_condition(old, "Available", ok,
                             "MinimumReplicasAvailable" if ok else "MinimumReplicasUnavailable",
                             "Deployment has minimum availability." if ok else
                             "Deployment does not have minimum availability.", now)]
    if new_rs is not None:
        name = new_rs["metadata"]["name"]
        done = updated == replicas == new["replicas"] == available_now
        conditions.append(_condition(
            old, "Progressing", True, "NewReplicaSetAvailable" if done else "ReplicaSetUpdated",
            f'ReplicaSet "{name}" has successfully progressed.' if done
            else f'ReplicaSet "{name}" is progressing.', now))
        annotations = d["metadata"].get("annotations") or {}
        if annotations.get(REVISION) != str(_revision(new_rs)):
            bumped = deep(d)
            bumped["metadata"].setdefault("annotations", {})[REVISION] = str(_revision(new_rs))
            ctl.update(ctl.deployments, bumped)
            return  # the status follows on the next pass, from the version just written
    new["conditions"] = conditions
    new = omit_zero(new, "replicas", "updatedReplicas", "readyReplicas", "availableReplicas")
    ctl.set_status(ctl.deployments, d, new)
