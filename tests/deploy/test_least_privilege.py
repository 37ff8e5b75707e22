"""Least privilege, measured: classops's flows run with its own ServiceAccount token (RBAC
enforced by the emulator), and every grant of its Role and read ClusterRole must have been used
by a request, with no request denied.

A grant names the capabilities that need it (`admin.Grant.uses`). This test exercises
`EXERCISED`; a grant of one of them must be used, verb by verb. A grant held only to be granted
on to the hub (`hub-role`) must appear in the hub's rendered Role instead. A grant of a capability
not exercised here (`serve`, `snapshots`) must stay unused by these flows, or it is named wrongly.
When a later capability adds its flow here, it joins `EXERCISED` and its grants must then be used.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from shared.ports.kube import Kube
from shared.stack import admin, checking, status
from shared.stack.hub import HUB_RULES
from shared.stack.labels import labels

from .conftest import Stack

EXERCISED = {"deploy", "check", "status"}
KNOWN = EXERCISED | {"hub-role", "serve", "snapshots"}
Triple = tuple[str, str, str]  # (apiGroup, resource[/subresource], verb)


def triple(verb: str, path: str) -> Triple | None:
    """The RBAC attributes of a request path; None for discovery (non-resource URLs)."""
    parts = path.strip("/").split("/")
    if parts[0] == "api":
        group, rest = "", parts[2:]
    elif parts[0] == "apis" and len(parts) >= 3:
        group, rest = parts[1], parts[3:]
    else:
        return None
    if len(rest) >= 3 and rest[0] == "namespaces":
        rest = rest[2:]
    if not rest:
        return None
    resource = rest[0] + (f"/{rest[2]}" if len(rest) >= 3 else "")
    return group, resource, verb


def expand(rules: list[dict[str, Any]]) -> set[Triple]:
    return {(g, r, v) for rule in rules for g in rule["apiGroups"] for r in rule["resources"]
            for v in rule["verbs"]}


def orphans(stack: Stack) -> None:
    """One object of every prunable kind that classops "rendered before", so --prune deletes."""
    s, ns = stack.settings, stack.cluster.namespace
    kube = Kube(stack.cluster.api)
    meta = {"namespace": ns, "labels": labels(s, "hub")}
    pod = {"metadata": {"labels": {"app": "old"}},
           "spec": {"containers": [{"name": "c", "image": "registry.k8s.io/pause:3.10.1"}]}}
    select = {"matchLabels": {"app": "old"}}
    made = [
        ("v1", "ConfigMap", {"data": {"a": "b"}}),
        ("v1", "Service", {"spec": {"ports": [{"port": 80, "protocol": "TCP"}]}}),
        ("v1", "ServiceAccount", {}),
        ("rbac.authorization.k8s.io/v1", "Role", {"rules": []}),
        ("rbac.authorization.k8s.io/v1", "RoleBinding", {"roleRef": {
            "apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "old"},
            "subjects": []}),
        ("apps/v1", "Deployment", {"spec": {"replicas": 0, "selector": select,
                                            "template": pod}}),
        ("apps/v1", "StatefulSet", {"spec": {"replicas": 0, "selector": select,
                                             "serviceName": "old", "template": pod}}),
        ("apps/v1", "DaemonSet", {"spec": {"selector": select, "template": pod}}),
        ("policy/v1", "PodDisruptionBudget", {"spec": {"maxUnavailable": 1,
                                                       "selector": select}}),
        ("networking.k8s.io/v1", "NetworkPolicy", {"spec": {"podSelector": select}}),
        ("coordination.k8s.io/v1", "Lease", {"spec": {}}),
    ]
    try:
        for api_version, kind, body in made:
            kube.create({"apiVersion": api_version, "kind": kind,
                         "metadata": {**meta, "name": "old"}, **body})
    finally:
        kube.close()


def test_every_grant_is_used_and_no_request_is_denied(stack: Stack) -> None:
    ns, emu = stack.cluster.namespace, stack.cluster.emu
    assert not stack.deploy(parts=("classops",)).failed  # the Role, applied as admin
    orphans(stack)
    emu.clear_requests()
    token = emu.service_account_token(ns, "classops")
    api = emu.api_client(token=token)
    kube = Kube(api)
    try:
        first = stack.deploy(api=api, prune=True)
        again = stack.deploy(api=api, prune=True)
        findings = checking.observe(checking.Systems(kube), stack.settings)
        seen = status.read(kube, ns, emu.clock.now() + timedelta(minutes=1))
    finally:
        kube.close()
        api.close()
    assert not first.failed and not again.failed and first.not_ready == []
    assert {e.name for e in first.entries if e.verb == "delete"} == {"old"}
    assert [a for a in findings.access if not a.allowed] == []
    assert {c.component for c in seen.components} >= {"hub", "proxy", "classops"}

    me = f"system:serviceaccount:{ns}:classops"
    mine = [r for r in emu.requests() if r.user == me]
    denied = [(r.verb, r.path, r.status) for r in mine if r.status == 403]
    assert denied == [], denied
    used = {t for r in mine if (t := triple(r.verb, r.path)) is not None}

    granted_to_hub = expand(HUB_RULES)
    unused, misnamed, unknown = [], [], []
    for grant in [*admin.CLASSOPS_GRANTS, *admin.READ_GRANTS]:
        unknown += [u for u in grant.uses if u not in KNOWN]
        triples = expand([grant.rule])
        if EXERCISED & set(grant.uses):
            unused += sorted(triples - used)
        elif "hub-role" in grant.uses:
            unused += sorted(triples - granted_to_hub)
        else:  # a capability not exercised here: none of these flows may need it
            misnamed += sorted(triples & used)
    print(f"{len(mine)} requests as {me}; {len(used)} (group, resource, verb) used")
    assert unknown == [], f"grants naming no known capability: {unknown}"
    assert unused == [], f"granted but never used by {sorted(EXERCISED)}: {unused}"
    assert misnamed == [], f"used by {sorted(EXERCISED)} but granted for another: {misnamed}"
