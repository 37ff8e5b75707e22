"""The `proxy` component: configurable-http-proxy's Deployment and the Services `proxy-api`
and `proxy-public`.

`proxy-public` is a LoadBalancer, in z2jh's HTTPS modes (`hub.https`, as `proxy.https.type`):
- none: port 80 to CHP's 8000;
- `secret` (a kubernetes.io/tls Secret the university issues) and `auto` (the same Secret,
  made and renewed by cert-manager, `shared.stack.certificates`): CHP terminates TLS itself
  (`--ssl-key/--ssl-cert`, listening on 8443 for port 443) and its port 8000 only redirects to
  443, so port 80 redirects; no extra pod (z2jh's autohttps) sits in the request path;
- `offload` (the cloud load balancer terminates TLS): port 443 goes to CHP's plain 8000, port
  80 to a redirect-only listener (8080) that sends every request to https; the provider's
  Service annotations (certificate ARN, backend protocol, ...) are passed through as given.
"""

from __future__ import annotations

from typing import Any

from shared.stack import secrets
from shared.stack.config import CHP_IMAGE, HubSettings
from shared.stack.labels import RESTRICTED, env_secret, obj, selector, template

TLS_DIR = "/etc/chp/tls"
REDIRECT = 8080  # offload: CHP's redirect-only listener behind port 80


def deployment(settings: HubSettings) -> dict[str, Any]:
    args = ["configurable-http-proxy", "--ip=", "--api-ip=", "--api-port=8001",
            "--default-target=http://hub:8081", "--error-target=http://hub:8081/hub/error"]
    ports = [{"name": "http", "containerPort": 8000, "protocol": "TCP"},
             {"name": "api", "containerPort": 8001, "protocol": "TCP"}]
    mounts: list[dict[str, Any]] = []
    volumes: list[dict[str, Any]] = []
    if settings.proxy_terminates_tls:
        args += ["--port=8443", f"--ssl-key={TLS_DIR}/tls.key", f"--ssl-cert={TLS_DIR}/tls.crt",
                 "--redirect-port=8000", "--redirect-to=443"]
        ports.append({"name": "https", "containerPort": 8443, "protocol": "TCP"})
        mounts.append({"name": "tls", "mountPath": TLS_DIR, "readOnly": True})
        volumes.append({"name": "tls", "secret": {"secretName": settings.tls_secret_name}})
    elif settings.tls_mode == "offload":
        args += ["--port=8000", f"--redirect-port={REDIRECT}", "--redirect-to=443"]
        ports.append({"name": "http-redirect", "containerPort": REDIRECT, "protocol": "TCP"})
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
    annotations: dict[str, str] = {}
    if settings.proxy_terminates_tls:
        public.append({"name": "https", "port": 443, "targetPort": "https", "protocol": "TCP"})
    elif settings.tls_mode == "offload":
        public = [{"name": "http", "port": 80, "targetPort": "http-redirect", "protocol": "TCP"},
                  {"name": "https", "port": 443, "targetPort": "http", "protocol": "TCP"}]
        annotations = dict(settings.https_annotations)
    return [
        obj("v1", "Service", "proxy-api", settings, "proxy", spec={
            "type": "ClusterIP", "selector": selector(settings, "proxy"),
            "ports": [{"name": "http-api", "port": 8001, "targetPort": "api",
                       "protocol": "TCP"}]}),
        _annotated(obj("v1", "Service", "proxy-public", settings, "proxy-public", spec={
            "type": "LoadBalancer", "selector": selector(settings, "proxy"), "ports": public}),
            annotations),
    ]


def _annotated(manifest: dict[str, Any], annotations: dict[str, str]) -> dict[str, Any]:
    if annotations:
        meta = manifest["metadata"]
        meta["annotations"] = {**meta.get("annotations", {}), **annotations}
    return manifest


def render(settings: HubSettings) -> list[dict[str, Any]]:
    return [*services(settings), deployment(settings)]
