"""How fast the emulator answers what classops does most: list 1,000 pods, page them, watch.

Run: .venv/bin/python -m bench.emulator_lists [--pods 1000]
Prints one line per figure; the README of bench/ keeps the last measured ones.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import threading
import time

from kubernetes import client, watch

from tests.kubeemu import Emulator


def timed(fn, repeat: int = 5) -> float:  # type: ignore[no-untyped-def]
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - started)
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pods", type=int, default=1000)
    args = parser.parse_args()
    emu = Emulator().start()
    core = client.CoreV1Api(emu.api_client())
    core.create_namespace({"metadata": {"name": "bench"}})
    started = time.perf_counter()
    for i in range(args.pods):
        core.create_namespaced_pod("bench", {
            "metadata": {"name": f"jupyter-user{i:04d}", "labels": {
                "component": "singleuser-server", "hub.jupyter.org/username": f"user{i:04d}"}},
            "spec": {"containers": [{"name": "notebook", "image": "jupyter/base:2026"}]}})
    create = (time.perf_counter() - started) / args.pods
    print(f"create: {create * 1000:.2f} ms per pod (official client, one connection)")

    def list_all() -> None:
        assert len(core.list_namespaced_pod("bench").items) == args.pods

    def list_raw() -> None:
        core.list_namespaced_pod("bench", _preload_content=False).data  # noqa: B018

    def list_paged() -> None:
        token, seen = None, 0
        while True:
            page = core.list_namespaced_pod("bench", limit=100, _continue=token)
            seen += len(page.items)
            token = page.metadata._continue
            if not token:
                break
        assert seen == args.pods

    print(f"list {args.pods} pods, typed models: {timed(list_all) * 1000:.0f} ms (median of 5)")
    print(f"list {args.pods} pods, raw JSON:     {timed(list_raw) * 1000:.0f} ms (median of 5)")
    print(f"list {args.pods} pods, 100 a page:   {timed(list_paged) * 1000:.0f} ms (median of 5)")
    rv = core.list_namespaced_pod("bench", limit=1).metadata.resource_version
    got = []

    def consume() -> None:
        for ev in watch.Watch().stream(core.list_namespaced_pod, "bench", resource_version=rv,
                                       timeout_seconds=30):
            got.append(ev)
            if len(got) == args.pods:
                return

    reader = threading.Thread(target=consume)
    reader.start()
    started = time.perf_counter()
    for i in range(args.pods):
        core.patch_namespaced_pod(f"jupyter-user{i:04d}", "bench",
                                  {"metadata": {"labels": {"seen": "yes"}}})
    reader.join()
    elapsed = time.perf_counter() - started
    print(f"watch: {args.pods} MODIFIED events delivered in {elapsed:.2f} s "
          f"({args.pods / elapsed:.0f}/s, writer-bound)")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of this process (emulator + client): {rss:.0f} MiB")
    emu.stop()


if __name__ == "__main__":
    main()
