"""Fixtures for the hub stack's tests: course configs, and the living emulated cluster.

`cluster` is the emulator with scheduler, kubelet and workload controllers
(`tests/emulator/conftest.py`); `stack` adds what a deploy needs around it: two user nodes, the
admin parts (PriorityClasses, ClusterRoles) applied as admin, and a `deploy()` that runs the real
deploy code with a clock that moves the emulated time forward while it waits.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest

from shared.actions.applying import Ports
from shared.actions.executor import Executor
from shared.metrics import Metrics
from shared.ports.kube import Kube
from shared.stack.config import HubSettings
from shared.stack.deploy import Outcome, deploy
from shared.stack.manifests import render
from tests.emulator.conftest import Cluster, cluster  # noqa: F401  (the fixture)

SCHEDULE = "course: cs101\n"


@dataclass
class Stack:
    cluster: Cluster
    settings: HubSettings
    outputs: list[str] = field(default_factory=list)

    def deploy(self, settings: HubSettings | None = None, parts: Sequence[str] = ("hub",),
               prune: bool = False, api: Any = None, timeout: float = 120.0) -> Outcome:
        kube = Kube(api or self.cluster.api)
        out = io.StringIO()

        def sleep(seconds: float) -> None:  # emulated time passes; the controllers catch up
            self.cluster.advance(seconds)
            time.sleep(0.02)

        # The deadline is on the wall clock (120 s by default: generous, a deploy to all-ready
        # takes about half a second): the controllers run on wall time, so a loaded machine
        # must get more polls, not fewer.
        executor = Executor(Ports(kube), Metrics(), lambda: datetime.now(UTC), sleep=sleep)
        try:
            outcome = deploy(kube, executor, settings or self.settings, out, parts, SCHEDULE,
                             prune, timeout=timeout, sleep=sleep, monotonic=time.monotonic)
        finally:
            kube.close()
        self.outputs.append(out.getvalue())
        print(out.getvalue())
        return outcome

    def versions(self) -> dict[tuple[str, str], str]:
        """resourceVersion of every object in the namespace, by (kind, name)."""
        from kubernetes import client

        found = {}
        for kind, items in (
            ("Deployment", client.AppsV1Api(self.cluster.api).list_namespaced_deployment),
            ("StatefulSet", client.AppsV1Api(self.cluster.api).list_namespaced_stateful_set),
            ("DaemonSet", client.AppsV1Api(self.cluster.api).list_namespaced_daemon_set),
            ("ConfigMap", self.cluster.core.list_namespaced_config_map),
            ("Service", self.cluster.core.list_namespaced_service),
            ("Secret", self.cluster.core.list_namespaced_secret),
            ("PersistentVolumeClaim",
             self.cluster.core.list_namespaced_persistent_volume_claim),
        ):
            for item in items(self.cluster.namespace).items:
                found[(kind, item.metadata.name)] = item.metadata.resource_version
        return found


@pytest.fixture
def stack(cluster: Cluster) -> Iterator[Stack]:  # noqa: F811
    for name in ("user-1", "user-2"):
        cluster.add_node(name, cpu="8", memory="32Gi")
    settings = HubSettings(course="cs101", namespace=cluster.namespace,
                           release=cluster.namespace)
    kube = Kube(cluster.api)
    for manifest in render(settings, SCHEDULE, ("cluster",)):
        kube.apply(manifest, "classops")
    kube.close()
    yield Stack(cluster, settings)
