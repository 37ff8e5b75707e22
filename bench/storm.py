"""What a student storm costs here: the course's hub with KubeSpawner, N students, wall time, RSS.

Run: .venv/bin/python -m bench.storm [--students 20 200] [--rate 10] [--pull 60]
For each N: a fresh emulator and hub (`tests/servers/kubehub.py`), enough 8-CPU user nodes for
every student (0.5 CPU each), then N students on the default arrival curve (80 % within 5
emulated minutes). Prints the hub's start time, the storm's wall time, the wait distributions
and the resident memory of the hub, the proxy and this process (emulator + driver).
"""

from __future__ import annotations

import argparse
import math
import resource
import tempfile
import time
from pathlib import Path

from tests.servers.kubehub import kube_hub_running


def _mb(size: float) -> str:
    return f"{size / 2**20:.0f} MiB"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--students", type=int, nargs="+", default=[20, 200])
    parser.add_argument("--rate", type=float, default=10.0)
    parser.add_argument("--pull", type=float, default=60.0, help="first image pull, emulated s")
    args = parser.parse_args()
    for n in args.students:
        with tempfile.TemporaryDirectory() as tmp:
            began = time.monotonic()
            with kube_hub_running(Path(tmp)) as hub:
                up = time.monotonic() - began
                for i in range(math.ceil(n / 16)):
                    hub.add_node(f"user-{i + 1}")
                kubelet = hub.emu.controller("kubelet")
                kubelet.pull_seconds, kubelet.start_seconds = args.pull, 5
                storm = hub.storm(n, rate=args.rate)
                rss = hub.server.rss_bytes()
                print(f"hub + proxy up in {up:.1f} s "
                      f"(hub alone {hub.server.startup_seconds:.1f} s)")
                print(storm.summary(f"{n} students, {len(hub.nodes)} nodes"))
                print(f"  RSS: hub {_mb(rss['jupyterhub'])}, proxy "
                      f"{_mb(rss['configurable-http-proxy'])}, emulator + driver "
                      f"{_mb(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)} (peak)")


if __name__ == "__main__":
    main()
