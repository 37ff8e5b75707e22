"""HTTPS `auto` mode: cert-manager's ACME `Issuer` and the `Certificate` for the hub's host.

cert-manager writes and renews the kubernetes.io/tls Secret (`settings.tls_secret_name`) that
the proxy serves 443 with, exactly as in `secret` mode: one TLS path in CHP, whoever made the
Secret. Why cert-manager rather than z2jh's own Let's Encrypt path (autohttps: Traefik in front
of CHP, and a sidecar copying its acme.json into a Secret): it is the cluster's standard
certificate controller, renews on its own schedule, keeps the key in a Secret from the first
minute, puts no extra pod in every request's path and no single-replica lock on the front
door; and a course that already has cert-manager (most clusters with other web services do)
gets certificates the way its other services do. Its price: it must be installed (`classops
check` fails, saying what to install, when its CRDs are missing) and the Issuer needs a solver
that can answer while no certificate exists yet: a DNS-01 solver (the university's DNS
provider), or HTTP-01 through an ingress controller the host's name points at. The solvers are
cert-manager's own `spec.acme.solvers`, passed through from `hub.https.solvers`.
"""

from __future__ import annotations

from typing import Any

from shared.stack.config import HubSettings
from shared.stack.labels import obj

CRDS = ("certificates.cert-manager.io", "issuers.cert-manager.io")
API = "cert-manager.io/v1"


def render(settings: HubSettings) -> list[dict[str, Any]]:
    if settings.tls_mode != "auto":
        return []
    issuer = f"{settings.release}-acme"
    return [
        obj(API, "Issuer", issuer, settings, "proxy", spec={"acme": {
            "server": settings.acme_server, "email": settings.acme_email,
            "privateKeySecretRef": {"name": f"{issuer}-account"},
            "solvers": [dict(s) for s in settings.acme_solvers]}}),
        obj(API, "Certificate", settings.tls_secret_name, settings, "proxy", spec={
            "secretName": settings.tls_secret_name, "dnsNames": [settings.host],
            "issuerRef": {"name": issuer, "kind": "Issuer", "group": "cert-manager.io"},
            "privateKey": {"rotationPolicy": "Always"}}),
    ]
