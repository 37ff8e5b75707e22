"""Where `classops status` and `classops check` spend an operator's time, on a course namespace.

An in-process emulator (HTTP on 127.0.0.1) holds the rendered hub stack and `--students`
students (a PVC, a Running `singleuser-server` pod and a VolumeSnapshot each). Measured:

- each command as a fresh `classops` process (what the operator waits for), median of `--runs`;
- the same in-process, with the import of the command's modules apart from the work;
- the requests each command sends (the emulator's request log), by verb;
- with `--profile`, the top of cProfile's cumulative listing for one in-process run.

Run: .venv/bin/python -m bench.status_check [--students 300] [--runs 5] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from tests.kubeemu import Emulator

ROOT = Path(__file__).resolve().parents[1]
NS = "cs101"
SCHEDULE = ROOT / "schedules.yaml"


def populate(emu: Emulator, students: int) -> None:
    from shared.ports.kube import Kube
    from shared.stack.manifests import render, settings_of
    from shared.timetable import load

    kube = Kube(emu.api_client())
    kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    settings = settings_of(load(SCHEDULE))
    import dataclasses

    settings = dataclasses.replace(settings, namespace=NS)
    for manifest in render(settings, SCHEDULE.read_text()):
        kube.apply(manifest, "classops")
    storage = {"component": "singleuser-storage", "app": "jupyterhub"}
    for i in range(students):
        user = f"student{i:04d}"
        kube.create({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {
            "name": f"claim-{user}", "namespace": NS, "labels": storage,
            "annotations": {"hub.jupyter.org/username": user}},
            "spec": {"accessModes": ["ReadWriteOnce"],
                     "resources": {"requests": {"storage": "10Gi"}}}})
        kube.create({"apiVersion": "v1", "kind": "Pod", "metadata": {
            "name": f"jupyter-{user}", "namespace": NS, "labels": {
                "component": "singleuser-server", "app": "jupyterhub",
                "hub.jupyter.org/username": user}},
            "spec": {"containers": [{"name": "notebook", "image": "ghcr.io/cs101/nb:2026"}]}})
        kube.create({"apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshot",
                     "metadata": {"name": f"claim-{user}-nightly", "namespace": NS,
                                  "labels": storage},
                     "spec": {"source": {"persistentVolumeClaimName": f"claim-{user}"}}})
    kube.close()


def fresh(command: str, kubeconfig: Path, runs: int) -> tuple[list[float], list[float]]:
    """Wall seconds and CPU seconds (user + system) of each fresh process: on a shared machine
    the CPU time is the steadier figure (wall time includes waiting for a core)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLASSOPS_")}
    env |= {"CLASSOPS_NAMESPACE": NS, "CLASSOPS_KUBECONFIG": str(kubeconfig)}
    times, cpu = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "shared.cli.main", command, "--schedule",
                               str(SCHEDULE), "--kubeconfig", str(kubeconfig),
                               "--namespace", NS], cwd=ROOT, env=env, capture_output=True,
                              text=True, check=False)
        times.append(time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        if done.returncode not in (0, 1):
            raise SystemExit(f"{command} failed: {done.stderr[-2000:]}")
    return times, cpu


def in_process(command: str, emu: Emulator, profile: bool) -> tuple[float, float, str]:
    """(seconds importing the command's modules, seconds of work, profile listing)."""
    started = time.perf_counter()
    from shared.cli import inspection_group as inspecting
    from shared.stack import probes, status  # noqa: F401  (what the commands import)
    imported = time.perf_counter() - started
    args = argparse.Namespace(schedule=str(SCHEDULE), output="table", namespace=NS,
                              kubeconfig=None, api_client=emu.api_client())
    func = inspecting.cmd_status if command == "status" else inspecting.cmd_check
    profiler = cProfile.Profile() if profile else None
    out = io.StringIO()
    from contextlib import redirect_stdout

    started = time.perf_counter()
    with redirect_stdout(out):
        if profiler is not None:
            profiler.runcall(func, args)
        else:
            func(args)
    work = time.perf_counter() - started
    listing = ""
    if profiler is not None:
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(25)
        listing = text.getvalue()
    return imported, work, listing


def requests_of(command: str, emu: Emulator) -> Counter[str]:
    emu.clear_requests()
    args = argparse.Namespace(schedule=str(SCHEDULE), output="table", namespace=NS,
                              kubeconfig=None, api_client=emu.api_client())
    from contextlib import redirect_stdout

    from shared.cli import inspection_group as inspecting

    with redirect_stdout(io.StringIO()):
        (inspecting.cmd_status if command == "status" else inspecting.cmd_check)(args)
    return Counter(r.verb for r in emu.requests())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--students", type=int, default=300)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    emu = Emulator().start()
    started = time.perf_counter()
    populate(emu, args.students)
    print(f"namespace {NS}: the rendered stack and {args.students} students "
          f"(populated in {time.perf_counter() - started:.1f} s)", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        kubeconfig = emu.write_kubeconfig(Path(tmp) / "kubeconfig", NS)
        results: dict[str, Any] = {}
        for command in ("status", "check"):
            times, cpu = fresh(command, kubeconfig, args.runs)
            results[command] = times
            print(f"classops {command} (fresh process): wall median {statistics.median(times):.2f}"
                  f" s (min {min(times):.2f}, max {max(times):.2f}); CPU median "
                  f"{statistics.median(cpu):.2f} s (min {min(cpu):.2f})", flush=True)
    for command in ("status", "check"):
        imported, work, listing = in_process(command, emu, args.profile)
        sent = requests_of(command, emu)
        print(f"classops {command} in-process: imports {imported:.2f} s (first time only), "
              f"work {work:.3f} s; requests {sum(sent.values())} "
              f"({', '.join(f'{v} {k}' for k, v in sorted(sent.items()))})", flush=True)
        if listing:
            print(listing)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import kubernetes.client"], check=True)
    bare = time.perf_counter() - started
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    print(f"a fresh python: {time.perf_counter() - started:.2f} s; importing kubernetes.client "
          f"in one (kubernetes_validate installed, not blocked): {bare:.2f} s")
    print(f"load average while measuring: {', '.join(f'{x:.1f}' for x in os.getloadavg())} "
          f"on {os.cpu_count()} cores")
    emu.stop()


if __name__ == "__main__":
    main()
