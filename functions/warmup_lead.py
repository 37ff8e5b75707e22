"""The lead-time recorder (issue 14): how long this cluster takes to make room, measured.

Watch-driven, on the pods of the hub's users and placeholders as they become Ready:
- `scale_up`: the pod waited for a node (the scheduler's `FailedScheduling` or the autoscaler's
  `TriggeredScaleUp` Event about it, the first one) and was bound to a node created after that:
  the sample is from that first Event to the node's Ready. The Node object appears only when
  provisioning ends, so the wait is measured from the pod's side. One sample per node.
- `image_pull`: a user pod whose kubelet pulled its image (a `Pulling` Event): from bound
  (`PodScheduled`) to Ready. One sample per pod.
Samples go to the `classops-lead-times` ConfigMap (bounded, newest kept), which the scheduler
reads to fire warm-ups that long before their meetings (`shared.warmup.knobs.learned`). Two
handlers racing may drop a sample: the record is a statistic, not a ledger.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from shared.actions.model import Action, ApplyManifest
from shared.events import KubeObject, WatchEvent
from shared.handlers.context import Context
from shared.handlers.registry import on_watch
from shared.timestamps import kube_time
from shared.warmup import leadtime
from shared.warmup.knobs import LEAD_TIMES

MANAGER = "classops-warmup"
WAITED = ("FailedScheduling", "TriggeredScaleUp")
MEASURED = ("singleuser-server", "user-placeholder")


def _condition(obj: KubeObject, kind: str) -> Mapping[str, Any]:
    found = [c for c in obj.status.get("conditions") or [] if c.get("type") == kind]
    return found[0] if found else {}


def _event_time(e: KubeObject) -> datetime | None:
    raw = e.raw
    return kube_time(raw.get("firstTimestamp") or raw.get("eventTime")
                 or e.metadata.get("creationTimestamp"))


def samples_of(pod: KubeObject, node: KubeObject | None, events: Sequence[KubeObject]
               ) -> list[leadtime.Sample]:
    """What one Ready pod tells about this cluster's lead time (pure)."""
    ready = _condition(pod, "Ready")
    ready_at = kube_time(ready.get("lastTransitionTime"))
    if ready.get("status") != "True" or ready_at is None:
        return []
    found: list[leadtime.Sample] = []
    waited = [t for e in events if e.raw.get("reason") in WAITED and (t := _event_time(e))]
    node_ready = _condition(node, "Ready") if node is not None else {}
    node_ready_at = kube_time(node_ready.get("lastTransitionTime"))
    created = kube_time(node.metadata.get("creationTimestamp")) if node is not None else None
    if waited and node is not None and created and node_ready_at and created > min(waited) \
            and node_ready.get("status") == "True":
        found.append(leadtime.Sample("scale_up", (node_ready_at - min(waited)).total_seconds(),
                                     node_ready_at, node.name))
    bound = kube_time(_condition(pod, "PodScheduled").get("lastTransitionTime"))
    pulled = any(e.raw.get("reason") == "Pulling" for e in events)
    if pod.labels.get("component") == "singleuser-server" and pulled and bound:
        found.append(leadtime.Sample("image_pull", (ready_at - bound).total_seconds(), ready_at,
                                     pod.name))
    return found


@on_watch(kind="Pod", labels={"component": None}, actions=("modified",), id="warmup.lead")
def measure(event: WatchEvent, ctx: Context) -> Sequence[Action]:
    pod = event.object
    node_name = str(pod.spec.get("nodeName") or "")
    if pod.labels.get("component") not in MEASURED or not node_name or \
            _condition(pod, "Ready").get("status") != "True":
        return []
    ns = pod.namespace or ctx.settings.namespace
    node = ctx.kube.get("v1", "Node", node_name)
    events = list(ctx.kube.list("v1", "Event", ns, field_selector=(
        f"involvedObject.kind=Pod,involvedObject.name={pod.name}")))
    new = samples_of(pod, node, events)
    if not new:
        return []
    stored = ctx.kube.get("v1", "ConfigMap", LEAD_TIMES, ns)
    try:
        raw = json.loads(str((stored.raw.get("data") or {}).get("samples", "[]"))) \
            if stored else []
    except ValueError:
        raw = []
    before = leadtime.from_records(raw if isinstance(raw, list) else [])
    after = leadtime.keep(before, new)
    if after == before:
        return []
    return [ApplyManifest({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": LEAD_TIMES, "namespace": ns,
                     "labels": {"app.kubernetes.io/managed-by": "classops",
                                "component": "classops-warmup"}},
        "data": {"samples": json.dumps(leadtime.as_records(after))}}, field_manager=MANAGER)]
