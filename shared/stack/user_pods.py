"""Scheduling user pods: `user-scheduler`, `user-placeholder` and `continuous-image-puller`.

- The user-scheduler is kube-scheduler with a profile that packs users onto the fullest node
  (`NodeResourcesFit` with `MostAllocated`), so that emptied nodes can be scaled away; z2jh's
  plugin weights. Two replicas elect a leader through the `user-scheduler-lock` Lease, which is
  rendered (empty), so the Role can name it instead of granting every Lease.
- The placeholders are pause pods at priority -10 that user pods pre-empt. Their StatefulSet is
  rendered WITHOUT `spec.replicas`: only the warm-up sets it, through the scale subresource as
  field manager `classops-warmup`, so a redeploy never undoes a warm-up.
- The continuous image puller pulls the single-user and network-tools images on every user node
  (init containers that exit at once) and then idles in a pause container.
"""

from __future__ import annotations

import json
from typing import Any

from shared.stack.config import KUBE_SCHEDULER_IMAGE, NETWORK_TOOLS_IMAGE, PAUSE_IMAGE, HubSettings
from shared.stack.labels import (
    RESTRICTED,
    USER_AFFINITY,
    USER_TOLERATIONS,
    obj,
    rule,
    selector,
    template,
)

LEASE = "user-scheduler-lock"
CONFIG_PATH = "/etc/user-scheduler"
PAUSE_SECURITY = {**RESTRICTED, "runAsUser": 65534, "runAsGroup": 65534,
                  "readOnlyRootFilesystem": True}


def scheduler_config(settings: HubSettings) -> dict[str, Any]:
    weights = {"NodeAffinity": 14631, "InterPodAffinity": 1331, "NodeResourcesFit": 121,
               "ImageLocality": 11}
    return {
        "apiVersion": "kubescheduler.config.k8s.io/v1", "kind": "KubeSchedulerConfiguration",
        "leaderElection": {"resourceLock": "leases", "resourceName": LEASE,
                           "resourceNamespace": settings.namespace},
        "profiles": [{
            "schedulerName": settings.scheduler_name,
            "plugins": {"score": {
                "disabled": [{"name": n} for n in
                             ("NodeResourcesBalancedAllocation", *weights)],
                "enabled": [{"name": n, "weight": w} for n, w in weights.items()]}},
            "pluginConfig": [{"name": "NodeResourcesFit", "args": {"scoringStrategy": {
                "type": "MostAllocated",
                "resources": [{"name": "cpu", "weight": 1}, {"name": "memory", "weight": 1}]}}}],
        }],
    }


def user_scheduler(settings: HubSettings) -> list[dict[str, Any]]:
    config = json.dumps(scheduler_config(settings), indent=1, sort_keys=True) + "\n"
    probe = {"httpGet": {"path": "/healthz", "port": 10259, "scheme": "HTTPS"}}
    container = {
        "name": "kube-scheduler", "image": KUBE_SCHEDULER_IMAGE,
        "command": ["/usr/local/bin/kube-scheduler", f"--config={CONFIG_PATH}/config.yaml",
                    "--authentication-skip-lookup=true", "--v=4"],
        "volumeMounts": [{"name": "config", "mountPath": CONFIG_PATH}],
        "resources": {"requests": {"cpu": "50m", "memory": "256Mi"}},
        "securityContext": {**PAUSE_SECURITY},
        "readinessProbe": {**probe, "periodSeconds": 10},
        "livenessProbe": {**probe, "initialDelaySeconds": 15, "periodSeconds": 10},
    }
    spec = {"serviceAccountName": "user-scheduler", "priorityClassName": settings.user_priority,
            "volumes": [{"name": "config", "configMap": {"name": "user-scheduler"}}],
            "containers": [container]}
    sub = [{"kind": "ServiceAccount", "name": "user-scheduler", "namespace": settings.namespace}]
    group = "rbac.authorization.k8s.io"
    return [
        obj("v1", "ServiceAccount", "user-scheduler", settings, "user-scheduler"),
        obj(f"{group}/v1", "Role", "user-scheduler-lock", settings, "user-scheduler",
            rules=[rule(["coordination.k8s.io"], ["leases"], ["get", "update"], [LEASE])]),
        obj(f"{group}/v1", "RoleBinding", "user-scheduler-lock", settings, "user-scheduler",
            subjects=sub, roleRef={"apiGroup": group, "kind": "Role",
                                   "name": "user-scheduler-lock"}),
        obj("coordination.k8s.io/v1", "Lease", LEASE, settings, "user-scheduler", spec={}),
        obj("v1", "ConfigMap", "user-scheduler", settings, "user-scheduler",
            data={"config.yaml": config}),
        obj("apps/v1", "Deployment", "user-scheduler", settings, "user-scheduler", spec={
            "replicas": settings.user_scheduler_replicas,
            "selector": {"matchLabels": selector(settings, "user-scheduler")},
            "template": template(settings, "user-scheduler", spec)}),
        obj("policy/v1", "PodDisruptionBudget", "user-scheduler", settings, "user-scheduler", spec={
            "maxUnavailable": 1,
            "selector": {"matchLabels": selector(settings, "user-scheduler")}}),
    ]


