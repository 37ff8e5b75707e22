"""A living cluster for a test: its own emulator with every controller on, and Nodes to add.

`cluster` starts an Emulator with the scheduler, kubelet and workload controllers, a namespace
of the test's own, a frozen clock (rate 0: time moves only when the test advances it) and kubelet
timings of 0 (set `cluster.kubelet.start_seconds` / `pull_seconds` for timing tests; advance the
clock only once `cluster.taken(...)` says the kubelet has the pod). Nodes come from
`cluster.add_node(...)`, through the official client like everything the tests do.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Kube, new_kube
from tests.kubeemu import Emulator
from tests.kubeemu.controllers import Kubelet, Scheduler
from tests.wait import until

__all__ = ["Cluster"]

@dataclass
class Cluster(Kube):
    nodes: list[str] = field(default_factory=list)

    @property
    def kubelet(self) -> Kubelet:
        kubelet: Kubelet = self.emu.controller("kubelet")
        return kubelet

    @property
    def scheduler(self) -> Scheduler:
        scheduler: Scheduler = self.emu.controller("scheduler")
        return scheduler

    def add_node(self, name: str, cpu: str = "4", memory: str = "16Gi", pods: int = 110,
                 labels: dict[str, str] | None = None,
                 taints: list[dict[str, str]] | None = None) -> Any:
        index = len(self.nodes) + 1
        self.core.create_node({"metadata": {
            "name": name, "labels": {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
                                     **(labels or {})}},
            "spec": {"taints": taints or []}})
        capacity = {"cpu": cpu, "memory": memory, "pods": str(pods)}
        node = self.core.patch_node_status(name, {"status": {
            "capacity": capacity, "allocatable": capacity,
            "addresses": [{"type": "InternalIP", "address": f"10.0.0.{index}"},
                          {"type": "Hostname", "address": name}],
            "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady"}]}})
        self.nodes.append(name)
        return node

    def remove_node(self, name: str) -> None:
        self.core.delete_node(name)
        self.nodes.remove(name)

    def pods(self, selector: str = "") -> list[Any]:
        return list(self.core.list_namespaced_pod(self.namespace, label_selector=selector).items)

    def advance(self, seconds: float) -> None:
        self.emu.clock.advance(seconds)

    def taken(self, name: str = "", selector: str = "", count: int = 1) -> list[Any]:
        """Wait until the pod `name` (or `count` pods of `selector`) exist and their kubelet has
        taken them (status.startTime set). Kubelet timings count from that moment on the frozen
        clock, so advance the clock only after this."""
        def ready() -> list[Any]:
            pods = [p for p in self.pods(selector) if not name or p.metadata.name == name]
            started = [p for p in pods if p.status.start_time]
            return started if len(started) >= count else []
        return until(ready, what=f"{name or selector} taken by its kubelet")


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    emu = Emulator(bookmark_interval=0.2, controllers=("scheduler", "kubelet", "workloads"),
                   controller_options={"kubelet": {"start_seconds": 0.0, "pull_seconds": 0.0}})
    emu.clock.set_rate(0)
    emu.start()
    made = Cluster(**vars(new_kube(emu, tmp_path)))
    yield made
    made.api.close()
    emu.stop()
    errors = [e for c in emu.controllers for e in c.errors]
    assert not errors, "a controller pass failed:\n" + "\n".join(errors)
