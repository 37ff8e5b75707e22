"""pytest fixtures for a living cluster with the course's hub: `kube_hub` and `hub_storm`.

`kube_hub` gives a test its own emulator (scheduler, kubelet, workloads, disruption, the `podnet`
stub, volumes, snapshots and jobs) with the course namespace and the stack's cluster
part applied (PriorityClasses, ...), and the course's JupyterHub spawning into it with
KubeSpawner (`kubehub.py`). It has no nodes: add them (`kube_hub.add_node("user-1")`, 8 CPU /
32Gi in z2jh's user pool by default), or enable an autoscaler. The clock starts at
`CLOCK_START`, running at 1x. Each test pays for a hub start (~5 s).

`hub_storm(n=..., arrivals=..., start=...)` runs a storm on it (`storm.run_storm`) and returns
a `StormResult` (each student's `wait` and `login_wait`, `summary()`). A storm test needs a
pytest timeout above the default (`@pytest.mark.timeout(900)`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from .fixtures import _mb, _stats
from .kubehub import CLOCK_START, KubeHub, kube_hub_running
from .storm import StormResult

__all__ = ["CLOCK_START", "hub_storm", "kube_hub"]


@pytest.fixture
def kube_hub(tmp_path: Path) -> Iterator[KubeHub]:
    with kube_hub_running(tmp_path) as hub:
        rss = hub.server.rss_bytes()
        _stats["jupyterhub+kubespawner"] = (
            f"up in {hub.server.startup_seconds:.1f} s, RSS hub {_mb(rss['jupyterhub'])} "
            f"+ proxy {_mb(rss['configurable-http-proxy'])}")
        yield hub
        emu = hub.emu
    errors = [e for c in emu.controllers for e in getattr(c, "errors", [])]
    assert not errors, "a controller pass failed:\n" + "\n".join(errors)


@pytest.fixture
def hub_storm(kube_hub: KubeHub) -> Callable[..., StormResult]:
    """`hub_storm(n=20, arrivals=None, start=None, **options)`: see `storm.run_storm`."""
    def storm(n: int = 0, arrivals: Any = None, start: datetime | None = None,
              **options: Any) -> StormResult:
        return kube_hub.storm(n, arrivals, start, **options)
    return storm
