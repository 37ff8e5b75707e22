"""How long `classops plan` takes for the bundled schedule's whole term, table and JSON.

Run: .venv/bin/python bench/plan_term.py  (the target is well under 2 s each, start to finish).
It times the in-process work (load + expand + render, best of 5) and one cold run of the
installed `classops` script (interpreter start and imports included).
"""

from __future__ import annotations

import contextlib
import io
import subprocess
import sys
import time
from pathlib import Path

from shared.cli import main

REPO = Path(__file__).resolve().parents[1]
SCHEDULE = str(REPO / "schedules.yaml")


def best_of(runs: int, argv: list[str]) -> float:
    best = float("inf")
    for _ in range(runs):
        sink = io.StringIO()
        started = time.perf_counter()
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(io.StringIO()):
            assert main(argv) == 0
        best = min(best, time.perf_counter() - started)
    return best


def cold(argv: list[str]) -> float:
    script = Path(sys.executable).parent / "classops"
    started = time.perf_counter()
    subprocess.run([str(script), *argv], check=True, capture_output=True)
    return time.perf_counter() - started


if __name__ == "__main__":
    for output in ("table", "json"):
        argv = ["plan", "--schedule", SCHEDULE, "-o", output]
        print(f"plan -o {output:5}  in-process best of 5: {best_of(5, argv) * 1000:6.1f} ms   "
              f"cold process: {cold(argv) * 1000:6.1f} ms")
