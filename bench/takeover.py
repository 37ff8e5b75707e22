"""How long the webhook's replicas go without a leader: takeover after SIGKILL and SIGTERM.

Three `classops serve` processes against a standalone emulator (lease 3 s, renew deadline 2 s,
retry 0.5 s): the leader is killed (the Lease must expire: expected lease + up to 2 retries),
then the next leader gets SIGTERM (it releases the Lease: expected within one retry period).
The test (`tests/runtime/test_serve_processes.py`) asserts who leads and in what order; the
durations are figures, printed here, because a busy machine stretches them.

Run: .venv/bin/python -m bench.takeover [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
from kubernetes import client, config

ROOT = Path(__file__).resolve().parents[1]
DURATION, RENEW, RETRY = 3.0, 2.0, 0.5
NS = "course"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def until(check, timeout: float = 60.0, every: float = 0.01):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not (found := check()):
        if time.monotonic() > deadline:
            raise SystemExit(f"not true after {timeout} s: {check}")
        time.sleep(every)
    return found


def replica(name: str, kubeconfig: Path, work: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    env = {**os.environ, "CLASSOPS_KUBECONFIG": str(kubeconfig), "CLASSOPS_NAMESPACE": NS,
           "CLASSOPS_IDENTITY": name, "CLASSOPS_HOST": "127.0.0.1", "CLASSOPS_PORT": str(port),
           "CLASSOPS_LEASE_DURATION": str(DURATION), "CLASSOPS_RENEW_DEADLINE": str(RENEW),
           "CLASSOPS_RETRY_PERIOD": str(RETRY), "CLASSOPS_WEBHOOK_TOKEN": "bench",
           "CLASSOPS_FUNCTIONS": "tests.runtime.demo_functions",
           "CLASSOPS_TEST_RUNLOG": str(work / "runs.log")}
    log = (work / f"{name}.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "shared.cli.main", "serve"], cwd=ROOT, env=env,
                            stderr=log)

    def ready() -> bool:
        try:
            return requests.get(f"http://127.0.0.1:{port}/readyz", timeout=10).ok
        except requests.RequestException:
            return False

    until(ready)
    return proc, port


def holder(api: client.ApiClient) -> str:
    try:
        spec = client.CoordinationV1Api(api).read_namespaced_lease("classops-leader", NS).spec
    except client.ApiException:
        return ""
    return spec.holder_identity or ""


def one_round(n: int) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        kubeconfig = work / "kubeconfig"
        out = (work / "emulator.out").open("w")  # a file, never a pipe nobody drains
        emu = subprocess.Popen([sys.executable, "-m", "tests.kubeemu", "--port", "0",
                                "--kubeconfig-out", str(kubeconfig)], cwd=ROOT, stdout=out,
                               stderr=subprocess.STDOUT)
        until(lambda: "serving on" in (work / "emulator.out").read_text())
        api = config.new_client_from_config(str(kubeconfig))
        client.CoreV1Api(api).create_namespace({"metadata": {"name": NS}})
        procs = []
        try:
            a, _ = replica(f"a{n}", kubeconfig, work)
            procs.append(a)
            until(lambda: holder(api) == f"a{n}")
            b, _ = replica(f"b{n}", kubeconfig, work)
            c, _ = replica(f"c{n}", kubeconfig, work)
            procs += [b, c]
            killed = time.monotonic()
            a.send_signal(signal.SIGKILL)
            nxt = until(lambda: (h := holder(api)) not in ("", f"a{n}") and h)
            after_kill = time.monotonic() - killed
            last = b if nxt == f"b{n}" else c
            termed = time.monotonic()
            last.send_signal(signal.SIGTERM)
            until(lambda: holder(api) not in ("", nxt))
            after_term = time.monotonic() - termed
            return after_kill, after_term
        finally:
            for proc in procs:
                if proc.poll() is None:
                    proc.kill()
                proc.wait(10)
            api.close()
            emu.terminate()
            emu.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    kills, terms = [], []
    for n in range(args.rounds):
        after_kill, after_term = one_round(n)
        kills.append(after_kill)
        terms.append(after_term)
        print(f"round {n + 1}: after SIGKILL {after_kill:.2f} s "
              f"(expected <= {DURATION + 2 * RETRY:.1f}), after SIGTERM {after_term:.2f} s "
              f"(expected <= {RETRY:.1f} + the SIGTERM's own stop)", flush=True)
    print(f"takeover after SIGKILL: median {statistics.median(kills):.2f} s, "
          f"max {max(kills):.2f} s; after SIGTERM: median {statistics.median(terms):.2f} s, "
          f"max {max(terms):.2f} s")


if __name__ == "__main__":
    main()
