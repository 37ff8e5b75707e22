"""Two (then three) `classops serve` processes against a standalone emulator: only the leader
acts, and the takeover bounds hold: after SIGKILL of the leader another leads within lease
duration + 2 x retry period, after SIGTERM (which releases the Lease) within one retry period.

Measured times are printed (`pytest -s`) for the report; the bounds are the behaviour tested.
"""

from __future__ import annotations

import base64
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from kubernetes import client, config

from shared.events import ROSTER_CHANGED
from tests.wait import until

ROOT = Path(__file__).resolve().parents[2]
DURATION, RENEW, RETRY = 3.0, 2.0, 0.5
SLACK = 0.3  # HTTP round trips and this test's polling, not the elector's timing
NS = "course"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[tuple[client.ApiClient, Path]]:
    kubeconfig = tmp_path / "kubeconfig"
    errors = tmp_path / "emulator.err"
    with errors.open("w") as err:
        proc = subprocess.Popen([sys.executable, "-m", "tests.kubeemu", "--port", "0",
                                 "--kubeconfig-out", str(kubeconfig), "--bookmark-interval",
                                 "1"], cwd=ROOT, stdout=subprocess.PIPE, stderr=err, text=True)
    assert proc.stdout is not None
    first = proc.stdout.readline()
    assert "serving on" in first, f"the emulator did not start: {errors.read_text()[-2000:]}"
    api = config.new_client_from_config(str(kubeconfig))
    core = client.CoreV1Api(api)
    core.create_namespace({"metadata": {"name": NS}})
    token = base64.b64encode(b"process-token").decode()
    core.create_namespaced_secret(NS, {"metadata": {"name": "classops-webhook"},
                                       "data": {"token": token}})
    yield api, kubeconfig
    api.close()
    proc.terminate()
    proc.wait(10)


class Replica:
    def __init__(self, name: str, kubeconfig: Path, runlog: Path) -> None:
        self.name, self.port = name, free_port()
        env = {**os.environ, "CLASSOPS_KUBECONFIG": str(kubeconfig), "CLASSOPS_NAMESPACE": NS,
               "CLASSOPS_IDENTITY": name, "CLASSOPS_HOST": "127.0.0.1",
               "CLASSOPS_PORT": str(self.port), "CLASSOPS_LEASE_DURATION": str(DURATION),
               "CLASSOPS_RENEW_DEADLINE": str(RENEW), "CLASSOPS_RETRY_PERIOD": str(RETRY),
               "CLASSOPS_FUNCTIONS": "tests.runtime.demo_functions",
               "CLASSOPS_TEST_RUNLOG": str(runlog)}
        env.pop("CLASSOPS_WEBHOOK_TOKEN", None)  # from the Secret
        self.log = open(runlog.parent / f"{name}.log", "w")  # noqa: SIM115
        self.proc = subprocess.Popen([sys.executable, "-m", "shared.cli.main", "serve"], cwd=ROOT,
                                     env=env, stderr=self.log)

    def ready(self) -> bool:
        try:
            return requests.get(f"http://127.0.0.1:{self.port}/readyz", timeout=1).ok
        except requests.ConnectionError:
            return False

    def post(self, event_id: str) -> int:
        headers = {"ce-id": event_id, "ce-source": "/lms", "ce-type": ROSTER_CHANGED,
                   "ce-specversion": "1.0", "ce-time": "2026-09-01T10:00:00Z",
                   "Authorization": "Bearer process-token"}
        return requests.post(f"http://127.0.0.1:{self.port}/", json={"size": 5},
                             headers=headers, timeout=10).status_code

    def end(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.log.close()


def holder(api: client.ApiClient) -> str:
    try:
        lease = client.CoordinationV1Api(api).read_namespaced_lease("classops-leader", NS)
    except client.ApiException:
        return ""
    return lease.spec.holder_identity or ""


def lines(runlog: Path) -> list[list[str]]:
    return [line.split() for line in runlog.read_text().splitlines()] if runlog.exists() else []


def test_only_the_leader_acts_and_takeover_is_bounded(
        emulator: tuple[client.ApiClient, Path], tmp_path: Path) -> None:
    api, kubeconfig = emulator
    runlog = tmp_path / "runs.log"
    a = Replica("a", kubeconfig, runlog)
    replicas = [a]
    try:
        until(a.ready, timeout=20)
        until(lambda: holder(api) == "a")
        b = Replica("b", kubeconfig, runlog)
        replicas.append(b)
        until(b.ready, timeout=20)

        # A webhook event sent to the follower, and a watched object: only the leader acts.
        assert b.post("p-1") == 202 and a.post("p-1") == 202
        core = client.CoreV1Api(api)
        core.create_namespaced_config_map(NS, {"metadata": {"name": "w", "labels": {"demo": "1"}}})
        until(lambda: any(r[0] == "roster" for r in lines(runlog))
              and any(r[:4] == ["watch", "a", "added", "w"] for r in lines(runlog)))
        time.sleep(2 * RETRY)  # give a wrong second actor the time to show itself
        assert [r for r in lines(runlog) if r[0] == "roster"] == [["roster", "a", "p-1"]]
        assert {r[1] for r in lines(runlog)} == {"a"}
        made = core.read_namespaced_config_map("roster-" + _digest("p-1"), NS)
        assert made.data["by"] == "a"

        # SIGKILL of the leader: b leads within lease duration + 2 x retry period.
        killed = time.monotonic()
        a.proc.send_signal(signal.SIGKILL)
        until(lambda: holder(api) == "b", timeout=DURATION + 2 * RETRY + 5, every=0.02)
        after_kill = time.monotonic() - killed
        print(f"\ntakeover after SIGKILL: {after_kill:.2f} s "
              f"(bound {DURATION + 2 * RETRY:.2f} s)")
        assert after_kill <= DURATION + 2 * RETRY + SLACK

        # The new leader drains what arrived meanwhile, once.
        assert b.post("p-2") == 202
        until(lambda: ["roster", "b", "p-2"] in lines(runlog))

        # SIGTERM of the leader: the Lease is released and c leads within one retry period.
        c = Replica("c", kubeconfig, runlog)
        replicas.append(c)
        until(c.ready, timeout=20)
        termed = time.monotonic()
        b.proc.send_signal(signal.SIGTERM)
        released = until(lambda: holder(api) != "b" and time.monotonic(), every=0.01)
        until(lambda: holder(api) == "c", timeout=5, every=0.01)
        after_release = time.monotonic() - released
        print(f"takeover after SIGTERM: {time.monotonic() - termed:.2f} s from the signal, "
              f"{after_release:.2f} s from the release (bound {RETRY:.2f} s)")
        assert b.proc.wait(10) == 0
        assert after_release <= RETRY + SLACK
        assert [r for r in lines(runlog) if r[0] == "roster"] == [
            ["roster", "a", "p-1"], ["roster", "b", "p-2"]]
    finally:
        for replica in replicas:
            replica.end()


def _digest(event_id: str) -> str:
    import hashlib

    return hashlib.sha256(event_id.encode()).hexdigest()[:10]
