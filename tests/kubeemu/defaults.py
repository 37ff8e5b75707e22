"""Defaults the apiserver fills in on every write, for the kinds classops writes.

From the types' `SetDefaults_*` functions (pkg/apis/*/v1/defaults.go) and the registry strategies:
a Deployment's strategy and history limit, a StatefulSet's policies, a Service's type, ports and
cluster IP, a Secret's `stringData` folded into `data`, a pod template's restart/DNS/scheduler
policy and container pull policy, a Job's selector and labels. Every function is idempotent, so a
second write of the same object changes nothing.
"""

from __future__ import annotations

import base64
import ipaddress
import itertools
import uuid
from collections.abc import Callable
from typing import Any

from .addresses import FIRST_SERVICE_IP

Obj = dict[str, Any]
# Loopback, like every address the emulator hands out (addresses.py): 127.96.0.0/12.
_cluster_ips = (str(ipaddress.ip_address(FIRST_SERVICE_IP) + i) for i in itertools.count())


def _image_pull_policy(image: str) -> str:
    tag = image.rsplit("/", 1)[-1]
    if "@" in tag:
        return "IfNotPresent"
    return "Always" if ":" not in tag or tag.endswith(":latest") else "IfNotPresent"


def _container(c: Obj) -> None:
    c.setdefault("terminationMessagePath", "/dev/termination-log")
    c.setdefault("terminationMessagePolicy", "File")
    c.setdefault("imagePullPolicy", _image_pull_policy(c.get("image", "")))
    c.setdefault("resources", {})
    for port in c.get("ports") or []:
        port.setdefault("protocol", "TCP")


def pod_spec(spec: Obj) -> None:
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("securityContext", {})
    for c in (spec.get("containers") or []) + (spec.get("initContainers") or []):
        _container(c)


def _template(obj: Obj) -> None:
    template = (obj.get("spec") or {}).get("template")
    if isinstance(template, dict):
        pod_spec(template.setdefault("spec", {}))


def _pod(obj: Obj) -> None:
    spec = obj.setdefault("spec", {})
    pod_spec(spec)
    spec.setdefault("serviceAccountName", spec.get("serviceAccount", "default"))
    spec.setdefault("enableServiceLinks", True)
    spec.setdefault("preemptionPolicy", "PreemptLowerPriority")
    spec.setdefault("tolerations", [
        {"key": f"node.kubernetes.io/{t}", "operator": "Exists", "effect": "NoExecute",
         "tolerationSeconds": 300} for t in ("not-ready", "unreachable")])


