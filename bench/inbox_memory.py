"""What the leader keeps in memory for a full inbox, before it runs the first entry.

Run: .venv/bin/python -m bench.inbox_memory [--entries 500] [--kib 100]
Fills an emulator's inbox with pending entries of ~`kib` KiB each, then builds what the leader
holds while draining: the pending watch's index (wired as `classops serve` wires it) and the
due list. Prints the memory they retain (tracemalloc, the emulator's own allocations left out)
and the traced peak while they were built (the emulator's share included: it runs in-process).
"""

from __future__ import annotations

import argparse
import gc
import json
import time
import tracemalloc
from datetime import UTC, datetime

from kubernetes import client

from shared.ports.kube import Kube
from shared.runtime.inbox.entries import LABEL, STATE, Entry, without_data
from shared.runtime.inbox.store import PAGE, Inbox
from shared.runtime.watching import Target, Watcher
from tests.kubeemu import Emulator

EMULATOR = [tracemalloc.Filter(False, "*tests/kubeemu/*", all_frames=True)]


def retained(now: tracemalloc.Snapshot, base: tracemalloc.Snapshot) -> int:
    diff = now.filter_traces(EMULATOR).compare_to(base.filter_traces(EMULATOR), "filename")
    return sum(stat.size_diff for stat in diff)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=500)
    parser.add_argument("--kib", type=int, default=100)
    args = parser.parse_args()
    emu = Emulator().start()
    api = emu.api_client()
    client.CoreV1Api(api).create_namespace({"metadata": {"name": "bench"}})
    inbox = Inbox(Kube(api), "bench", lambda: datetime.now(UTC))
    body = "x" * (args.kib * 1024)
    for i in range(args.entries):
        event = json.dumps({"specversion": "1.0", "type": "edu.classops.roster.changed",
                            "source": "/lms", "id": f"e-{i}", "data": body})
        inbox.put(Entry("/lms", f"e-{i}", "edu.classops.roster.changed", datetime.now(UTC),
                        event))
    print(f"inbox: {args.entries} pending entries of ~{args.kib} KiB "
          f"({args.entries * args.kib / 1024:.0f} MiB of bodies)")

    tracemalloc.start(30)
    gc.collect()
    base = tracemalloc.take_snapshot()
    tracemalloc.reset_peak()
    watch = Watcher(Kube(api), Target("v1", "ConfigMap", "bench",
                                      f"{LABEL}=event,{STATE}=pending"),
                    lambda *_: None, trim=without_data, page=PAGE).start()
    while watch.relists < 1:
        time.sleep(0.05)
    due = inbox.due()
    gc.collect()
    now = tracemalloc.take_snapshot()
    _, peak = tracemalloc.get_traced_memory()
    assert len(due) == len(watch.known.objects) == args.entries
    print(f"retained by the leader before the first run (watch index + due list): "
          f"{retained(now, base) / 2**20:.1f} MiB")
    print(f"traced peak while building them (the emulator's share included): "
          f"{peak / 2**20:.1f} MiB")
    watch.stop()
    emu.stop()


if __name__ == "__main__":
    main()
