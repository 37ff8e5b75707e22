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
from shared.stack.config import HubSettings
from shared.stack.labels import RESTRICTED, env_secret, obj, rule, selector, template

INFRA = Path(__file__).resolve().parents[2] / "infra"
CONFIG_DIR = "/usr/local/etc/jupyterhub"
CLASSOPS_SCOPES = ["list:users", "read:users:name", "read:users:activity", "read:servers",
                   "delete:servers"]  # list users, read and stop servers: nothing more


def values(s: HubSettings) -> dict[str, Any]:
    """What jupyterhub_config.py reads: plain data, JSON."""
    r = s.resources
    return {
        "release": s.rel, "namespace": s.ns,
        "singleuser": {
            "image": s.singleuser_image, "cpu_guarantee": r.cpu_guarantee,
            "cpu_limit": r.cpu_limit, "mem_guarantee": r.memory_guarantee,
            "mem_limit": r.memory_limit, "storage_capacity": s.storage_capacity,
            "storage_class": s.storage_class or None, "scheduler_name": s.scheduler_name,
            "priority_class": s.user_priority, "materials": s.materials or None,
        },
        "authenticator": {"class": s.authenticator_class,
                          "section": s.authenticator_section,
                          "settings": dict(s.authenticator.settings)},
        "admins": list(s.admins),
        "cull": {"timeout": int(s.cull_timeout.total_seconds()),
                 "every": int(s.cull_every.total_seconds())},
        "services": {"classops": {"scopes": CLASSOPS_SCOPES,
                                  "token_env": "CLASSOPS_SERVICE_TOKEN"}},
    }


def config_map(s: HubSettings) -> dict[str, Any]:
    code = (INFRA / "hub" / "jupyterhub_config.py").read_text(encoding="utf-8")
    data = {"jupyterhub_config.py": code,
            "values.json": json.dumps(values(s), indent=1, sort_keys=True) + "\n"}
    return obj("v1", "ConfigMap", "hub", s, "hub", data=data)


def deployment(s: HubSettings, config: dict[str, Any]) -> dict[str, Any]:
    checksum = hashlib.sha256(json.dumps(config["data"], sort_keys=True).encode()).hexdigest()
    probe = {"httpGet": {"path": "/hub/health", "port": "http"}}
    container = {
        "name": "hub", "image": s.hub_image,
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
                         {"name": "pvc", "mountPath": "/srv/jupyterhub"}],
        "resources": {"requests": {"cpu": "200m", "memory": "512Mi"}},
        "securityContext": {**RESTRICTED, "runAsUser": 1000, "runAsGroup": 1000},
        "readinessProbe": {**probe, "periodSeconds": 2, "failureThreshold": 1000},
        "livenessProbe": {**probe, "initialDelaySeconds": 300, "periodSeconds": 10,
                          "failureThreshold": 30, "timeoutSeconds": 3},
    }
    spec = {"serviceAccountName": "hub", "priorityClassName": s.user_priority,
            "securityContext": {"fsGroup": 1000},
            "volumes": [{"name": "config", "configMap": {"name": "hub"}},
                        {"name": "pvc", "persistentVolumeClaim": {"claimName": "hub-db-dir"}}],
            "containers": [container]}
    access = {f"hub.jupyter.org/network-access-{to}": "true"
              for to in ("proxy-api", "proxy-http", "singleuser")}
    return obj("apps/v1", "Deployment", "hub", s, "hub", spec={
        "replicas": 1, "strategy": {"type": "Recreate"},  # one sqlite file, one writer
        "selector": {"matchLabels": selector(s, "hub")},
        "template": template(s, "hub", spec, access, {"checksum/config-map": checksum})})


def service(s: HubSettings) -> dict[str, Any]:
    return obj("v1", "Service", "hub", s, "hub", spec={
        "type": "ClusterIP", "selector": selector(s, "hub"),
        "ports": [{"name": "hub", "port": 8081, "targetPort": "http", "protocol": "TCP"}]})


def database(s: HubSettings) -> dict[str, Any]:
    spec: dict[str, Any] = {"accessModes": ["ReadWriteOnce"],
                            "resources": {"requests": {"storage": s.hub_db_capacity}}}
    if s.storage_class:
        spec["storageClassName"] = s.storage_class
    return obj("v1", "PersistentVolumeClaim", "hub-db-dir", s, "hub", spec=spec)


HUB_RULES = [
    rule([""], ["pods", "persistentvolumeclaims", "secrets", "services"],
         ["get", "watch", "list", "create", "delete"]),
    rule([""], ["events"], ["get", "watch", "list"]),
]


def rbac(s: HubSettings) -> list[dict[str, Any]]:
    return [
        obj("v1", "ServiceAccount", "hub", s, "hub"),
        obj("rbac.authorization.k8s.io/v1", "Role", "hub", s, "hub", rules=HUB_RULES),
        obj("rbac.authorization.k8s.io/v1", "RoleBinding", "hub", s, "hub",
            subjects=[{"kind": "ServiceAccount", "name": "hub", "namespace": s.ns}],
            roleRef={"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "hub"}),
    ]


def render(s: HubSettings) -> list[dict[str, Any]]:
    config = config_map(s)
    return [*rbac(s), config, database(s), service(s), deployment(s, config)]
