"""What classops cannot grant itself: the `cluster` part (once per cluster, by an admin) and the
`classops` part (classops's own Deployment and least-privilege Role, once per course).

- cluster: the two PriorityClasses (user pods at 0 pre-empt placeholders at -10), the
  user-scheduler's ClusterRole (kube-scheduler's own grants) and binding, and a read-only
  ClusterRole for classops (CRDs, storage and snapshot classes, the autoscaler's tell-tales in
  kube-system by name: what `classops check` reads), which also holds the cluster-scoped
  VolumeSnapshotContents' grants (the PVC finalizer retains them; teardown deletes them).
- classops: ServiceAccount, Role, RoleBinding, the ConfigMap holding `schedules.yaml`, the
  Deployment (2 replicas, non-root, read-only root filesystem, probes, requests) and the webhook
  Service. Its Role holds what deploy, status and serve need, each grant naming its capability
  (`Grant`); RBAC forbids granting what one does not hold, so it includes the hub's own grants.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from shared.stack import secrets
from shared.stack.config import HubSettings
from shared.stack.hub_component import HUB_RULES
from shared.stack.labels import RESTRICTED, env_secret, obj, rule, selector, template

RBAC = "rbac.authorization.k8s.io"
SCHEDULE_CONFIGMAP, SCHEDULE_KEY = "classops-schedule", "schedules.yaml"
READ = ["get", "list", "watch"]


def _cluster(api: str, kind: str, name: str, settings: HubSettings, component: str,
             **body: Any) -> dict[str, Any]:
    return obj(api, kind, name, settings, component, part="cluster", namespaced=False, **body)


SCHEDULER_RULES = [
    rule(["", "events.k8s.io"], ["events"], ["create", "patch", "update"]),
    rule(["coordination.k8s.io"], ["leases"], ["create", "get", "list", "update", "watch"]),
    rule([""], ["nodes", "namespaces", "services", "replicationcontrollers"], READ),
    rule([""], ["pods"], ["get", "list", "watch", "delete"]),
    rule([""], ["bindings", "pods/binding"], ["create"]),
    rule([""], ["pods/status"], ["patch", "update"]),
    rule([""], ["persistentvolumeclaims", "persistentvolumes"], [*READ, "patch", "update"]),
    rule([""], ["configmaps"], READ),
    rule(["apps"], ["replicasets", "statefulsets"], READ),
    rule(["policy"], ["poddisruptionbudgets"], READ),
    rule(["authentication.k8s.io"], ["tokenreviews"], ["create"]),
    rule(["authorization.k8s.io"], ["subjectaccessreviews"], ["create"]),
    rule(["storage.k8s.io"], ["csinodes", "csidrivers", "csistoragecapacities", "storageclasses",
                              "volumeattachments"], READ),
    rule(["resource.k8s.io"], ["deviceclasses", "resourceclaims", "resourceslices"], READ),
]


def cluster(settings: HubSettings) -> list[dict[str, Any]]:
    def binding(name: str, sa: str) -> dict[str, Any]:
        return _cluster(f"{RBAC}/v1", "ClusterRoleBinding", name, settings, sa,
                        subjects=[{"kind": "ServiceAccount", "name": sa,
                                   "namespace": settings.namespace}],
                        roleRef={"apiGroup": RBAC, "kind": "ClusterRole", "name": name})

    read = [g.rule for g in READ_GRANTS]
    return [
        _cluster("scheduling.k8s.io/v1", "PriorityClass", settings.user_priority, settings, "hub",
                 value=0,
                 globalDefault=False, description="z2jh core and user pods of " + settings.release),
        _cluster("scheduling.k8s.io/v1", "PriorityClass", settings.placeholder_priority, settings,
                 "user-placeholder", value=-10, globalDefault=False,
                 description="placeholders that user pods of " + settings.release + " pre-empt"),
        _cluster(f"{RBAC}/v1", "ClusterRole", settings.scheduler_name, settings, "user-scheduler",
                 rules=SCHEDULER_RULES),
        binding(settings.scheduler_name, "user-scheduler"),
        _cluster(f"{RBAC}/v1", "ClusterRole", f"{settings.release}-classops-read", settings,
                 "classops", rules=read),
        binding(f"{settings.release}-classops-read", "classops"),
    ]


@dataclass(frozen=True)
class Grant:
    """One rule of classops's own RBAC and the capabilities that need it.

    The one source of what classops may do: the Role and ClusterRole render these rules,
    `classops check` asks a SelfSubjectAccessReview for each (`permissions`), and the
    least-privilege test runs the flows it can and fails on a grant of an exercised capability
    that no request used. `uses` names capabilities: `deploy`, `check`, `status`, `warmup`, `serve`
    (the runtime: inbox, Lease, scheduler state, overlay; its every request must be granted by
    a grant naming it) and `snapshots` (snapshot, prune, history, the PVC finalizer) are
    exercised by that test;
    `hub-role` means "held only to grant it to the hub's Role" (RBAC refuses to grant what one
    does not hold), which the test checks against the rendered hub Role instead.
    """

    rule: dict[str, Any]
    uses: tuple[str, ...]


def _grant(groups: list[str], resources: list[str], verbs: list[str], *uses: str,
           names: list[str] | None = None) -> Grant:
    return Grant(rule(groups, resources, verbs, names), uses)


PRUNED = ["get", "list", "patch", "delete"]  # survey (get, list), apply (patch), --prune
KEPT = ["get", "list", "patch"]  # never pruned

#: The namespaced Role `classops` (the course's namespace).
CLASSOPS_GRANTS = [
    *(Grant(r, ("hub-role",)) for r in HUB_RULES),
    _grant(["apps"], ["deployments", "statefulsets", "daemonsets"], PRUNED, "deploy"),
    # the warm-up (issue 14): the placeholders' count, read and set through the scale subresource
    _grant(["apps"], ["statefulsets/scale"], ["get", "patch"], "deploy", "warmup", "serve"),
    # ... the placeholder sets read, watched (a reset count is re-asserted), annotated with the
    # warm state, and the node-sized set applied
    _grant(["apps"], ["statefulsets"], ["get", "list", "watch", "patch"], "warmup", "serve"),
    _grant([""], ["pods"], ["list", "watch"], "warmup", "serve"),  # servers running, followed
    _grant([""], ["events"], ["list"], "warmup", "serve"),  # a pod's wait and pull, measured
    # an HPA owning the placeholders is refused, not flapped against
    _grant(["autoscaling"], ["horizontalpodautoscalers"], ["list"], "warmup", "serve"),
    _grant(["keda.sh"], ["scaledobjects"], ["list"], "warmup", "serve"),  # where KEDA is
    _grant([""], ["configmaps", "services", "serviceaccounts"], PRUNED, "deploy"),
    # inbox entries (create, update, sweep), scheduler state and overlay (apply), watches
    # (and the warm-up's: the hub's names, attendance counts, lead-time samples)
    _grant([""], ["configmaps"], ["get", "list", "watch", "create", "update", "patch", "delete"],
           "serve", "warmup"),
    _grant([""], ["persistentvolumeclaims"], KEPT, "deploy"),
    _grant([""], ["secrets"], ["get", "list", "create"], "deploy"),  # generated once
    _grant([""], ["secrets"], ["get"], "serve", names=["classops-webhook"]),  # its token
    _grant([RBAC], ["roles", "rolebindings"], PRUNED, "deploy"),
    _grant(["policy"], ["poddisruptionbudgets"], PRUNED, "deploy"),
    _grant(["networking.k8s.io"], ["networkpolicies"], PRUNED, "deploy"),
    _grant(["coordination.k8s.io"], ["leases"], PRUNED, "deploy"),  # user-scheduler-lock
    _grant(["coordination.k8s.io"], ["leases"], ["get", "create", "update"], "serve"),  # leader
    _grant(["events.k8s.io"], ["events"], ["create"], "deploy", "serve"),  # executor's Events
    # -- after term (issue 17): `classops teardown --confirm` deletes a verified user's PVC and
    # the hub stack's Secrets; the rest it reads, scales and deletes is granted above
    _grant([""], ["persistentvolumeclaims", "secrets"], ["delete"], "teardown"),
    # ... and its PVCs read (the survey, each delete's re-read) and released (annotated with the
    # final archive, classops's finalizer dropped: one update) before the delete
    _grant([""], ["persistentvolumeclaims"], ["get", "list", "update"], "teardown"),
    # `term.end` scales the hub to 0 for the database's snapshot, and back
    _grant(["apps"], ["deployments/scale"], ["get", "patch"], "term-end"),
    _grant(["snapshot.storage.k8s.io"], ["volumesnapshots"], ["list"], "status", "copies"),
    # -- backup (issue 15): snapshots (cron, deadlines, `classops snapshot`), retention
    # (`prune`: delete), their readyToUse (watch), the PVC finalizer (watch, update)
    _grant(["snapshot.storage.k8s.io"], ["volumesnapshots"],
           ["get", "list", "watch", "create", "delete"], "snapshots", "serve", "copies"),
    _grant([""], ["persistentvolumeclaims"], ["get", "list", "watch", "update"], "snapshots",
           "serve"),
    # copies (issue 16): copy and restore Jobs, their scratch PVCs restored from snapshots,
    # and the worker's summary in the Job's log
    _grant(["batch"], ["jobs"], ["get", "create"], "copies"),
    _grant([""], ["persistentvolumeclaims"], ["create", "delete"], "copies"),
    _grant([""], ["pods/log"], ["get"], "copies"),
]
CLASSOPS_RULES = [g.rule for g in CLASSOPS_GRANTS]
#: Added to the Role only when HTTPS is `auto`: deploy applies cert-manager's Issuer and
#: Certificate (a cluster without cert-manager has no such resources to grant).
CERT_GRANTS = [_grant(["cert-manager.io"], ["issuers", "certificates"], PRUNED, "deploy")]


def grants_for(settings: HubSettings) -> list[Grant]:
    """The Role's grants for this course: CLASSOPS_GRANTS, and CERT_GRANTS in `auto` HTTPS."""
    return [*CLASSOPS_GRANTS, *(CERT_GRANTS if settings.tls_mode == "auto" else [])]

