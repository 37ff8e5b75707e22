"""The `hub:` section's settings and the versions classops pins, as data.

Versions follow Zero to JupyterHub (z2jh) 4.4.0 (2026-06-10; JupyterHub 5.5.0; needs Kubernetes
1.32+): hub and network-tools images are the chart's own tags, configurable-http-proxy 5.1.0 (z2jh
4.3.0's table), kube-scheduler v1.35.2 (z2jh 4.3.3 bumped it from 1.30.14), pause 3.10.1 (the
kubelet's own sandbox image since 1.34). Facts read from the z2jh changelog and Chart.yaml.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

Z2JH_VERSION = "4.4.0"
HUB_IMAGE = f"quay.io/jupyterhub/k8s-hub:{Z2JH_VERSION}"
SINGLEUSER_IMAGE = f"quay.io/jupyterhub/k8s-singleuser-sample:{Z2JH_VERSION}"
NETWORK_TOOLS_IMAGE = f"quay.io/jupyterhub/k8s-network-tools:{Z2JH_VERSION}"
CHP_IMAGE = "quay.io/jupyterhub/configurable-http-proxy:5.1.0"
KUBE_SCHEDULER_IMAGE = "registry.k8s.io/kube-scheduler:v1.35.2"
PAUSE_IMAGE = "registry.k8s.io/pause:3.10.1"
CLASSOPS_IMAGE = "ghcr.io/classops/classops:0.1.0"

#: Short names for authenticators; anything else is taken as a class (or entry point) name.
AUTHENTICATORS = {
    "cas": "jhub_cas_authenticator.cas_auth.CASAuthenticator",  # the seed's plug-in
    "dummy": "jupyterhub.auth.DummyAuthenticator",
    "github": "oauthenticator.github.GitHubOAuthenticator",
    "generic-oauth": "oauthenticator.generic.GenericOAuthenticator",
}


LETSENCRYPT = "https://acme-v02.api.letsencrypt.org/directory"


@dataclass(frozen=True)
class Resources:
    cpu_guarantee: str | None = None  # Kubernetes quantities, e.g. "500m", "2"
    cpu_limit: str | None = None
    memory_guarantee: str | None = "1G"
    memory_limit: str | None = None


@dataclass(frozen=True)
class Authenticator:
    cls: str = "dummy"  # a short name of AUTHENTICATORS, or a class
    settings: Mapping[str, Any] = field(default_factory=dict)  # passed through as the class's


@dataclass(frozen=True)
class HubSettings:
    """Everything the renderers read. Defaults give a working stack for `course`."""

    course: str
    namespace: str = ""  # "" : the course's name (set so by __post_init__)
    release: str = ""  # names cluster-wide objects (PriorityClasses, the scheduler); "" : course
    host: str = ""  # the hub's public name, for the start-up script and docs
    tls_secret: str = ""  # a kubernetes.io/tls Secret: proxy-public serves 443 with it
    # HTTPS as z2jh's proxy.https.type: "" (none, or `secret` when tls_secret is set),
    # "secret", "offload" (the load balancer terminates TLS) or "auto" (cert-manager's
    # Certificate and ACME Issuer make the Secret); see shared/stack/proxy.py and certificates.py
    https: str = ""
    https_annotations: Mapping[str, str] = field(default_factory=dict)  # offload: proxy-public's
    acme_email: str = ""  # auto: the ACME account's contact
    acme_server: str = LETSENCRYPT
    acme_solvers: tuple[Mapping[str, Any], ...] = ()  # auto: cert-manager's Issuer solvers
    hub_image: str = HUB_IMAGE
    singleuser_image: str = SINGLEUSER_IMAGE
    classops_image: str = CLASSOPS_IMAGE
    resources: Resources = Resources()
    storage_capacity: str = "10Gi"
    storage_class: str = ""  # "" : the cluster's default StorageClass
    hub_db_capacity: str = "1Gi"
    materials: str = ""  # a git URL the single-user start-up script fetches
    authenticator: Authenticator = Authenticator()
    admins: tuple[str, ...] = ()
    cull_timeout: timedelta = timedelta(hours=1)
    cull_every: timedelta = timedelta(minutes=10)
    user_scheduler_replicas: int = 2

    def __post_init__(self) -> None:
        # The course's name is the default of both, resolved once here so every reader agrees.
        object.__setattr__(self, "namespace", self.namespace or self.course)
        object.__setattr__(self, "release", self.release or self.course)

    @property
    def tls_mode(self) -> str:
        """"", "secret", "offload" or "auto"."""
        return self.https or ("secret" if self.tls_secret else "")

    @property
    def tls_secret_name(self) -> str:
        """The kubernetes.io/tls Secret the proxy serves 443 with (secret and auto modes)."""
        return self.tls_secret or (f"{self.release}-hub-tls" if self.tls_mode == "auto" else "")

    @property
    def proxy_terminates_tls(self) -> bool:
        return self.tls_mode in ("secret", "auto")

    @property
    def scheduler_name(self) -> str:
        return f"{self.release}-user-scheduler"

    @property
    def user_priority(self) -> str:
        return f"{self.release}-default-priority"

    @property
    def placeholder_priority(self) -> str:
        return f"{self.release}-user-placeholder-priority"

    @property
    def authenticator_class(self) -> str:
        return AUTHENTICATORS.get(self.authenticator.cls, self.authenticator.cls)

    @property
    def authenticator_section(self) -> str:
        """The config section its settings go to: the class's own name."""
        return self.authenticator_class.rsplit(".", 1)[-1]
