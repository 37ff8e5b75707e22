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


# KubeSpawner reads a memory setting with JupyterHub's ByteSpecification: bytes, or a number
# with K, M, G or T, each 1024-based ("1G" = 1073741824), and sends the pod that integer. The same
# "1G" written into a manifest is 10**9 bytes to Kubernetes, 7 % less: a placeholder rendered
# with it would free less memory than the student who pre-empts it asks for (z2jh's chart does
# exactly that). So every manifest and the hub's values get `memory_bytes`, KubeSpawner's number.
_SPAWNER_UNITS = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}
MEMORY_FORMS = ("bytes, or a number with K, M, G or T (1024-based, as KubeSpawner reads them) "
                "or Ki, Mi, Gi, Ti")


def memory_bytes(value: str | float) -> int:
    """Bytes of a memory setting as KubeSpawner computes them (`int(float(n) * unit)`); the
    Kubernetes suffixes Ki, Mi, Gi, Ti mean the same units (KubeSpawner alone refuses them)."""
    text = str(value).strip()
    number, unit = (text[:-2], text[-2]) if text[-2:] in ("Ki", "Mi", "Gi", "Ti") else \
        (text[:-1], text[-1]) if text[-1:] in _SPAWNER_UNITS else (text, "")
    try:
        return int(float(number) * _SPAWNER_UNITS[unit])
    except ValueError:
        raise ValueError(f"memory {value!r}: expected {MEMORY_FORMS}") from None


def cpu_cores(value: str | float) -> float:
    """Cores of a CPU setting ("500m", "2", 0.5), the float KubeSpawner's cpu_guarantee takes
    (the hub's config would fail on `float("500m")`)."""
    text = str(value).strip()
    try:
        return float(text[:-1]) / 1000 if text.endswith("m") else float(text)
    except ValueError:
        raise ValueError(f"cpu {value!r}: expected cores, e.g. 0.5, 2 or 500m") from None


@dataclass(frozen=True)
class Resources:
    cpu_guarantee: str | None = None  # Kubernetes quantities, e.g. "500m", "2"
    cpu_limit: str | None = None
    memory_guarantee: str | None = "1G"  # KubeSpawner's forms: see `memory_bytes`
    memory_limit: str | None = None

    @property
    def memory_request(self) -> int | None:
        """The bytes a student's pod requests (what a placeholder must hold too)."""
        return memory_bytes(self.memory_guarantee) if self.memory_guarantee else None

    @property
    def memory_cap(self) -> int | None:
        return memory_bytes(self.memory_limit) if self.memory_limit else None


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