#: The ClusterRole `<release>-classops-read`, bound cluster-wide: reads for `check`, and what
#: classops does to cluster-scoped VolumeSnapshotContents.
READ_GRANTS = [
    _grant(["apiextensions.k8s.io"], ["customresourcedefinitions"], ["get"], "check"),
    _grant(["storage.k8s.io"], ["storageclasses"], ["list"], "check"),
    _grant(["snapshot.storage.k8s.io"], ["volumesnapshotclasses"], ["list"], "check"),
    # the autoscaler's tell-tales in kube-system, by name only
    _grant([""], ["configmaps"], ["get"], "check", names=["cluster-autoscaler-status"]),
    _grant(["apps"], ["deployments"], ["get"], "check", names=["cluster-autoscaler"]),
    # the warm-up: a user node's room (node-sized placeholders), a new node's Ready (lead time)
    _grant([""], ["nodes"], ["get", "list"], "warmup", "serve"),
    # backup (issue 15): a deleted PVC's last snapshot keeps its content (deletionPolicy Retain)
    _grant(["snapshot.storage.k8s.io"], ["volumesnapshotcontents"], ["get", "patch"],
           "snapshots", "serve"),
    # after term (issue 17): `classops teardown --confirm` deletes a verified user's Retain
    # contents (listed to find those whose snapshot is gone; their policy set to Delete first,
    # so the stored snapshot goes too); contents are cluster-scoped, hence here
    _grant(["snapshot.storage.k8s.io"], ["volumesnapshotcontents"],
           ["get", "list", "patch", "delete"], "teardown"),
]


