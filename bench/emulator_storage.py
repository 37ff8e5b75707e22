"""What the emulator's storage and Job controllers cost: a Job run end to end, a snapshot of a
folder of files and its restore.

Run: .venv/bin/python -m bench.emulator_storage [--jobs 20] [--files 200] [--kib 64]
Prints one line per figure; the README of bench/ keeps the last measured ones. Wall time, with
the emulated clock frozen (kubelet timings 0), as the tests run.
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

from kubernetes import client

from tests.kubeemu import Emulator
from tests.wait import until


def _done(batch: client.BatchV1Api, name: str) -> bool:
    conds = batch.read_namespaced_job(name, "bench").status.conditions or []
    return any(c.type == "Complete" and c.status == "True" for c in conds)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=20)
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--kib", type=int, default=64)
    args = parser.parse_args()
    emu = Emulator(controllers=("scheduler", "kubelet", "volumes", "snapshots", "jobs"),
                   controller_options={"kubelet": {"start_seconds": 0, "pull_seconds": 0},
                                       "volumes": {"binding_mode": "Immediate"}})
    emu.clock.set_rate(0)
    emu.start()
    api = emu.api_client()
    core, batch = client.CoreV1Api(api), client.BatchV1Api(api)
    custom = client.CustomObjectsApi(api)
    core.create_namespace({"metadata": {"name": "bench"}})
    capacity = {"cpu": "64", "memory": "256Gi", "pods": "500"}
    core.create_node({"metadata": {"name": "n1"}})
    core.patch_node_status("n1", {"status": {"capacity": capacity, "allocatable": capacity,
                                             "conditions": [{"type": "Ready", "status": "True"}]}})

    def job(name: str) -> dict[str, Any]:
        return {"metadata": {"name": name}, "spec": {"template": {"spec": {
            "restartPolicy": "Never", "containers": [{
                "name": "main", "image": "python", "command": ["python", "-c", "pass"]}]}}}}

    singles = []
    for i in range(3):
        started = time.perf_counter()
        batch.create_namespaced_job("bench", job(f"one-{i}"))
        until(lambda n=f"one-{i}": _done(batch, n), timeout=120, every=0.01)
        singles.append(time.perf_counter() - started)
    print(f"one Job (python -c pass), create to Complete: {statistics.median(singles):.2f} s "
          "(median of 3)")
    started = time.perf_counter()
    for i in range(args.jobs):
        batch.create_namespaced_job("bench", job(f"many-{i}"))
    for i in range(args.jobs):
        until(lambda n=f"many-{i}": _done(batch, n), timeout=600, every=0.05)
    took = time.perf_counter() - started
    print(f"{args.jobs} Jobs at once (4 processes at a time): {took:.2f} s, "
          f"{args.jobs / took:.1f} Jobs/s")

    core.create_namespaced_persistent_volume_claim("bench", {
        "metadata": {"name": "home"}, "spec": {"accessModes": ["ReadWriteOnce"],
                                               "resources": {"requests": {"storage": "10Gi"}}}})
    until(lambda: core.read_namespaced_persistent_volume_claim("home", "bench").status.phase
          == "Bound", timeout=60)
    folder = emu.controller("volumes").folder("bench", "home")
    blob = b"x" * (args.kib * 1024)
    for i in range(args.files):
        (folder / f"f{i:04d}.bin").write_bytes(blob)
    size = args.files * args.kib / 1024
    started = time.perf_counter()
    custom.create_namespaced_custom_object("snapshot.storage.k8s.io", "v1", "bench",
                                           "volumesnapshots", {
        "apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshot",
        "metadata": {"name": "snap"}, "spec": {"source": {"persistentVolumeClaimName": "home"}}})
    until(lambda: (custom.get_namespaced_custom_object(
        "snapshot.storage.k8s.io", "v1", "bench", "volumesnapshots", "snap").get("status") or {})
        .get("readyToUse"), timeout=120, every=0.01)
    print(f"snapshot of {args.files} files, {size:.1f} MiB, create to readyToUse: "
          f"{time.perf_counter() - started:.2f} s")
    started = time.perf_counter()
    core.create_namespaced_persistent_volume_claim("bench", {
        "metadata": {"name": "back"}, "spec": {
            "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "10Gi"}},
            "dataSource": {"kind": "VolumeSnapshot", "apiGroup": "snapshot.storage.k8s.io",
                           "name": "snap"}}})
    until(lambda: core.read_namespaced_persistent_volume_claim("back", "bench").status.phase
          == "Bound", timeout=120, every=0.01)
    print(f"restore into a new claim, create to Bound: {time.perf_counter() - started:.2f} s")
    api.close()
    emu.stop()


if __name__ == "__main__":
    main()
