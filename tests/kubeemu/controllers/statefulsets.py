"""StatefulSets, as kube-controller-manager's statefulset controller keeps them.

https://kubernetes.io/docs/concepts/workloads/controllers/statefulset/:

- Pods are named `<sts>-0 .. <sts>-(n-1)`, owned by the set (controller=true), labelled with
  `controller-revision-hash` (`<sts>-<hash of the template>`), `statefulset.kubernetes.io/pod-name`
  and `apps.kubernetes.io/pod-index`, with `hostname` and `subdomain` (the serviceName) set.
- `podManagementPolicy: OrderedReady` (default) creates one ordinal at a time, each once every
  lower one is Running and Ready, and scales down from the highest ordinal, one at a time, once
  every other pod is ready; `Parallel` creates and deletes all at once. A missing pod (deleted,
  pre-empted, evicted) is created again under the same name once the old one is gone, and then
  waits like any pod (Pending, Unschedulable, if nothing has room).
- `updateStrategy: RollingUpdate` (default, partition honoured) replaces pods of an old revision
  from the highest ordinal down, one at a time, each after the rest are Running and Ready;
  `OnDelete` waits for someone to delete them.
- Status as `computeReplicaStatus` counts it: `replicas` (pods that exist, terminating included),
  `readyReplicas`, `availableReplicas`, `currentReplicas`, `updatedReplicas` (not terminating),
  `currentRevision` / `updateRevision` (current becomes update once every replica is updated and
  ready), `observedGeneration`, `collisionCount`.
  ControllerRevision objects and `volumeClaimTemplates` are not modelled.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from ..store import Obj
from .pods import (
    active,
    available,
    from_template,
    labels,
    omit_zero,
    ready,
    spec,
    status,
    template_hash_of,
)

if TYPE_CHECKING:
    from .workloads import Workloads

REVISION = "controller-revision-hash"


def _ordinal(sts_name: str, pod: Obj) -> int | None:
    suffix = pod["metadata"]["name"].removeprefix(f"{sts_name}-")
    return int(suffix) if suffix.isdigit() and suffix == str(int(suffix)) else None


def _running_and_ready(pod: Obj) -> bool:
    return active(pod) and status(pod).get("phase") == "Running" and ready(pod)


def _new_pod(sts: Obj, ordinal: int, revision: str) -> Obj:
    name = f"{sts['metadata']['name']}-{ordinal}"
    pod = from_template(sts, spec(sts).get("template") or {}, {
        REVISION: revision, "statefulset.kubernetes.io/pod-name": name,
        "apps.kubernetes.io/pod-index": str(ordinal)}, name=name)
    pod["spec"]["hostname"] = name
    if spec(sts).get("serviceName"):
        pod["spec"]["subdomain"] = spec(sts)["serviceName"]
    return pod


def sync_statefulset(ctl: Workloads, sts: Obj, owned: list[Obj], now: datetime) -> None:
    name, namespace = sts["metadata"]["name"], sts["metadata"]["namespace"]
    replicas = spec(sts).get("replicas", 1)
    parallel = spec(sts).get("podManagementPolicy") == "Parallel"
    revision = f"{name}-{template_hash_of(sts)}"
    pods = {o: p for p in owned if (o := _ordinal(name, p)) is not None}
    _status(ctl, sts, list(pods.values()), revision, replicas, now)
    if any(not active(p) for p in pods.values()) and not parallel:
        return  # OrderedReady waits for a terminating pod to be gone
    for i in range(replicas):
        pod = pods.get(i)
        if pod is None:
            ctl.create(ctl.pods, namespace, _new_pod(sts, i, revision))
            if not parallel:
                return
        elif not parallel and not _running_and_ready(pod):
            return
    condemned = sorted((o for o in pods if o >= replicas), reverse=True)
    for o in condemned:
        if active(pods[o]):
            if not parallel and not all(_running_and_ready(pods[i]) for i in pods if i != o):
                return
            ctl.delete(ctl.pods, pods[o])
            if not parallel:
                return
    if condemned:
        return
    strategy = spec(sts).get("updateStrategy") or {}
    if strategy.get("type", "RollingUpdate") != "RollingUpdate":
        return
    partition = (strategy.get("rollingUpdate") or {}).get("partition", 0)
    if not all(_running_and_ready(p) for p in pods.values()) or len(pods) < replicas:
        return
    for o in sorted(pods, reverse=True):
        if o >= partition and labels(pods[o]).get(REVISION) != revision:
            ctl.delete(ctl.pods, pods[o])
            return


def _status(ctl: Workloads, sts: Obj, pods: list[Obj], revision: str, replicas: int,
            now: datetime) -> None:
    old = status(sts)
    current = old.get("currentRevision") or revision
    min_ready = int(spec(sts).get("minReadySeconds") or 0)
    live = [p for p in pods if active(p)]
    new = {**old, "observedGeneration": sts["metadata"].get("generation", 1),
           "replicas": len(pods), "readyReplicas": sum(1 for p in pods if ready(p)),
           "availableReplicas": sum(1 for p in pods if available(p, min_ready, now)),
           "currentReplicas": sum(1 for p in live if labels(p).get(REVISION) == current),
           "updatedReplicas": sum(1 for p in live if labels(p).get(REVISION) == revision),
           "currentRevision": current, "updateRevision": revision, "collisionCount": 0}
    if new["updatedReplicas"] == new["replicas"] == replicas == new["readyReplicas"]:
        new["currentRevision"], new["currentReplicas"] = revision, new["updatedReplicas"]
    new = omit_zero(new, "readyReplicas", "currentReplicas", "updatedReplicas", "collisionCount")
    ctl.set_status(ctl.statefulsets, sts, new)
