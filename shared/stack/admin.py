"""What classops cannot grant itself: the `cluster` part (once per cluster, by an admin) and the
`classops` part (classops's own Deployment and least-privilege Role, once per course).

- cluster: the two PriorityClasses (user pods at 0 pre-empt placeholders at -10), the
  user-scheduler's ClusterRole (kube-scheduler's own grants) and binding, and a read-only
  ClusterRole for classops (nodes, storage and snapshot classes, for `check` and `status`).
- classops: ServiceAccount, Role, RoleBinding, the ConfigMap holding `schedules.yaml`, the
  Deployment (2 replicas, non-root, read-only root filesystem, probes, requests) and the webhook
  Service. Its Role holds exactly what deploying the hub part needs; RBAC forbids granting what
  one does not hold, so it includes the hub's own grants (pods, services, ...).
"""

from __future__ import annotations

from typing import Any

from . import secrets
from .config import HubSettings
from .hub import HUB_RULES
from .labels import RESTRICTED, env_secret, obj, rule, selector, template

RBAC = "rbac.authorization.k8s.io"
SCHEDULE_CONFIGMAP, SCHEDULE_KEY = "classops-schedule", "schedules.yaml"
RW = ["get", "list", "watch", "create", "patch", "update", "delete"]
KEEP = ["get", "list", "watch", "create", "patch", "update"]  # prune never deletes these
READ = ["get", "list", "watch"]


def _cluster(api: str, kind: str, name: str, s: HubSettings, component: str,
             **body: Any) -> dict[str, Any]:
    return obj(api, kind, name, s, component, part="cluster", namespaced=False, **body)


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


def cluster(s: HubSettings) -> list[dict[str, Any]]:
    def binding(name: str, sa: str) -> dict[str, Any]:
        return _cluster(f"{RBAC}/v1", "ClusterRoleBinding", name, s, sa,
                        subjects=[{"kind": "ServiceAccount", "name": sa, "namespace": s.ns}],
                        roleRef={"apiGroup": RBAC, "kind": "ClusterRole", "name": name})

    read = [rule([""], ["nodes", "namespaces"], READ),
            rule(["storage.k8s.io"], ["storageclasses", "csidrivers"], READ),
            rule(["snapshot.storage.k8s.io"], ["volumesnapshotclasses"], READ),
            rule(["apiextensions.k8s.io"], ["customresourcedefinitions"], READ)]
    return [
        _cluster("scheduling.k8s.io/v1", "PriorityClass", s.user_priority, s, "hub", value=0,
                 globalDefault=False, description="z2jh core and user pods of " + s.rel),
        _cluster("scheduling.k8s.io/v1", "PriorityClass", s.placeholder_priority, s,
                 "user-placeholder", value=-10, globalDefault=False,
                 description="placeholders that user pods of " + s.rel + " pre-empt"),
        _cluster(f"{RBAC}/v1", "ClusterRole", s.scheduler_name, s, "user-scheduler",
                 rules=SCHEDULER_RULES),
        binding(s.scheduler_name, "user-scheduler"),
        _cluster(f"{RBAC}/v1", "ClusterRole", f"{s.rel}-classops-read", s, "classops",
                 rules=read),
        binding(f"{s.rel}-classops-read", "classops"),
    ]


CLASSOPS_RULES = [
    *HUB_RULES,  # to grant them to the hub, classops must hold them
    rule(["apps"], ["deployments", "statefulsets", "daemonsets"], RW),
    rule(["apps"], ["statefulsets/scale"], ["get", "patch", "update"]),
    rule([""], ["configmaps", "services", "serviceaccounts"], RW),
    rule([""], ["persistentvolumeclaims", "secrets"], KEEP),
    rule(["rbac.authorization.k8s.io"], ["roles", "rolebindings"], RW),
    rule(["policy"], ["poddisruptionbudgets"], RW),
    rule(["networking.k8s.io"], ["networkpolicies"], RW),
    rule(["coordination.k8s.io"], ["leases"], RW),
    rule(["events.k8s.io"], ["events"], ["create", "patch", "get", "list"]),
    rule(["snapshot.storage.k8s.io"], ["volumesnapshots"], ["get", "list", "watch", "create",
                                                             "delete"]),
]


def classops(s: HubSettings, schedule_text: str) -> list[dict[str, Any]]:
    def part(api: str, kind: str, name: str, **body: Any) -> dict[str, Any]:
        return obj(api, kind, name, s, "classops", part="classops", **body)

    probe = {"httpGet": {"path": "/healthz", "port": "http"}}
    optional = {"name": "classops-s3", "optional": True}
    container = {
        "name": "classops", "image": s.classops_image,
        "args": ["serve", "--schedule", "/etc/classops/schedules.yaml"],
        "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}],
        "env": [{"name": "CLASSOPS_NAMESPACE", "value": s.ns},
                {"name": "CLASSOPS_HUB_API_URL", "value": "http://hub:8081/hub/api"},
                env_secret("CLASSOPS_HUB_TOKEN", secrets.service("classops"), secrets.TOKEN),
                {"name": "CLASSOPS_WEBHOOK_TOKEN", "valueFrom": {"secretKeyRef": {
                    "name": "classops-webhook", "key": "token", "optional": True}}}],
        "envFrom": [{"secretRef": optional}],  # S3 endpoint, bucket and credentials
        "volumeMounts": [{"name": "schedule", "mountPath": "/etc/classops", "readOnly": True},
                         {"name": "tmp", "mountPath": "/tmp"}],
        "resources": {"requests": {"cpu": "50m", "memory": "128Mi"},
                      "limits": {"memory": "512Mi"}},
        "securityContext": {**RESTRICTED, "runAsUser": 10001, "runAsGroup": 10001,
                            "readOnlyRootFilesystem": True},
        "readinessProbe": {**probe, "periodSeconds": 5},
        "livenessProbe": {**probe, "initialDelaySeconds": 10, "periodSeconds": 20},
    }
    spec = {"serviceAccountName": "classops",
            "volumes": [{"name": "schedule", "configMap": {"name": SCHEDULE_CONFIGMAP}},
                        {"name": "tmp", "emptyDir": {}}],
            "containers": [container]}
    return [
        part("v1", "ServiceAccount", "classops"),
        part(f"{RBAC}/v1", "Role", "classops", rules=CLASSOPS_RULES),
        part(f"{RBAC}/v1", "RoleBinding", "classops",
             subjects=[{"kind": "ServiceAccount", "name": "classops", "namespace": s.ns}],
             roleRef={"apiGroup": RBAC, "kind": "Role", "name": "classops"}),
        part("v1", "ConfigMap", SCHEDULE_CONFIGMAP, data={SCHEDULE_KEY: schedule_text}),
        part("v1", "Service", "classops", spec={
            "type": "ClusterIP", "selector": selector(s, "classops"),
            "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}]}),
        part("apps/v1", "Deployment", "classops", spec={
            "replicas": 2, "selector": {"matchLabels": selector(s, "classops")},
            "template": template(s, "classops", spec)}),
    ]
