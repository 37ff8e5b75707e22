"""Object builders for the core tests: what classops deploys and touches, in its smallest form."""

from __future__ import annotations

from typing import Any


def configmap(name: str, namespace: str, data: dict[str, str] | None = None) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": namespace}, "data": data or {}}


def placeholder(namespace: str, name: str = "user-placeholder") -> dict[str, Any]:
    """z2jh's placeholder StatefulSet, rendered without `replicas` (only the warm-up sets it)."""
    labels = {"component": "user-placeholder", "app": "jupyterhub"}
    return {
        "apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"name": name, "namespace": namespace, "labels": dict(labels)},
        "spec": {"serviceName": name, "podManagementPolicy": "Parallel",
                 "selector": {"matchLabels": dict(labels)},
                 "template": {"metadata": {"labels": dict(labels)},
                              "spec": {"priorityClassName": "user-placeholder",
                                       "containers": [{"name": "pause",
                                                       "image": "registry.k8s.io/pause:3.10"}]}}},
    }


def user_pvc(namespace: str, user: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": f"claim-{user}", "namespace": namespace,
                         "labels": {"component": "singleuser-storage", "app": "jupyterhub"},
                         "annotations": {"hub.jupyter.org/username": user}},
            "spec": {"accessModes": ["ReadWriteOnce"],
                     "resources": {"requests": {"storage": "1Gi"}}}}


def archive_job(namespace: str, name: str) -> dict[str, Any]:
    return {"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"backoffLimit": 2,
                     "template": {"spec": {"restartPolicy": "Never", "containers": [
                         {"name": "archive", "image": "busybox:1.36",
                          "command": ["sh", "-c", "true"]}]}}}}
