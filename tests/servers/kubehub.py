"""The hub stack's JupyterHub spawning students into the emulator with KubeSpawner, unchanged.

`KubeHubServer` is the test hub of `jupyterhub.py` (proxy, hub, service tokens) with the config
classops deploys: `shared/stack/hub_component.py` renders the `hub` ConfigMap (`infra/hub/
jupyterhub_config.py` and `values.json`) from the course's settings into the hub's work dir, and
`kube_hub_config.py` loads it and points only its addresses and paths at the test servers.
KubeSpawner 7.1 (on `kubernetes_asyncio`) then creates each student's `claim-<user>` PVC and
`jupyter-<user>` pod in the emulator through `KUBECONFIG`; the `podnet` controller answers at
the pod's loopback IP once the kubelet has it Ready, so the hub sees the server come up.

The course is the bundled one (`schedules.yaml`, `hub:`), with one change: its CAS authenticator
needs a CAS server, so `course_settings` swaps in the dummy authenticator (the students are
started through the REST API, no one signs in).

`KubeHub` is what a test holds: the emulator (its clock, controllers, official client), the hub
(`admin`: the fixtures' REST hand), the course settings, nodes to add, manifests to apply, and
`storm(...)` (`storm.py`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import random
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jupyterhub
from kubernetes import client

# First: on main (after the layers move) `import shared.timetable` before shared.events is a
# circular import, and this module may be the first of the run to import either.
import shared.events  # noqa: F401
from shared.stack import hub_component
from shared.stack.config import Authenticator, HubSettings
from shared.stack.manifests import render, settings_of
from shared.timetable import load

from .jupyterhub import HERE, HubAPI, JupyterHubServer
from .process import free_ports

if TYPE_CHECKING:
    from tests.kubeemu import Emulator

    from .storm import StormResult

REPO = HERE.parents[1]
#: A Monday 08:00 UTC in term: the emulated clock starts there.
CLOCK_START = datetime(2026, 9, 14, 8, 0, tzinfo=UTC)
CONTROLLERS = ("scheduler", "kubelet", "workloads", "disruption", "podnet")
# Claims bound to PVs with folders, CSI snapshots, Jobs run as processes (each acts only on its
# own kinds); where the emulator has them.
STORAGE = ("volumes", "snapshots", "jobs")
USER_NODE_LABELS = {"hub.jupyter.org/node-purpose": "user"}  # z2jh's user node pool
USER_NODE_TAINT = {"key": "hub.jupyter.org/dedicated", "value": "user", "effect": "NoSchedule"}


def course_settings(schedule: Path = REPO / "schedules.yaml") -> HubSettings:
    """The course's `hub:` settings as classops deploys them, with the dummy authenticator."""
    settings = settings_of(load(str(schedule)))
    return dataclasses.replace(settings, authenticator=Authenticator())


def render_config(settings: HubSettings, into: Path) -> Path:
    """Write the `hub` ConfigMap's files (config and values.json) into `into`; the config's path."""
    into.mkdir(parents=True, exist_ok=True)
    for name, text in hub_component.config_map(settings)["data"].items():
        (into / name).write_text(text, encoding="utf-8")
    return into / "jupyterhub_config.py"


class KubeHubServer(JupyterHubServer):
    """The proxy and a hub spawning with KubeSpawner into the cluster of `kubeconfig`."""

    workdir_prefix = "classops-kubehub-"
    config_file = HERE / "kube_hub_config.py"

    def __init__(self, kubeconfig: Path, settings: HubSettings, named_servers: bool = True,
                 workdir: Path | None = None,
                 pick_ports: Callable[[int], list[int]] = free_ports) -> None:
        super().__init__(workdir, pick_ports)
        self.kubeconfig, self.settings, self.named_servers = kubeconfig, settings, named_servers

    def _more_env(self, hub_env: Mapping[str, str]) -> dict[str, str]:
        import secrets

        config = render_config(self.settings, self.workdir / "config")
        return {
            "CLASSOPS_TEST_HUB_RENDERED_CONFIG": str(config),
            "CLASSOPS_TEST_HUB_NAMED_SERVERS": "1" if self.named_servers else "",
            "KUBECONFIG": str(self.kubeconfig),
            # What the hub Deployment gives the hub container (shared/stack/hub_component.py).
            "POD_NAMESPACE": self.settings.namespace,
            "JPY_COOKIE_SECRET": secrets.token_hex(32),
            "CONFIGPROXY_AUTH_TOKEN": hub_env["CLASSOPS_TEST_HUB_PROXY_TOKEN"],
            "JUPYTERHUB_CRYPT_KEY": secrets.token_hex(32),
            "CLASSOPS_SERVICE_TOKEN": hub_env["CLASSOPS_TEST_HUB_CLASSOPS_TOKEN"],
        }


