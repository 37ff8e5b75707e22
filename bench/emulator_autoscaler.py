"""How long (wall time) the emulator takes to play a storm through its node autoscaler.

N student pods (1 cpu each, z2jh tolerations) arrive on an empty cluster with the scheduler,
kubelet and autoscaler on a frozen clock; the figures are the wall seconds until every pod has
its scale-up decided, until every node is registered and Ready once the clock is moved past
provisioning and NotReady time, and until every pod is Running; plus the Events recorded.

Run: .venv/bin/python -m bench.emulator_autoscaler [--pods 200]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

from kubernetes import client

from tests.kubeemu import Emulator

TOLERATE = [{"key": "hub.jupyter.org/dedicated", "operator": "Equal", "value": "user",
             "effect": "NoSchedule"}]


def _until(check: Callable[[], Any], timeout: float = 120.0) -> float:
    started = time.perf_counter()
    while not check():
        if time.perf_counter() - started > timeout:
            raise SystemExit(f"timed out waiting for {check}")
        time.sleep(0.05)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pods", type=int, default=200)
    args = parser.parse_args()
    per_node = 4
    emu = Emulator(controllers=("scheduler", "kubelet", "autoscaler"), controller_options={
        "kubelet": {"pull_seconds": 60.0, "start_seconds": 2.0},
        "autoscaler": {"provision_seconds": 120.0, "not_ready_seconds": 30.0,
                       "pools": [{"name": "user", "cpu": str(per_node), "memory": "32Gi",
                                  "max_size": args.pods // per_node + 5}]}})
    emu.clock.set_rate(0)
    emu.start()
    core = client.CoreV1Api(emu.api_client())
    core.create_namespace({"metadata": {"name": "bench"}})
    started = time.perf_counter()
    for i in range(args.pods):
        core.create_namespaced_pod("bench", {"metadata": {"name": f"jupyter-user{i:04d}"}, "spec": {
            "tolerations": TOLERATE, "containers": [{"name": "notebook", "image": "course:1",
                                                     "resources": {"requests": {"cpu": "1"}}}]}})
    created = time.perf_counter() - started

    def reasons(reason: str) -> int:
        return sum(1 for e in core.list_namespaced_event("bench").items if e.reason == reason)

    nodes = args.pods // per_node
    scaler = emu.controller("autoscaler")
    announced = _until(lambda: len(scaler.coming) >= nodes)
    told = reasons("TriggeredScaleUp")
    emu.clock.advance(150)
    ready = _until(lambda: sum(
        1 for n in core.list_node().items
        if any(c.type == "Ready" and c.status == "True" for c in n.status.conditions)) >= nodes)
    bound = _until(lambda: all(p.spec.node_name for p in core.list_namespaced_pod(
        "bench").items))
    emu.clock.advance(62)
    running = _until(lambda: all(p.status.phase == "Running" for p in core.list_namespaced_pod(
        "bench").items))
    events = len(core.list_namespaced_event("bench").items)
    emu.stop()
    print(f"create {args.pods} pods: {created:.2f} s")
    print(f"{nodes} nodes coming (scale-up decided): {announced:.2f} s after the last create; "
          f"{told} pods told TriggeredScaleUp (the others fit on nodes already coming)")
    print(f"{nodes} nodes Ready after the clock moved: {ready:.2f} s")
    print(f"all bound: {bound:.2f} s; all Running after the pull: {running:.2f} s")
    print(f"events recorded in the namespace: {events}")


if __name__ == "__main__":
    main()
