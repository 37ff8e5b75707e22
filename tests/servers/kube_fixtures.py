"""pytest fixtures for a living cluster with the course's hub: `kube_hub` and `hub_storm`.

`kube_hub` gives a test its own emulator (scheduler, kubelet, workloads, the `podnet` stub, and
`volumes` where the emulator has it) with the course namespace and the stack's cluster part
applied (PriorityClasses, ...), and the course's JupyterHub spawning into it with KubeSpawner
(`kubehub.py`). It has no nodes: add them (`kube_hub.add_node("user-1")`, 8 CPU / 32Gi in z2jh's
user pool by default), or enable an autoscaler. The clock starts at `CLOCK_START`, running at 1x.

`hub_storm(n=..., arrivals=..., start=...)` runs a storm on it (`storm.run_storm`) and returns
a `StormResult` (each student's `wait` and `login_wait`, `summary()`). A storm test needs a
pytest timeout above the default (`@pytest.mark.timeout(900)`).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jupyterhub
import pytest
from kubernetes import client

from .fixtures import _mb, _running, _stats
from .kubehub import KubeHub, KubeHubServer, course_settings
from .storm import StormResult

#: A Monday 08:00 UTC in term: storms default to starting there.
CLOCK_START = datetime(2026, 9, 14, 8, 0, tzinfo=UTC)
CONTROLLERS = ("scheduler", "kubelet", "workloads", "disruption", "podnet")


@pytest.fixture
def kube_hub(tmp_path: Path) -> Iterator[KubeHub]:
    from tests.kubeemu import Emulator
    from tests.kubeemu.controllers import NAMES

    # A pod network of this emulator's own: another run on this machine may be listening on
    # 127.244.x.y:8888 for its own students (tests/kubeemu/addresses.py).
    network = f"127.{random.randint(128, 239)}.0.0/16"
    emu = Emulator(bookmark_interval=1.0, controllers=(
        *CONTROLLERS, *(n for n in ("volumes",) if n in NAMES)), controller_options={
        "kubelet": {"pod_network": network},
        "podnet": {"headers": {"X-JupyterHub-Version": jupyterhub.__version__}}})
    emu.clock.set(CLOCK_START)
    emu.start()
    settings = course_settings()
    api = emu.api_client()
    namespace: Any = {"metadata": {"name": settings.ns}}
    client.CoreV1Api(api).create_namespace(namespace)
    kubeconfig = emu.write_kubeconfig(tmp_path / "kubeconfig", settings.ns)
    try:
        with _running(KubeHubServer(kubeconfig, settings)) as server:
            hub = KubeHub(emu, server, settings, api)
            hub.apply(hub.render("cluster"))
            rss = server.rss_bytes()
            _stats["jupyterhub+kubespawner"] = (
                f"up in {server.startup_seconds:.1f} s, RSS hub {_mb(rss['jupyterhub'])} "
                f"+ proxy {_mb(rss['configurable-http-proxy'])}")
            yield hub
    finally:
        api.close()
        emu.stop()
    errors = [e for c in emu.controllers for e in getattr(c, "errors", [])]
    assert not errors, "a controller pass failed:\n" + "\n".join(errors)


@pytest.fixture
def hub_storm(kube_hub: KubeHub) -> Callable[..., StormResult]:
    """`hub_storm(n=20, arrivals=None, start=None, **options)`: see `storm.run_storm`."""
    def storm(n: int = 0, arrivals: Any = None, start: datetime | None = None,
              **options: Any) -> StormResult:
        return kube_hub.storm(n, arrivals, start, **options)
    return storm
