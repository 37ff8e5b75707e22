"""The `proxy` component: configurable-http-proxy's Deployment and the Services `proxy-api`
and `proxy-public`.

`proxy-public` is a LoadBalancer on 80 and, when the course names a TLS Secret, on 443: CHP then
terminates TLS itself (`--ssl-key/--ssl-cert`, listening on 8443) and redirects port 8000 to
443, so no extra pod (z2jh's autohttps) is needed for a certificate the university issues.
"""

from __future__ import annotations

from typing import Any

from shared.stack import secrets
from shared.stack.config import CHP_IMAGE, HubSettings
from shared.stack.labels import RESTRICTED, env_secret, obj, selector, template

TLS_DIR = "/etc/chp/tls"


def deployment(settings: HubSettings) -> dict[str, Any]:
    args = ["configurable-http-proxy", "--ip=", "--api-ip=", "--api-port=8001",
            "--default-target=http://hub:8081", "--error-target=http://hub:8081/hub/error"]
    ports = [{"name": "http", "containerPort": 8000, "protocol": "TCP"},
             {"name": "api", "containerPort": 8001, "protocol": "TCP"}]
    mounts: list[dict[str, Any]] = []
    volumes: list[dict[str, Any]] = []
    if settings.tls_secret:
        args += ["--port=8443", f"--ssl-key={TLS_DIR}/tls.key", f"--ssl-cert={TLS_DIR}/tls.crt",
                 "--redirect-port=8000", "--redirect-to=443"]
        ports.append({"name": "https", "containerPort": 8443, "protocol": "TCP"})
        mounts.append({"name": "tls", "mountPath": TLS_DIR, "readOnly": True})
        volumes.append({"name": "tls", "secret": {"secretName": settings.tls_secret}})
    else:
        args.append("--port=8000")
    probe = {"httpGet": {"path": "/_chp_healthz", "port": "api"}}
    container = {
        "name": "chp", "image": CHP_IMAGE, "args": args, "ports": ports,
        "env": [env_secret("CONFIGPROXY_AUTH_TOKEN", secrets.HUB, secrets.PROXY_TOKEN)],
        "volumeMounts": mounts,
        "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}},
        "securityContext": {**RESTRICTED, "runAsUser": 65534, "runAsGroup": 65534,
                            "readOnlyRootFilesystem": True},
        "readinessProbe": {**probe, "periodSeconds": 2, "failureThreshold": 1000},
        "livenessProbe": {**probe, "initialDelaySeconds": 60, "periodSeconds": 10,
                          "failureThreshold": 30, "timeoutSeconds": 3},
    }
    spec = {"priorityClassName": settings.user_priority, "automountServiceAccountToken": False,
            "terminationGracePeriodSeconds": 60, "volumes": volumes, "containers": [container]}
    access = {"hub.jupyter.org/network-access-hub": "true",
              "hub.jupyter.org/network-access-singleuser": "true"}
    # Recreate, as z2jh: the hub must never talk to two proxies with different routes.
    return obj("apps/v1", "Deployment", "proxy", settings, "proxy", spec={
        "replicas": 1, "strategy": {"type": "Recreate"},
        "selector": {"matchLabels": selector(settings, "proxy")},
        "template": template(settings, "proxy", spec, access)})


def services(settings: HubSettings) -> list[dict[str, Any]]:
    public = [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}]
    if settings.tls_secret:
        public.append({"name": "https", "port": 443, "targetPort": "https", "protocol": "TCP"})
    return [
        obj("v1", "Service", "proxy-api", settings, "proxy", spec={
            "type": "ClusterIP", "selector": selector(settings, "proxy"),
            "ports": [{"name": "http-api", "port": 8001, "targetPort": "api",
                       "protocol": "TCP"}]}),
        obj("v1", "Service", "proxy-public", settings, "proxy-public", spec={
            "type": "LoadBalancer", "selector": selector(settings, "proxy"), "ports": public}),
    ]


def render(settings: HubSettings) -> list[dict[str, Any]]:
    return [*services(settings), deployment(settings)]
