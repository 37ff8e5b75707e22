"""Facts about pods and nodes that the scheduler, the kubelet and the workload controllers share.

- Quantities: https://kubernetes.io/docs/reference/kubernetes-api/common-definitions/quantity/
  (decimal and binary suffixes, `m` for milli).
- A pod's effective request is the larger of the sum of its containers' requests and the largest
  init container's request (https://kubernetes.io/docs/concepts/workloads/pods/init-containers/
  #resource-sharing-within-containers); every pod also takes one of the node's `pods`.
- Taints and tolerations: https://kubernetes.io/docs/concepts/scheduling-eviction/taint-and-toleration/
  (only NoSchedule and NoExecute keep a pod off a node; PreferNoSchedule is a preference).
- nodeSelector and required node affinity (terms ORed, expressions ANDed):
  https://kubernetes.io/docs/concepts/scheduling-eviction/assign-pod-node/.
- Label selectors (matchLabels and matchExpressions ANDed; an empty selector selects everything,
  a missing one nothing): https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/.
- The `DisruptionTarget` condition a pod gets just before a disruption deletes it (pre-emption,
  the Eviction API, the taint manager), as since 1.26:
  https://kubernetes.io/docs/concepts/workloads/pods/disruptions/#pod-disruption-conditions.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from ..clock import timestamp
from ..store import Obj

_SUFFIX: dict[str, int | Decimal] = {
    "": 1, "m": Decimal("0.001"), "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15,
    "E": 10**18, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_QUANTITY = re.compile(r"^([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)([a-zA-Z]*)$")
RESOURCES = ("cpu", "memory", "pods")


def quantity(value: Any) -> Decimal:
    """A Kubernetes quantity ("100m", "1.5Gi", 2) as a number of base units."""
    m = _QUANTITY.match(str(value).strip())
    if not m or m[2] not in _SUFFIX:
        raise ValueError(f"not a quantity: {value!r}")
    return Decimal(m[1]) * _SUFFIX[m[2]]


def spec(obj: Obj) -> Obj:
    return obj.get("spec") or {}


def status(obj: Obj) -> Obj:
    return obj.get("status") or {}


def labels(obj: Obj) -> dict[str, str]:
    return (obj.get("metadata") or {}).get("labels") or {}


_REQUESTS: dict[str, dict[str, Decimal]] = {}  # pod uid -> requests (immutable once created)


def requests(pod: Obj) -> dict[str, Decimal]:
    uid = pod["metadata"].get("uid", "")
    if not uid:
        return _requests(pod)
    if uid in _REQUESTS:
        return _REQUESTS[uid]
    if len(_REQUESTS) > 50_000:
        _REQUESTS.clear()
    _REQUESTS[uid] = out = _requests(pod)
    return out


def _requests(pod: Obj) -> dict[str, Decimal]:
    def total(containers: list[Obj]) -> dict[str, Decimal]:
        out = {"cpu": Decimal(0), "memory": Decimal(0)}
        for c in containers:
            for name, value in ((c.get("resources") or {}).get("requests") or {}).items():
                if name in out:
                    out[name] += quantity(value)
        return out

    main = total(spec(pod).get("containers") or [])
    for init in spec(pod).get("initContainers") or []:
        for name, value in total([init]).items():
            main[name] = max(main[name], value)
    main["pods"] = Decimal(1)
    return main


def allocatable(node: Obj) -> dict[str, Decimal]:
    raw = status(node).get("allocatable") or status(node).get("capacity") or {}
    return {name: quantity(raw[name]) if name in raw else Decimal(0) for name in RESOURCES}


def priority(pod: Obj) -> int:
    return int(spec(pod).get("priority") or 0)


def terminating(obj: Obj) -> bool:
    return bool(obj["metadata"].get("deletionTimestamp"))


def finished(pod: Obj) -> bool:
    return status(pod).get("phase") in ("Succeeded", "Failed")


def ready(pod: Obj) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in status(pod).get("conditions") or [])


def condition(obj: Obj, kind: str) -> Obj | None:
    return next((c for c in status(obj).get("conditions") or [] if c.get("type") == kind), None)


def tolerates(tolerations: list[Obj], taint: Obj) -> bool:
    for t in tolerations:
        if t.get("effect") and t["effect"] != taint.get("effect"):
            continue
        if t.get("operator") == "Exists":
            if not t.get("key") or t["key"] == taint.get("key"):
                return True
        elif t.get("key") == taint.get("key") and (t.get("value") or "") == (
                taint.get("value") or ""):
            return True
    return False


def untolerated_taint(pod: Obj, node: Obj) -> Obj | None:
    taints = list(spec(node).get("taints") or [])
    if spec(node).get("unschedulable"):
        taints.append({"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"})
    tolerations = spec(pod).get("tolerations") or []
    for taint in taints:
        if taint.get("effect") in ("NoSchedule", "NoExecute") and not tolerates(tolerations, taint):
            return taint
    return None


def _expression(expr: Obj, values: dict[str, str]) -> bool:
    key, op, wanted = expr.get("key", ""), expr.get("operator"), expr.get("values") or []
    present, value = key in values, values.get(key)
    if op == "In":
        return present and value in wanted
    if op == "NotIn":
        return not present or value not in wanted
    if op == "Exists":
        return present
    if op == "DoesNotExist":
        return not present
    if op in ("Gt", "Lt") and present and wanted:
        try:
            number, bound = int(value or ""), int(wanted[0])
        except ValueError:
            return False
        return number > bound if op == "Gt" else number < bound
    return False


def selects(selector: Obj | None, obj: Obj) -> bool:
    """metav1.LabelSelector semantics: None selects nothing, {} everything."""
    if selector is None:
        return False
    have = labels(obj)
    return (all(have.get(k) == v for k, v in (selector.get("matchLabels") or {}).items())
            and all(_expression(e, have) for e in selector.get("matchExpressions") or []))


def with_condition(old: Obj, cond: Obj) -> Obj:
    """A status with `cond` in place of any condition of its type."""
    conditions = [c for c in old.get("conditions") or [] if c.get("type") != cond["type"]]
    return {**old, "conditions": [*conditions, cond]}


def disruption_target(reason: str, message: str, now: datetime) -> Obj:
    return {"type": "DisruptionTarget", "status": "True", "reason": reason, "message": message,
            "lastProbeTime": None, "lastTransitionTime": timestamp(now)}


def node_matches(pod: Obj, node: Obj) -> bool:
    """nodeSelector and requiredDuringSchedulingIgnoredDuringExecution node affinity."""
    node_labels = labels(node)
    if any(node_labels.get(k) != v for k, v in (spec(pod).get("nodeSelector") or {}).items()):
        return False
    required = (((spec(pod).get("affinity") or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution") or {})
    terms = required.get("nodeSelectorTerms") or []
    if not terms:
        return True
    fields = {"metadata.name": node["metadata"]["name"]}
    return any(all(_expression(e, node_labels) for e in t.get("matchExpressions") or [])
               and all(_expression(e, fields) for e in t.get("matchFields") or [])
               and (t.get("matchExpressions") or t.get("matchFields"))
               for t in terms)


def owner(obj: Obj) -> Obj | None:
    """The controller ownerReference, if any."""
    refs = obj["metadata"].get("ownerReferences") or []
    return next((r for r in refs if r.get("controller")), None)


def owner_ref(obj: Obj) -> Obj:
    """An ownerReference naming `obj` as the controller, as kube-controller-manager sets it."""
    return {"apiVersion": obj["apiVersion"], "kind": obj["kind"],
            "name": obj["metadata"]["name"], "uid": obj["metadata"]["uid"],
            "controller": True, "blockOwnerDeletion": True}


# -- what workload controllers share -------------------------------------------------------------
_SAFE = "bcdfghjklmnpqrstvwxz2456789"  # apimachinery's SafeEncodeString alphabet


def template_hash(template: Obj) -> str:
    """A short stable hash of a pod template: the `pod-template-hash` / revision suffix."""
    digest = hashlib.sha256(json.dumps(template, sort_keys=True).encode()).digest()
    return "".join(_SAFE[b % len(_SAFE)] for b in digest[:10])


_REVISIONS: dict[tuple[str, str], str] = {}  # (uid, resourceVersion) -> template_hash


def template_hash_of(owner: Obj) -> str:
    """template_hash of a workload's `spec.template`, once per written version of the workload
    (the workload controllers ask on every pass; json.dumps + sha256 of the template each time
    was ~3 % of the emulator's time in a storm)."""
    meta = owner["metadata"]
    key = (meta.get("uid", ""), meta.get("resourceVersion", ""))
    if not all(key):
        return template_hash(spec(owner).get("template") or {})
    if key not in _REVISIONS:
        if len(_REVISIONS) > 10_000:
            _REVISIONS.clear()
        _REVISIONS[key] = template_hash(spec(owner).get("template") or {})
    return _REVISIONS[key]


def from_template(owner: Obj, template: Obj, extra_labels: dict[str, str], **meta: Any) -> Obj:
    """A pod (or the object of a ReplicaSet's template) owned by `owner`."""
    tmeta = template.get("metadata") or {}
    metadata: Obj = {**meta, "labels": {**(tmeta.get("labels") or {}), **extra_labels},
                     "ownerReferences": [owner_ref(owner)]}
    if tmeta.get("annotations"):
        metadata["annotations"] = dict(tmeta["annotations"])
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata,
            "spec": copy.deepcopy(template.get("spec") or {})}


def available(pod: Obj, min_ready_seconds: int, now: datetime) -> bool:
    """Ready for at least minReadySeconds (https://kubernetes.io/docs/concepts/workloads/
    controllers/deployment/#min-ready-seconds)."""
    cond = condition(pod, "Ready")
    if terminating(pod) or cond is None or cond.get("status") != "True":
        return False
    if not min_ready_seconds:
        return True
    since = datetime.fromisoformat(cond["lastTransitionTime"])
    return now >= since + timedelta(seconds=min_ready_seconds)


def active(pod: Obj) -> bool:
    return not terminating(pod) and not finished(pod)


def omit_zero(obj: Obj, *fields: str) -> Obj:
    """Drop `omitempty` integer fields that are 0, as the apiserver's JSON leaves them out (the
    client then reads None, not 0)."""
    return {k: v for k, v in obj.items() if not (k in fields and v == 0)}