@dataclass
class KubeHub:
    """A cluster (the emulator) with the course's hub spawning into it; see the module doc."""

    emu: Emulator
    server: KubeHubServer
    settings: HubSettings
    api: client.ApiClient
    nodes: list[str] = field(default_factory=list)

    @property
    def namespace(self) -> str:
        return self.settings.namespace

    @property
    def admin(self) -> HubAPI:
        assert self.server.admin is not None, "the hub is not running"
        return self.server.admin

    @property
    def core(self) -> client.CoreV1Api:
        return client.CoreV1Api(self.api)

    def add_node(self, name: str, cpu: str = "8", memory: str = "32Gi", pods: int = 110,
                 labels: Mapping[str, str] | None = None, user_pool: bool = True) -> None:
        """A Ready node; in z2jh's user pool (its label and taint) unless `user_pool=False`."""
        index = len(self.nodes)
        body: Any = {"metadata": {"name": name, "labels": {
            "kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
            **(USER_NODE_LABELS if user_pool else {}), **(labels or {})}},
            "spec": {"taints": [USER_NODE_TAINT] if user_pool else []}}
        self.core.create_node(body)
        capacity = {"cpu": cpu, "memory": memory, "pods": str(pods)}
        self.core.patch_node_status(name, {"status": {
            "capacity": capacity, "allocatable": capacity,
            "addresses": [{"type": "InternalIP", "address": f"127.10.0.{index + 1}"},
                          {"type": "Hostname", "address": name}],
            "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady"}]}})
        self.nodes.append(name)

    def apply(self, manifests: Iterable[Mapping[str, Any]]) -> None:
        """Server-side apply, as classops does (field manager `classops`)."""
        from shared.ports.kube import Kube

        kube = Kube(self.api)
        try:
            for manifest in manifests:
                kube.apply(manifest, "classops")
        finally:
            kube.close()

    def render(self, *parts: str) -> list[dict[str, Any]]:
        """The stack's manifests for this course (parts: cluster, classops, hub)."""
        return render(self.settings, "", parts)

    def pods(self, selector: str = "component=singleuser-server") -> list[Any]:
        return list(self.core.list_namespaced_pod(self.namespace,
                                                  label_selector=selector).items)

    def claims(self, selector: str = "component=singleuser-storage") -> list[Any]:
        return list(self.core.list_namespaced_persistent_volume_claim(
            self.namespace, label_selector=selector).items)

    def storm(self, n: int = 0, arrivals: Sequence[float] | None = None,
              start: datetime | None = None, **options: Any) -> StormResult:
        """N students log in over `arrivals` from `start`: see `storm.run_storm`."""
        from .storm import run_storm

        return run_storm(self, n, arrivals, start, **options)


@contextlib.contextmanager
def kube_hub_running(workdir: Path, *, named_servers: bool = True,
                     controller_options: Mapping[str, Mapping[str, Any]] | None = None,
                     ) -> Iterator[KubeHub]:
    """A fresh emulator (CONTROLLERS and STORAGE), the course
    namespace and the stack's cluster part, and the course's hub spawning into it; no nodes.
    `workdir` takes the kubeconfig. Stopped (hub first) on exit."""
    from tests.kubeemu import Emulator
    from tests.kubeemu.controllers import NAMES

    from .fixtures import _running

    # A pod network of this emulator's own: another run on this machine may be listening on
    # 127.244.x.y:8888 for its own students (tests/kubeemu/addresses.py).
    options: dict[str, dict[str, Any]] = {
        "kubelet": {"pod_network": f"127.{random.randint(128, 239)}.0.0/16"},
        "podnet": {"headers": {"X-JupyterHub-Version": jupyterhub.__version__}}}
    for name, more in (controller_options or {}).items():
        options[name] = {**options.get(name, {}), **more}
    names = (*CONTROLLERS, *(n for n in STORAGE if n in NAMES))
    emu = Emulator(bookmark_interval=1.0, controllers=names, controller_options=options)
    emu.clock.set(CLOCK_START)
    emu.start()
    settings = course_settings()
    api = emu.api_client()
    try:
        namespace: Any = {"metadata": {"name": settings.namespace}}
        client.CoreV1Api(api).create_namespace(namespace)
        kubeconfig = emu.write_kubeconfig(workdir / "kubeconfig", settings.namespace)
        with _running(KubeHubServer(kubeconfig, settings, named_servers)) as server:
            hub = KubeHub(emu, server, settings, api)
            hub.apply(hub.render("cluster"))
            yield hub
    finally:
        api.close()
        emu.stop()
