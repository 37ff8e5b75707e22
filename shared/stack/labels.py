"""Names, labels and object skeletons shared by the renderers.

z2jh's labels are kept (`app: jupyterhub`, `component`, `release`) so that z2jh users' selectors
and dashboards work; two more say what classops rendered, for the plan and `--prune`:
`app.kubernetes.io/managed-by: classops` and `classops.edu/part` (`cluster`, `classops` or `hub`).
Selectors use z2jh's three labels only: a selector is immutable, ours never changes.
"""

from __future__ import annotations

from typing import Any

from shared.stack.config import HubSettings

MANAGED_BY = "app.kubernetes.io/managed-by"
PART = "classops.edu/part"
PARTS = ("cluster", "classops", "hub")


def selector(settings: HubSettings, component: str) -> dict[str, str]:
    return {"app": "jupyterhub", "component": component, "release": settings.release}


def labels(settings: HubSettings, component: str, part: str = "hub") -> dict[str, str]:
    return {**selector(settings, component), MANAGED_BY: "classops", PART: part}


def tracking_selector(settings: HubSettings, part: str) -> str:
    """The label selector that finds every object classops rendered for this part."""
    return f"{MANAGED_BY}=classops,{PART}={part},release={settings.release}"


def obj(api_version: str, kind: str, name: str, settings: HubSettings, component: str,
        part: str = "hub", namespaced: bool = True, **body: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if namespaced:
        meta["namespace"] = settings.namespace
    meta["labels"] = labels(settings, component, part)
    return {"apiVersion": api_version, "kind": kind, "metadata": meta, **body}


def template(settings: HubSettings, component: str, spec: dict[str, Any],
             extra_labels: dict[str, str] | None = None,
             annotations: dict[str, str] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"labels": {**selector(settings, component), **(extra_labels or {})}}
    if annotations:
        meta["annotations"] = annotations
    return {"metadata": meta, "spec": spec}


def env_secret(name: str, secret: str, key: str) -> dict[str, Any]:
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}


def rule(groups: list[str], resources: list[str], verbs: list[str],
         names: list[str] | None = None) -> dict[str, Any]:
    found: dict[str, Any] = {"apiGroups": groups, "resources": resources, "verbs": verbs}
    if names:
        found["resourceNames"] = names
    return found


RESTRICTED = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
              "runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}

#: z2jh's tolerations and affinity for user pods (and their placeholders and image pullers).
USER_TOLERATIONS = [
    {"key": "hub.jupyter.org/dedicated", "operator": "Equal", "value": "user",
     "effect": "NoSchedule"},
    {"key": "hub.jupyter.org_dedicated", "operator": "Equal", "value": "user",
     "effect": "NoSchedule"},
]
USER_AFFINITY = {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{
    "weight": 100, "preference": {"matchExpressions": [{
        "key": "hub.jupyter.org/node-purpose", "operator": "In", "values": ["user"]}]}}]}}
