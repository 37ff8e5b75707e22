"""A stand-in for the hub storm, for `bench/lecture_storm.py` only: students' pods created through
the official client at their arrival times, shaped as KubeSpawner makes them (labels, scheduler,
priority, tolerations, affinity, requests and image from the course's rendered hub settings).

Chosen with `python -m bench.lecture_storm --client-students`, to see what the cluster model gives
without the hub's load; the bench says so in its output. No hub runs, so `login_wait` is the pod
wait (the hub's own part is 0).
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from kubernetes import client

from shared.ports.kube import Kube
from shared.stack.config import HubSettings
from shared.stack.labels import USER_AFFINITY, USER_TOLERATIONS
from shared.stack.manifests import render, settings_of
from shared.stack.user_pods import _user_resources
from shared.timetable import load

REPO = Path(__file__).resolve().parents[1]
CLOCK_START = datetime(2026, 9, 14, 8, 0, tzinfo=UTC)  # a Monday 08:00 UTC in term


@dataclass
class Result:
    waits_: list[float] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    def waits(self) -> list[float]:
        return sorted(self.waits_)

    def login_waits(self) -> list[float]:
        return self.waits()

    def summary(self, title: str) -> str:
        w = self.waits()
        if not w:
            return f"{title}: no student ready"
        return (f"{title}: {len(w)} ready, {len(self.failed)} not; pod wait p50 "
                f"{w[len(w) // 2]:.0f} s, max {w[-1]:.0f} s (client stand-in)")


@dataclass
class ClientCluster:
    emu: Any
    api: client.ApiClient
    settings: HubSettings

    @property
    def namespace(self) -> str:
        return self.settings.namespace

    def render(self, *parts: str) -> list[dict[str, Any]]:
        return render(self.settings, "", parts)

    def apply(self, manifests: Sequence[Mapping[str, Any]]) -> None:
        kube = Kube(self.api)
        try:
            for manifest in manifests:
                kube.apply(manifest, "classops")
        finally:
            kube.close()

    def pod(self, user: str) -> dict[str, Any]:
        s = self.settings
        labels = {"app": "jupyterhub", "component": "singleuser-server",
                  "release": s.release, "hub.jupyter.org/username": user}
        return {"metadata": {"name": f"jupyter-{user}", "labels": labels,
                             "annotations": {"hub.jupyter.org/username": user}},
                "spec": {"schedulerName": s.scheduler_name, "priorityClassName": s.user_priority,
                         "tolerations": USER_TOLERATIONS, "affinity": USER_AFFINITY,
                         "containers": [{"name": "notebook", "image": s.singleuser_image,
                                         "resources": _user_resources(s)}]}}

    def storm(self, n: int, arrivals: Sequence[float], start: datetime, rate: float = 30.0,
              timeout: float = 1800.0) -> Result:
        clock, core = self.emu.clock, client.CoreV1Api(self.api)
        if clock.now() < start:
            clock.set(start)
        clock.set_rate(rate)
        users = [f"student-{i:03d}" for i in range(n)]
        for user, offset in zip(users, sorted(arrivals), strict=True):
            at = start + timedelta(seconds=offset)
            while clock.now() < at:
                time.sleep(0.01)
            threading.Thread(target=core.create_namespaced_pod,
                             args=(self.namespace, self.pod(user)), daemon=True).start()
        deadline, result = time.monotonic() + timeout, Result()
        while True:
            raw = core.list_namespaced_pod(self.namespace,
                                           label_selector="component=singleuser-server",
                                           _preload_content=False)
            pods = json.loads(raw.data)["items"]
            ready = {}
            for p in pods:
                for c in (p.get("status") or {}).get("conditions") or []:
                    if c["type"] == "Ready" and c["status"] == "True":
                        made = datetime.fromisoformat(p["metadata"]["creationTimestamp"])
                        up = datetime.fromisoformat(c["lastTransitionTime"])
                        ready[p["metadata"]["name"]] = (up - made).total_seconds()
            if len(ready) == n or time.monotonic() > deadline:
                result.waits_ = list(ready.values())
                result.failed = [u for u in users if f"jupyter-{u}" not in ready]
                return result
            time.sleep(0.2)


@contextlib.contextmanager
def client_cluster(workdir: Path) -> Iterator[ClientCluster]:
    from tests.kubeemu import Emulator

    settings = settings_of(load(str(REPO / "schedules.yaml")))
    emu = Emulator(bookmark_interval=1.0, controllers=("scheduler", "kubelet", "workloads"))
    emu.clock.set(CLOCK_START)
    emu.start()
    api = emu.api_client()
    try:
        client.CoreV1Api(api).create_namespace({"metadata": {"name": settings.namespace}})
        found = ClientCluster(emu, api, settings)
        found.apply(found.render("cluster"))
        yield found
    finally:
        api.close()
        emu.stop()