@dataclass(frozen=True)
class Permission:
    """One SelfSubjectAccessReview's question: may classops `verb` `resource` (in `namespace`,
    "" for cluster-wide, by `name` when the grant names one)?"""

    namespace: str
    group: str
    resource: str  # plural, or plural/subresource
    verb: str
    name: str = ""

    def describe(self) -> str:
        where = f" in {self.namespace}" if self.namespace else " cluster-wide"
        group = f".{self.group}" if self.group else ""
        named = f" {self.name}" if self.name else ""
        return f"{self.verb} {self.resource}{group}{named}{where}"


def permissions(settings: HubSettings, grants: Sequence[Grant] | None = None,
                cluster: Sequence[Grant] | None = None) -> list[Permission]:
    """Every (verb, resource) the rendered Role and ClusterRole hold, one question each."""
    found: dict[Permission, None] = {}
    for where, chosen in ((settings.namespace, grants_for(settings) if grants is None
                           else grants),
                          ("", READ_GRANTS if cluster is None else cluster)):
        for g in chosen:
            r = g.rule
            for group in r["apiGroups"]:
                for resource in r["resources"]:
                    for verb in r["verbs"]:
                        for name in r.get("resourceNames") or [""]:
                            found[Permission(where, group, resource, verb, name)] = None
    return list(found)


