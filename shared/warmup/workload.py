"""Which workload holds the placeholders, who else scales it, and the node-sized variant (pure).

- A z2jh Helm release publishes its resolved names in its `hub` ConfigMap (the
  `jupyterhub.name-templates` keys, as `classops status` reads them): `user-placeholder` names
  the StatefulSet. classops's own stack names it `user-placeholder` too. A release is "adopted"
  when its ConfigMap carries z2jh's keys: its own replica count is then recorded and given back.
- An HPA or a KEDA ScaledObject whose target is the workload owns its replicas: classops refuses
  to warm it (each would undo the other every few seconds) and says what to do instead.
- Node-sized placeholders are a StatefulSet of their own, `<placeholder>-nodes`, derived from the
  placeholder's pod template (same priority, scheduler, tolerations and node affinity), with
  requests just under a user node's allocatable and a required anti-affinity on the hostname,
  so each holds one whole node. It is the warm-up's alone (applied as `classops-warmup`, no
  `replicas`): neither a redeploy nor a `helm upgrade` touches it.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

Z2JH_KEYS = ("user-placeholder", "user-scheduler-deploy", "continuous-image-puller")
DEFAULT_NAME = "user-placeholder"
SIZE_LABEL = "classops.edu/placeholder-size"


@dataclass(frozen=True)
class Workload:
    name: str
    adopted: bool  # a Helm release's (z2jh keys in its hub ConfigMap)
    kind: str = "StatefulSet"
    api_version: str = "apps/v1"


def placeholder_of(hub_config_data: Mapping[str, Any] | None) -> Workload:
    data = hub_config_data or {}
    adopted = any(k in data for k in Z2JH_KEYS) or "checksum_hook-image-puller" in data
    return Workload(str(data.get("user-placeholder") or DEFAULT_NAME), adopted)


def owners(workload: Workload, autoscalers: Iterable[Mapping[str, Any]]) -> list[str]:
    """`HorizontalPodAutoscaler x`, `ScaledObject y`: what scales this workload besides us."""
    found = []
    for obj in autoscalers:
        spec = obj.get("spec") or {}
        ref = spec.get("scaleTargetRef") or {}
        kind = ref.get("kind") or "Deployment"  # KEDA's default target kind
        if ref.get("name") == workload.name and kind == workload.kind:
            found.append(f"{obj.get('kind')} {(obj.get('metadata') or {}).get('name')}")
    return found


def refusal(workload: Workload, found: list[str]) -> str:
    return (f"{workload.kind} {workload.name} is scaled by {', '.join(found)}: warming it too "
            "would flap against it. Remove the autoscaler from the placeholders (placeholders "
            "are sized from the timetable, not from load) or turn the warm-up off for this hub")


def nodes_name(workload: Workload) -> str:
    return f"{workload.name}-nodes"


def node_sized(placeholder: Mapping[str, Any], name: str, cpu: float,
               memory: float) -> dict[str, Any]:
    """The node-sized StatefulSet, from the placeholder's own manifest as read."""
    meta = placeholder.get("metadata") or {}
    spec = placeholder.get("spec") or {}
    template = copy.deepcopy(spec.get("template") or {})
    labels = {**((template.get("metadata") or {}).get("labels") or {}), SIZE_LABEL: "node"}
    pod = template.setdefault("spec", {})
    for container in pod.get("containers") or []:
        container["resources"] = {"requests": {"cpu": f"{int(cpu * 1000)}m",
                                               "memory": str(int(memory))}}
    affinity = pod.setdefault("affinity", {})
    affinity["podAntiAffinity"] = {"requiredDuringSchedulingIgnoredDuringExecution": [{
        "labelSelector": {"matchLabels": {SIZE_LABEL: "node"}},
        "topologyKey": "kubernetes.io/hostname"}]}
    template["metadata"] = {**(template.get("metadata") or {}), "labels": labels}
    selector = {**((spec.get("selector") or {}).get("matchLabels") or {}), SIZE_LABEL: "node"}
    return {"apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": {"name": name, "namespace": meta.get("namespace", ""),
                         "labels": {**(meta.get("labels") or {}), SIZE_LABEL: "node"}},
            "spec": {"podManagementPolicy": "Parallel", "serviceName": name,
                     "selector": {"matchLabels": selector}, "template": template}}


_UNITS = {"": 1.0, "m": 0.001, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12,
          "Ki": 2.0**10, "Mi": 2.0**20, "Gi": 2.0**30, "Ti": 2.0**40}


def quantity(text: object) -> float:
    """A Kubernetes quantity ("500m", "16Gi", 2) in plain units; ValueError if it is not one."""
    raw = str(text).strip()
    number = raw.rstrip("kmMGTi")
    unit = raw[len(number):]
    if unit not in _UNITS or not number:
        raise ValueError(f"not a quantity: {text!r}")
    return float(number) * _UNITS[unit]


def requests_of(pod_spec: Mapping[str, Any]) -> tuple[float, float]:
    """(cpu cores, memory bytes) a pod requests: its containers' requests summed."""
    cpu = memory = 0.0
    for c in pod_spec.get("containers") or []:
        asked = (c.get("resources") or {}).get("requests") or {}
        cpu += quantity(asked.get("cpu", 0))
        memory += quantity(asked.get("memory", 0))
    return cpu, memory


def replicas_owner(obj: Mapping[str, Any]) -> str:
    """The field manager that last set `spec.replicas` (from `managedFields`), or ""."""
    for entry in (obj.get("metadata") or {}).get("managedFields") or []:
        fields = (entry.get("fieldsV1") or {}).get("f:spec") or {}
        if "f:replicas" in fields:
            return str(entry.get("manager") or "")
    return ""
