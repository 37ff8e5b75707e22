"""The `hub` component: its ConfigMap (jupyterhub_config.py + values.json), Deployment, Service,
the `hub-db-dir` PVC, and its ServiceAccount, Role and RoleBinding (z2jh's grants).

`jupyterhub_config.py` is a static file (`infra/hub/jupyterhub_config.py`) that reads
`values.json`: the course's settings are data, never Python rendered from a template. The
pod template carries the ConfigMap's checksum, so a changed config restarts the hub (it reads its
config only at start). Generated secrets arrive as env vars from the Secrets of `secrets.py`.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from shared.stack import secrets
from shared.stack.config import HubSettings, cpu_cores
from shared.stack.labels import (
    RESTRICTED,
    TERM_END_CONFIGMAP,
    TERM_END_DIR,
    env_secret,
    obj,
    rule,
    selector,
    template,
)

INFRA = Path(__file__).resolve().parents[2] / "infra"
CONFIG_DIR = "/usr/local/etc/jupyterhub"
CLASSOPS_SCOPES = ["list:users", "read:users:name", "read:users:activity", "read:servers",
                   "delete:servers"]  # list users, read and stop servers: nothing more


def values(settings: HubSettings) -> dict[str, Any]:
    """What jupyterhub_config.py reads: plain data, JSON."""
    r = settings.resources
    return {
        "release": settings.release, "namespace": settings.namespace,
        "singleuser": {
            "image": settings.singleuser_image,
            "cpu_guarantee": cpu_cores(r.cpu_guarantee) if r.cpu_guarantee else None,
            "cpu_limit": cpu_cores(r.cpu_limit) if r.cpu_limit else None,
            "mem_guarantee": r.memory_request,
            "mem_limit": r.memory_cap, "storage_capacity": settings.storage_capacity,
            "storage_class": settings.storage_class or None,
            "scheduler_name": settings.scheduler_name,
            "priority_class": settings.user_priority, "materials": settings.materials or None,
        },
        "authenticator": {"class": settings.authenticator_class,
                          "section": settings.authenticator_section,
                          "settings": dict(settings.authenticator.settings)},
        "admins": list(settings.admins),
        "cull": {"timeout": int(settings.cull_timeout.total_seconds()),
                 "every": int(settings.cull_every.total_seconds())},
        "services": {"classops": {"scopes": CLASSOPS_SCOPES,
                                  "token_env": "CLASSOPS_SERVICE_TOKEN"}},
    }


def config_map(settings: HubSettings) -> dict[str, Any]:
    code = (INFRA / "hub" / "jupyterhub_config.py").read_text(encoding="utf-8")
    data = {"jupyterhub_config.py": code,
            "values.json": json.dumps(values(settings), indent=1, sort_keys=True) + "\n"}
    return obj("v1", "ConfigMap", "hub", settings, "hub", data=data)


def deployment(settings: HubSettings, config: dict[str, Any]) -> dict[str, Any]:
    checksum = hashlib.sha256(json.dumps(config["data"], sort_keys=True).encode()).hexdigest()
    probe = {"httpGet": {"path": "/hub/health", "port": "http"}}
    container = {
        "name": "hub", "image": settings.hub_image,
        "args": ["jupyterhub", "--config", f"{CONFIG_DIR}/jupyterhub_config.py", "--upgrade-db"],
        "ports": [{"name": "http", "containerPort": 8081, "protocol": "TCP"}],
        "env": [
            {"name": "PYTHONUNBUFFERED", "value": "1"},
            {"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath":
                                                                 "metadata.namespace"}}},
            env_secret("JPY_COOKIE_SECRET", secrets.HUB, secrets.COOKIE_SECRET),
            env_secret("CONFIGPROXY_AUTH_TOKEN", secrets.HUB, secrets.PROXY_TOKEN),
            env_secret("JUPYTERHUB_CRYPT_KEY", secrets.HUB, secrets.CRYPT_KEY),
            env_secret("CLASSOPS_SERVICE_TOKEN", secrets.service("classops"), secrets.TOKEN),
        ],
        "volumeMounts": [{"name": "config", "mountPath": CONFIG_DIR},
                         {"name": "pvc", "mountPath": "/srv/jupyterhub"},
                         {"name": "term-end", "mountPath": TERM_END_DIR, "readOnly": True}],
        "resources": {"requests": {"cpu": "200m", "memory": "512Mi"}},
        "securityContext": {**RESTRICTED, "runAsUser": 1000, "runAsGroup": 1000},
        "readinessProbe": {**probe, "periodSeconds": 2, "failureThreshold": 1000},
        "livenessProbe": {**probe, "initialDelaySeconds": 300, "periodSeconds": 10,
                          "failureThreshold": 30, "timeoutSeconds": 3},
    }
    spec = {"serviceAccountName": "hub", "priorityClassName": settings.user_priority,
            "securityContext": {"fsGroup": 1000},
            "volumes": [{"name": "config", "configMap": {"name": "hub"}},
                        {"name": "pvc", "persistentVolumeClaim": {"claimName": "hub-db-dir"}},
                        # written by `term.end` (issue 17); absent all term, hence optional
                        {"name": "term-end", "configMap": {"name": TERM_END_CONFIGMAP,
                                                           "optional": True}}],
            "containers": [container]}
    access = {f"hub.jupyter.org/network-access-{to}": "true"
              for to in ("proxy-api", "proxy-http", "singleuser")}
    return obj("apps/v1", "Deployment", "hub", settings, "hub", spec={
        "replicas": 1, "strategy": {"type": "Recreate"},  # one sqlite file, one writer
        "selector": {"matchLabels": selector(settings, "hub")},
        "template": template(settings, "hub", spec, access, {"checksum/config-map": checksum})})


def service(settings: HubSettings) -> dict[str, Any]:
    return obj("v1", "Service", "hub", settings, "hub", spec={
        "type": "ClusterIP", "selector": selector(settings, "hub"),
        "ports": [{"name": "hub", "port": 8081, "targetPort": "http", "protocol": "TCP"}]})


def database(settings: HubSettings) -> dict[str, Any]:
    spec: dict[str, Any] = {"accessModes": ["ReadWriteOnce"],
                            "resources": {"requests": {"storage": settings.hub_db_capacity}}}
    if settings.storage_class:
        spec["storageClassName"] = settings.storage_class
    return obj("v1", "PersistentVolumeClaim", "hub-db-dir", settings, "hub", spec=spec)


HUB_RULES = [
    rule([""], ["pods", "persistentvolumeclaims", "secrets", "services"],
         ["get", "watch", "list", "create", "delete"]),
    rule([""], ["events"], ["get", "watch", "list"]),
]


def rbac(settings: HubSettings) -> list[dict[str, Any]]:
    return [
        obj("v1", "ServiceAccount", "hub", settings, "hub"),
        obj("rbac.authorization.k8s.io/v1", "Role", "hub", settings, "hub", rules=HUB_RULES),
        obj("rbac.authorization.k8s.io/v1", "RoleBinding", "hub", settings, "hub",
            subjects=[{"kind": "ServiceAccount", "name": "hub", "namespace": settings.namespace}],
            roleRef={"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "hub"}),
    ]


def render(settings: HubSettings) -> list[dict[str, Any]]:
    config = config_map(settings)
    return [*rbac(settings), config, database(settings), service(settings),
            deployment(settings, config)]