def classops(settings: HubSettings, schedule_text: str) -> list[dict[str, Any]]:
    def part(api: str, kind: str, name: str, **body: Any) -> dict[str, Any]:
        return obj(api, kind, name, settings, "classops", part="classops", **body)

    optional = {"name": "classops-s3", "optional": True}
    container = {
        "name": "classops", "image": settings.classops_image,
        "args": ["serve"],
        "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}],
        "env": [{"name": "CLASSOPS_NAMESPACE", "value": settings.namespace},
                {"name": "CLASSOPS_SCHEDULE", "value": "/etc/classops/schedules.yaml"},
                {"name": "CLASSOPS_HUB_API_URL", "value": "http://hub:8081/hub/api"},
                env_secret("CLASSOPS_HUB_TOKEN", secrets.service("classops"), secrets.TOKEN)],
        # The webhook token is read from its Secret by serve (not mapped to an env var, which
        # a pod reads once), so rotating it needs no restart.
        "envFrom": [{"secretRef": optional}],  # S3 endpoint, bucket and credentials
        "volumeMounts": [{"name": "schedule", "mountPath": "/etc/classops", "readOnly": True},
                         {"name": "tmp", "mountPath": "/tmp"}],
        "resources": {"requests": {"cpu": "50m", "memory": "128Mi"},
                      "limits": {"memory": "512Mi"}},
        "securityContext": {**RESTRICTED, "runAsUser": 10001, "runAsGroup": 10001,
                            "readOnlyRootFilesystem": True},
        # Every replica takes webhook traffic while ready; /readyz turns 503 as SIGTERM drains.
        "readinessProbe": {"httpGet": {"path": "/readyz", "port": "http"}, "periodSeconds": 5},
        "livenessProbe": {"httpGet": {"path": "/healthz", "port": "http"},
                          "initialDelaySeconds": 10, "periodSeconds": 20},
    }
    spec = {"serviceAccountName": "classops",
            "volumes": [{"name": "schedule", "configMap": {"name": SCHEDULE_CONFIGMAP}},
                        {"name": "tmp", "emptyDir": {}}],
            "containers": [container]}
    return [
        part("v1", "ServiceAccount", "classops"),
        part(f"{RBAC}/v1", "Role", "classops", rules=[g.rule for g in grants_for(settings)]),
        part(f"{RBAC}/v1", "RoleBinding", "classops",
             subjects=[{"kind": "ServiceAccount", "name": "classops",
                        "namespace": settings.namespace}],
             roleRef={"apiGroup": RBAC, "kind": "Role", "name": "classops"}),
        part("v1", "ConfigMap", SCHEDULE_CONFIGMAP, data={SCHEDULE_KEY: schedule_text}),
        part("v1", "Service", "classops", spec={
            "type": "ClusterIP", "selector": selector(settings, "classops"),
            "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}]}),
        part("apps/v1", "Deployment", "classops", spec={
            "replicas": 2, "selector": {"matchLabels": selector(settings, "classops")},
            "template": template(settings, "classops", spec)}),
    ]