def _user_resources(settings: HubSettings) -> dict[str, Any]:
    """A student pod's requests and limits as KubeSpawner sends them: memory in bytes (its
    1024-based "1G", not Kubernetes' 10**9), so a placeholder holds what a student needs."""
    r = settings.resources
    memory, cap = r.memory_request, r.memory_cap
    requests = {k: v for k, v in (("cpu", r.cpu_guarantee),
                                  ("memory", str(memory) if memory else None)) if v}
    limits = {k: v for k, v in (("cpu", r.cpu_limit), ("memory", str(cap) if cap else None)) if v}
    return {"requests": requests, **({"limits": limits} if limits else {})}


def user_placeholder(settings: HubSettings) -> dict[str, Any]:
    spec = {"priorityClassName": settings.placeholder_priority,
            "schedulerName": settings.scheduler_name,
            "tolerations": USER_TOLERATIONS, "affinity": USER_AFFINITY,
            "automountServiceAccountToken": False, "terminationGracePeriodSeconds": 0,
            "containers": [{"name": "pause", "image": PAUSE_IMAGE,
                            "resources": _user_resources(settings),
                            "securityContext": PAUSE_SECURITY}]}
    # No `replicas`: see the module docstring.
    return obj("apps/v1", "StatefulSet", "user-placeholder", settings, "user-placeholder", spec={
        "podManagementPolicy": "Parallel", "serviceName": "user-placeholder",
        "selector": {"matchLabels": selector(settings, "user-placeholder")},
        "template": template(settings, "user-placeholder", spec)})


def image_puller(settings: HubSettings) -> dict[str, Any]:
    def pull(name: str, image: str) -> dict[str, Any]:
        return {"name": name, "image": image, "command": ["/bin/sh", "-c", "echo Pulling complete"],
                "resources": {"requests": {"cpu": "0", "memory": "0"}},
                "securityContext": {**RESTRICTED, "runAsUser": 65534, "runAsGroup": 65534}}

    spec = {"priorityClassName": settings.user_priority, "tolerations": USER_TOLERATIONS,
            "affinity": USER_AFFINITY, "automountServiceAccountToken": False,
            "terminationGracePeriodSeconds": 0,
            "initContainers": [pull("image-pull-singleuser", settings.singleuser_image),
                               pull("image-pull-metadata-block", NETWORK_TOOLS_IMAGE)],
            "containers": [{"name": "pause", "image": PAUSE_IMAGE,
                            "resources": {"requests": {"cpu": "0", "memory": "0"}},
                            "securityContext": PAUSE_SECURITY}]}
    return obj("apps/v1", "DaemonSet", "continuous-image-puller", settings,
               "continuous-image-puller",
               spec={"selector": {"matchLabels": selector(settings, "continuous-image-puller")},
                     "updateStrategy": {"type": "RollingUpdate",
                                        "rollingUpdate": {"maxUnavailable": "100%"}},
                     "template": template(settings, "continuous-image-puller", spec)})


def render(settings: HubSettings) -> list[dict[str, Any]]:
    return [*user_scheduler(settings), user_placeholder(settings), image_puller(settings)]