def _deployment(obj: Obj) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("progressDeadlineSeconds", 600)
    strategy = spec.setdefault("strategy", {})
    strategy.setdefault("type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        rolling = strategy.setdefault("rollingUpdate", {})
        rolling.setdefault("maxUnavailable", "25%")
        rolling.setdefault("maxSurge", "25%")
    _template(obj)


def _statefulset(obj: Obj) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    spec.setdefault("podManagementPolicy", "OrderedReady")
    spec.setdefault("revisionHistoryLimit", 10)
    strategy = spec.setdefault("updateStrategy", {"type": "RollingUpdate"})
    if strategy.get("type") == "RollingUpdate":
        strategy.setdefault("rollingUpdate", {}).setdefault("partition", 0)
    spec.setdefault("persistentVolumeClaimRetentionPolicy",
                    {"whenDeleted": "Retain", "whenScaled": "Retain"})
    for claim in spec.get("volumeClaimTemplates") or []:
        claim.setdefault("apiVersion", "v1")
        claim.setdefault("kind", "PersistentVolumeClaim")
        claim.setdefault("spec", {}).setdefault("volumeMode", "Filesystem")
    _template(obj)


def _daemonset(obj: Obj) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("revisionHistoryLimit", 10)
    strategy = spec.setdefault("updateStrategy", {"type": "RollingUpdate"})
    if strategy.get("type") == "RollingUpdate":
        rolling = strategy.setdefault("rollingUpdate", {})
        rolling.setdefault("maxUnavailable", 1)
        rolling.setdefault("maxSurge", 0)
    _template(obj)


def _replicaset(obj: Obj) -> None:
    obj.setdefault("spec", {}).setdefault("replicas", 1)
    _template(obj)


def _job(obj: Obj) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("parallelism", 1)
    spec.setdefault("completions", 1)
    spec.setdefault("backoffLimit", 6)
    spec.setdefault("completionMode", "NonIndexed")
    spec.setdefault("suspend", False)
    spec.setdefault("podReplacementPolicy", "TerminatingOrFailed")
    if "selector" not in spec and not spec.get("manualSelector"):
        # The Job strategy labels its pods with a uid of its own and selects them by it.
        uid = obj["metadata"].get("uid") or str(uuid.uuid4())
        labels = {"batch.kubernetes.io/controller-uid": uid,
                  "batch.kubernetes.io/job-name": obj["metadata"].get("name", ""),
                  "controller-uid": uid, "job-name": obj["metadata"].get("name", "")}
        spec["selector"] = {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
        template = spec.setdefault("template", {})
        template.setdefault("metadata", {}).setdefault("labels", {}).update(labels)
    _template(obj)


def _cronjob(obj: Obj) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("concurrencyPolicy", "Allow")
    spec.setdefault("suspend", False)
    spec.setdefault("successfulJobsHistoryLimit", 3)
    spec.setdefault("failedJobsHistoryLimit", 1)
    job_template = spec.get("jobTemplate") or {}
    template = (job_template.get("spec") or {}).get("template")
    if isinstance(template, dict):
        pod_spec(template.setdefault("spec", {}))


def _service(obj: Obj) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("type", "ClusterIP")
    spec.setdefault("sessionAffinity", "None")
    if spec["type"] != "ExternalName":
        spec.setdefault("clusterIP", next(_cluster_ips))
        if spec["clusterIP"] != "None":
            spec.setdefault("clusterIPs", [spec["clusterIP"]])
        spec.setdefault("ipFamilies", ["IPv4"])
        spec.setdefault("ipFamilyPolicy", "SingleStack")
        spec.setdefault("internalTrafficPolicy", "Cluster")
    if spec["type"] in ("NodePort", "LoadBalancer"):
        spec.setdefault("externalTrafficPolicy", "Cluster")
    for port in spec.get("ports") or []:
        port.setdefault("protocol", "TCP")
        port.setdefault("targetPort", port.get("port"))


def _secret(obj: Obj) -> None:
    obj.setdefault("type", "Opaque")
    string_data = obj.pop("stringData", None) or {}
    if string_data:
        data = obj.setdefault("data", {})
        for key, value in string_data.items():
            data[key] = base64.b64encode(value.encode()).decode()


def _pvc(obj: Obj) -> None:
    obj.setdefault("spec", {}).setdefault("volumeMode", "Filesystem")
    obj.setdefault("status", {}).setdefault("phase", "Pending")


def _priorityclass(obj: Obj) -> None:
    obj.setdefault("preemptionPolicy", "PreemptLowerPriority")


def _qos_class(pod: Obj) -> str:
    containers = (pod.get("spec") or {}).get("containers") or []
    resources = [c.get("resources") or {} for c in containers]
    if not any(r.get("requests") or r.get("limits") for r in resources):
        return "BestEffort"

    def equal(r: Obj, x: str) -> bool:
        limit = (r.get("limits") or {}).get(x)
        return bool(limit) and (r.get("requests") or {}).get(x, limit) == limit

    guaranteed = all(equal(r, x) for r in resources for x in ("cpu", "memory"))
    return "Guaranteed" if guaranteed else "Burstable"


def defaults_on_create(resource_key: str, obj: Obj) -> None:
    """What only a create sets: a namespace's label, finalizer and phase; a pod's first status."""
    if resource_key == "namespaces":
        labels = obj["metadata"].setdefault("labels", {})
        labels["kubernetes.io/metadata.name"] = obj["metadata"]["name"]
        obj.setdefault("spec", {})["finalizers"] = ["kubernetes"]
        obj["status"] = {"phase": "Active"}
    elif resource_key == "pods":
        obj["status"] = {"phase": "Pending", "qosClass": _qos_class(obj)}


DEFAULTS: dict[str, Callable[[Obj], None]] = {
    "pods": _pod, "deployments.apps": _deployment, "statefulsets.apps": _statefulset,
    "daemonsets.apps": _daemonset, "replicasets.apps": _replicaset, "jobs.batch": _job,
    "cronjobs.batch": _cronjob, "services": _service, "secrets": _secret,
    "persistentvolumeclaims": _pvc, "priorityclasses.scheduling.k8s.io": _priorityclass,
}


def apply_defaults(resource_key: str, obj: Obj) -> None:
    fill = DEFAULTS.get(resource_key)
    if fill is not None:
        fill(obj)
