"""What one pass of the emulator's scheduler costs with a storm's worth of pending pods.

The scheduler runs a pass on every store change, and during a student storm the store changes
many times a second (spawner writes, kubelet status, Events), so the pass's cost is what turns
into student wait at a fast emulated clock. Three shapes, each on a store built in-process
(no HTTP, no controller threads; the pass is called directly, wall time, best and median of R):

- `full`: N nodes, each holding K bound pods of 500m cpu and 1Gi at priority 0 (full), and P
  pending pods of the same size at priority 0: every pod Unschedulable, no victims.
- `preempt`: the same but the bound pods are placeholders at priority -10: the pre-emption dry
  run (`_victims`) for every pending pod, without writing the victims.
- `bind`: N empty nodes and P pending pods: the first pass binds them all (writes included).

Plus the node autoscaler's pass over the `full` shape once its scale-up is decided (P pods
waiting, the nodes for them coming): it simulates every waiting pod on every node.

Run: .venv/bin/python -m bench.scheduler_pass [--nodes 50] [--pending 200] [--per-node 4]
(tests/servers/test_storm.py's placeholders: --nodes 13 --per-node 16)
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from tests.kubeemu import Emulator
from tests.kubeemu.controllers.autoscaler import NodeAutoscaler
from tests.kubeemu.controllers.scheduling import Scheduler

TOLERATE = [{"key": "hub.jupyter.org/dedicated", "operator": "Equal", "value": "user",
             "effect": "NoSchedule"}]


def _pod(name: str, priority: int, node: str = "") -> dict:
    spec: dict = {"tolerations": TOLERATE, "priority": priority,
                  "schedulerName": "cs101-user-scheduler",
                  "containers": [{"name": "notebook", "image": "course:1", "resources": {
                      "requests": {"cpu": "500m", "memory": "1Gi"}}}]}
    if node:
        spec["nodeName"] = node
    return {"metadata": {"name": name, "labels": {"component": "singleuser-server"}},
            "spec": spec}


def _cluster(nodes: int, bound_priority: int | None, pending: int,
             per_node: int = 4) -> tuple[Emulator, Scheduler]:
    """`nodes` nodes each with room for `per_node` pods of 500m cpu and 1Gi."""
    emu = Emulator()
    emu.clock.set_rate(0)
    names = emu.add_nodes(nodes, cpu=f"{per_node * 500}m", memory=f"{max(per_node, 32)}Gi")
    ns = emu.catalogue.find("", "v1", "namespaces")
    pods = emu.catalogue.find("", "v1", "pods")
    assert ns is not None and pods is not None
    emu.registry.create(ns, "", {"metadata": {"name": "bench"}})
    if bound_priority is not None:
        for n, node in enumerate(names):
            for i in range(per_node):
                emu.registry.create(pods, "bench", _pod(f"held-{n}-{i}", bound_priority, node))
    for i in range(pending):
        emu.registry.create(pods, "bench", _pod(f"jupyter-student-{i:03d}", 0))
    return emu, Scheduler(emu)


def _time(rounds: int, setup: Callable[[], Callable[[], object]]) -> tuple[float, float]:
    took = []
    for _ in range(rounds):
        run = setup()
        started = time.perf_counter()
        run()
        took.append(time.perf_counter() - started)
    return min(took), statistics.median(took)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--nodes", type=int, default=50)
    parser.add_argument("--pending", type=int, default=200)
    parser.add_argument("--per-node", type=int, default=4, help="pods of 500m a node holds")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    n, p, k = args.nodes, args.pending, args.per_node

    full_emu, full = _cluster(n, 0, p, k)
    full.reconcile(full_emu.clock.now())  # the first pass writes the Unschedulable verdicts
    best, median = _time(args.rounds, lambda: lambda: full.reconcile(full_emu.clock.now()))
    print(f"full ({n} nodes x {k} pods, {p} pending, no victims), steady pass: "
          f"best {best * 1000:.0f} ms, median {median * 1000:.0f} ms")
    scaler = NodeAutoscaler(full_emu, pools=[{"name": "user", "cpu": f"{k * 500}m",
                                              "memory": "32Gi", "max_size": 1000}])
    scaler.reconcile(full_emu.clock.now())  # decides the scale-up, tells every pod
    best, median = _time(args.rounds, lambda: lambda: scaler.reconcile(full_emu.clock.now()))
    print(f"autoscaler, the same {p} pending, {len(scaler.coming)} nodes coming, steady pass: "
          f"best {best * 1000:.0f} ms, median {median * 1000:.0f} ms")

    pre_emu, pre = _cluster(n, -10, p, k)

    def dry_run() -> Callable[[], object]:
        from collections import defaultdict

        from tests.kubeemu.controllers.scheduling import _Pass

        nodes = {x["metadata"]["name"]: x for x in pre.items(pre.nodes)}
        bound: dict[str, list] = defaultdict(list)
        pending = []
        for pod in pre.items(pre.pods):
            if pod["spec"].get("nodeName"):
                bound[pod["spec"]["nodeName"]].append(pod)
            else:
                pending.append(pod)
        state = _Pass(nodes, bound, defaultdict(list), pre_emu.clock.now())
        return lambda: [pre._victims(pod, state) for pod in pending]

    best, median = _time(args.rounds, dry_run)
    print(f"preempt dry run ({n} nodes x {k} placeholders at -10, {p} pending): "
          f"best {best * 1000:.0f} ms, median {median * 1000:.0f} ms "
          f"({median / p * 1000:.2f} ms a pending pod)")

    def fresh_bind() -> Callable[[], object]:
        emu, sched = _cluster(n, None, p, k)
        return lambda: sched.reconcile(emu.clock.now())

    best, median = _time(args.rounds, fresh_bind)
    print(f"bind ({n} empty nodes, {p} pending), first pass with its {p} writes: "
          f"best {best * 1000:.0f} ms, median {median * 1000:.0f} ms")


if __name__ == "__main__":
    main()
