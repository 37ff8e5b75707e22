"""Least privilege, measured: classops's flows run with its own ServiceAccount token (RBAC
enforced by the emulator), and every grant of its Role and read ClusterRole must have been used
by a request, with no request denied.

A grant names the capabilities that need it (`admin.Grant.uses`). This test exercises
`EXERCISED`; a grant of one of them must be used, verb by verb. A grant held only to be granted
on to the hub (`hub-role`) must appear in the hub's rendered Role instead. A grant of a capability
not exercised here must stay unused by these flows, or it is named wrongly.
When a later capability adds its flow here, it joins `EXERCISED` and its grants must then be used.

The backup capability's flows (`tests/backup/privilege.py`: snapshot, prune, history, the PVC
finalizer through serve, uninstall-finalizers) run as the ServiceAccount too.

`serve` runs in-process (`Server`, as tests/runtime start it) with the token from its Secret:
it takes the Lease, receives one webhook event (a calendar change, which its executor applies to
the overlay), runs one watch, fires one timetable occurrence on time through its scheduler (the
quiz's warm-up, which the warm-up's handlers size and hold, node-sized), then the quiz's
cool-down once the clock passed it, and stops (releasing the Lease). Everything serve requested
must be granted by a grant that names `serve` (the Role's, or the ClusterRole's for nodes).
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import requests

from shared.actions.model import Action
from shared.events import CALENDAR_CHANGED, COOLDOWN, WARMUP, WatchEvent
from shared.handlers.context import Context
from shared.handlers.registry import Registry, on, on_watch
from shared.ports.kube import Kube
from shared.runtime.inbox.store import Inbox
from shared.runtime.server import Server
from shared.stack import admin, probes, status
from shared.stack.hub_component import HUB_RULES
from shared.stack.labels import labels
from tests.backup.privilege import snapshots_once
from tests.emulator.conftest import Cluster
from tests.runtime.conftest import TOKEN, settings_for
from tests.wait import until

from .conftest import Stack

EXERCISED = {"deploy", "check", "status", "serve", "warmup", "snapshots"}
# teardown and term-end are exercised in tests/teardown
KNOWN = EXERCISED | {"hub-role", "snapshots", "copies", "teardown", "term-end"}
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


KEDA_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "scaledobjects.keda.sh"},
    "spec": {"group": "keda.sh", "scope": "Namespaced",
             "names": {"plural": "scaledobjects", "singular": "scaledobject",
                       "kind": "ScaledObject", "listKind": "ScaledObjectList"},
             "versions": [{"name": "v1alpha1", "served": True, "storage": True,
                           "schema": {"openAPIV3Schema": {
                               "type": "object", "x-kubernetes-preserve-unknown-fields": True}}}]},
}


def serve_once(cluster: Cluster, tmp_path: Path) -> list[str]:
    """Run `serve` as classops's ServiceAccount through one of everything it does; the ids of
    the inbox entries it settled."""
    # The frozen clock moves to the next noon (UTC); the quiz's warm-up is 2 s after it.
    noon = datetime.combine(cluster.emu.clock.now().date() + timedelta(days=1), time(12), UTC)
    cluster.emu.clock.set(noon)
    schedule = tmp_path / "schedules.yaml"
    schedule.write_text(
        "course: cs101\n"
        f"term: {{name: t, start: {noon.date() - timedelta(days=7)}, "
        f"end: {noon.date() + timedelta(days=30)}, timezone: UTC}}\n"
        "class: {size: 10}\nknobs: {lead_time: 118s, cooldown_grace: 1m}\n"
        "warmup: {mode: node, users_per_node: 4}\n"
        f"one_off: [{{name: quiz, kind: exam, date: {noon.date()}, start: '12:02', "
        "end: '12:30'}]\n")
    registry, seen = Registry(), []
    from functions import warmup, warmup_lead  # the warm-up's handlers, in this registry

    on(WARMUP, id="warmup.warm_up", registry=registry)(warmup.warm_up)
    on(COOLDOWN, id="warmup.cool_down", registry=registry)(warmup.cool_down)
    for fn, kind, group, selected, actions in (
            (warmup.follow_servers, "Pod", "core", {"component": "singleuser-server"},
             ("added", "modified", "deleted")),
            (warmup.reassert, "StatefulSet", "apps", {"component": "user-placeholder"},
             ("modified",))):
        on_watch(kind=kind, group=group, labels=selected, actions=actions,
                 id=f"warmup.{fn.__name__}", registry=registry)(fn)
    on_watch(kind="Pod", labels={"component": None}, actions=("modified",), id="warmup.lead",
             registry=registry)(warmup_lead.measure)  # the lead-time recorder

    @on_watch(kind="ConfigMap", labels={"component": "classops"},
              id="test.watch", registry=registry)
    def watched(event: WatchEvent, ctx: Context) -> list[Action]:
        seen.append(event.object.name)
        return []

    # KEDA installed (its ScaledObject CRD): the warm-up looks for one owning its placeholders.
    Kube(cluster.api).apply(KEDA_CRD, "test")
    token = cluster.emu.service_account_token(cluster.namespace, "classops")
    api = cluster.emu.api_client(token=token)
    inbox = Inbox(Kube(cluster.api), cluster.namespace, cluster.emu.clock.now)  # the test's look
    # The token from its Secret, as the Deployment has it (read again as it rotates).
    Kube(cluster.api).create({"apiVersion": "v1", "kind": "Secret", "metadata": {
        "name": "classops-webhook", "namespace": cluster.namespace},
        "stringData": {"token": TOKEN}})
    settings = settings_for(cluster, schedule=str(schedule), dedupe_ttl=60.0,
                            webhook_token=None)

    def start() -> Server:
        server = Server.open(settings, registry, api=api, clock=cluster.emu.clock.now,
                             drain_tick=0.2).start()
        until(lambda: server.elector.leading, what="the Lease taken")
        return server

    server = start()
    try:
        change = {"specversion": "1.0", "id": "cal-1", "source": "/lms",
                  "type": CALENDAR_CHANGED, "time": noon.isoformat(),
                  "data": {"change": "cancelled", "meeting": "quiz", "date": "2000-01-01"}}
        answer = requests.post(f"http://127.0.0.1:{server.port}/", json=change,
                               headers={"Authorization": f"Bearer {TOKEN}",
                                        "Content-Type": "application/cloudevents+json"})
        assert answer.status_code == 202, answer.text
        warmup = f"warmup/quiz@{(noon + timedelta(seconds=2)).isoformat()}"

        def settled() -> set[str]:
            done = {e.id for e in inbox.entries("done")}
            return done if done >= {"cal-1", warmup} and seen else set()

        done = until(settled,
                          what="the webhook event, the firing and a watch event handled")
        assert inbox.entries("failed") == []
        placeholders = Kube(cluster.api)
        held = placeholders.scale("apps/v1", "StatefulSet", "user-placeholder-nodes",
                                  cluster.namespace)
        assert held == 3  # the quiz's 10 at 4 a node
        # The clock passes the quiz's cool-down (12:30 + 1 min); the next calendar change
        # replans, and the scheduler catches the missed cool-down up.
        cluster.emu.clock.set(noon + timedelta(minutes=32))
        answer = requests.post(f"http://127.0.0.1:{server.port}/", timeout=10,
                               json={**change, "id": "cal-2"},
                               headers={"Authorization": f"Bearer {TOKEN}",
                                        "Content-Type": "application/cloudevents+json"})
        assert answer.status_code == 202, answer.text
        cooldown = f"cooldown/quiz@{(noon + timedelta(minutes=31)).isoformat()}"
        until(lambda: cooldown in {e.id for e in inbox.entries("done")}, timeout=15,
                   what="the quiz's cool-down handled")
        assert placeholders.scale("apps/v1", "StatefulSet", "user-placeholder-nodes",
                                  cluster.namespace) == 0
        done.add(cooldown)
        assert inbox.entries("failed") == []
    finally:
        server.stop()
    # A restarted leader sweeps the inbox at its first drain: past the dedupe TTL, all goes.
    cluster.advance(120)
    server = start()
    try:
        until(lambda: not inbox.entries(), what="the inbox swept")
    finally:
        server.stop()
        api.close()
    # The emulator logs a request when it ends: a watch only once cut (its stopped client may
    # sit in a read until its timeout).
    cluster.emu.cut_watches()
    until(lambda: any(r.verb == "watch" and r.path.endswith("/configmaps")
                           for r in cluster.emu.requests()),
               what="a watch of ConfigMaps ended")
    return sorted(done)


def test_every_grant_is_used_and_no_request_is_denied(stack: Stack, tmp_path: Path) -> None:
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
        findings = probes.observe(probes.Systems(kube), stack.settings)
        seen = status.read(kube, ns, emu.clock.now() + timedelta(minutes=1))
    finally:
        kube.close()
        api.close()
    assert not first.failed and not again.failed and first.not_ready == []
    assert {e.name for e in first.entries if e.verb == "delete"} == {"old"}
    assert [a for a in findings.access if not a.allowed] == []
    assert {c.component for c in seen.components} >= {"hub", "proxy", "classops"}
    served_from = len(emu.requests())
    assert "cal-1" in serve_once(stack.cluster, tmp_path)
    served_until = len(emu.requests())
    backup_api = emu.api_client(token=emu.service_account_token(ns, "classops"))
    try:
        snapshots_once(stack.cluster, backup_api)
    finally:
        backup_api.close()

    me = f"system:serviceaccount:{ns}:classops"
    mine = [r for r in emu.requests() if r.user == me]
    denied = [(r.verb, r.path, r.status) for r in mine if r.status == 403]
    assert denied == [], denied
    used = {t for r in mine if (t := triple(r.verb, r.path)) is not None}

    granted_to_hub = expand(HUB_RULES)
    unused, misnamed, unknown = [], [], []
    # what the exercised capabilities' own grants hold: a capability not exercised here may
    # hold the same triple in a grant of its own (teardown's PVC update, its contents' get),
    # but none of these flows may need a triple only such a grant holds
    exercised = expand([g.rule for g in [*admin.CLASSOPS_GRANTS, *admin.READ_GRANTS]
                        if EXERCISED & set(g.uses)])
    for grant in [*admin.CLASSOPS_GRANTS, *admin.READ_GRANTS]:
        unknown += [u for u in grant.uses if u not in KNOWN]
        triples = expand([grant.rule])
        if EXERCISED & set(grant.uses):
            unused += sorted(triples - used)
        elif "hub-role" in grant.uses:
            unused += sorted(triples - granted_to_hub)
        else:  # a capability not exercised here: none of these flows may need it alone
            misnamed += sorted((triples & used) - exercised)
    served = {t for r in emu.requests()[served_from:served_until]
              if r.user == me and (t := triple(r.verb, r.path)) is not None}
    unfiled = sorted(served - expand([g.rule for g in [*admin.CLASSOPS_GRANTS,
                                                       *admin.READ_GRANTS]
                                      if "serve" in g.uses]))
    print(f"{len(mine)} requests as {me}; {len(used)} (group, resource, verb) used, "
          f"{len(served)} by serve")
    assert unfiled == [], f"used by serve but granted for other capabilities only: {unfiled}"
    assert unknown == [], f"grants naming no known capability: {unknown}"
    assert unused == [], f"granted but never used by {sorted(EXERCISED)}: {unused}"
    assert misnamed == [], f"used by {sorted(EXERCISED)} but granted for another: {misnamed}"
