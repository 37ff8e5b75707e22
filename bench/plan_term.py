"""How long `classops plan` takes for the bundled schedule's whole term, table and JSON, and
how long a fresh `classops validate` takes.

Run: .venv/bin/python bench/plan_term.py  (the target is well under 2 s each, start to finish).
It times the in-process work (load + expand + render, best of 5) and the installed `classops`
script as fresh processes (interpreter start and imports included; median of 7, no cluster in
the environment, as an operator's laptop before term).
"""

from __future__ import annotations

import contextlib
import io
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from shared.cli.main import main

REPO = Path(__file__).resolve().parents[1]
SCHEDULE = str(REPO / "schedules.yaml")
COLD_RUNS = 7


def best_of(runs: int, argv: list[str]) -> float:
    best = float("inf")
    for _ in range(runs):
        sink = io.StringIO()
        started = time.perf_counter()
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(io.StringIO()):
            assert main(argv) == 0
        best = min(best, time.perf_counter() - started)
    return best


def cold(argv: list[str], runs: int = COLD_RUNS) -> float:
    """Median wall time of `classops ARGV` as a fresh process."""
    script = Path(sys.executable).parent / "classops"
    env = {k: v for k, v in os.environ.items() if k != "KUBECONFIG"}
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([str(script), *argv], check=True, capture_output=True, env=env)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


if __name__ == "__main__":
    for output in ("table", "json"):
        argv = ["plan", "--schedule", SCHEDULE, "-o", output]
        print(f"plan -o {output:5}  in-process best of 5: {best_of(5, argv) * 1000:6.1f} ms   "
              f"fresh process, median of {COLD_RUNS}: {cold(argv) * 1000:6.1f} ms")
    argv = ["validate", "--schedule", SCHEDULE]
    print(f"validate         in-process best of 5: {best_of(5, argv) * 1000:6.1f} ms   "
          f"fresh process, median of {COLD_RUNS}: {cold(argv) * 1000:6.1f} ms")
