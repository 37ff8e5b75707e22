"""Two (then three) `classops serve` processes against a standalone emulator: only the leader
acts; after SIGKILL of the leader another leads once the Lease expired; after SIGTERM the Lease
is released, so a follower leads at once although the Lease it had seen runs for 10 minutes.

No wall-clock bound: what is asserted is order and outcome (who holds the Lease, who ran what).
The takeover times are figures in `bench/takeover.py`.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from kubernetes import client, config

from shared.events import ROSTER_CHANGED
from tests.kubeemu.remote import RemoteControl
from tests.wait import until

ROOT = Path(__file__).resolve().parents[2]
DURATION, RENEW, RETRY = 3.0, 2.0, 0.5
LONG = 600.0  # a Lease no test waits out: taking it over means it was released
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
    proc.wait(60)


class Replica:
    def __init__(self, name: str, kubeconfig: Path, runlog: Path,
                 duration: float = DURATION) -> None:
        self.name, self.port = name, free_port()
        env = {**os.environ, "CLASSOPS_KUBECONFIG": str(kubeconfig), "CLASSOPS_NAMESPACE": NS,
               "CLASSOPS_IDENTITY": name, "CLASSOPS_HOST": "127.0.0.1",
               "CLASSOPS_PORT": str(self.port), "CLASSOPS_LEASE_DURATION": str(duration),
               "CLASSOPS_RENEW_DEADLINE": str(RENEW), "CLASSOPS_RETRY_PERIOD": str(RETRY),
               "CLASSOPS_FUNCTIONS": "tests.runtime.demo_functions",
               "CLASSOPS_TEST_RUNLOG": str(runlog)}
        env.pop("CLASSOPS_WEBHOOK_TOKEN", None)  # from the Secret
        self.log = open(runlog.parent / f"{name}.log", "w")  # noqa: SIM115
        self.proc = subprocess.Popen([sys.executable, "-m", "shared.cli.main", "serve"], cwd=ROOT,
                                     env=env, stderr=self.log)

    def ready(self) -> bool:
        try:
            return requests.get(f"http://127.0.0.1:{self.port}/readyz", timeout=10).ok
        except requests.RequestException:  # not listening yet, or too busy to answer
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
            self.proc.wait(60)
        self.log.close()


def lease(api: client.ApiClient) -> client.V1LeaseSpec | None:
    try:
        return client.CoordinationV1Api(api).read_namespaced_lease("classops-leader", NS).spec
    except client.ApiException:
        return None


def holder(api: client.ApiClient) -> str:
    spec = lease(api)
    return (spec.holder_identity or "") if spec is not None else ""


def lines(runlog: Path) -> list[list[str]]:
    return [line.split() for line in runlog.read_text().splitlines()] if runlog.exists() else []


def test_only_the_leader_acts_and_takes_over(
        emulator: tuple[client.ApiClient, Path], tmp_path: Path) -> None:
    api, kubeconfig = emulator
    runlog = tmp_path / "runs.log"
    a = Replica("a", kubeconfig, runlog)
    replicas = [a]
    try:
        until(a.ready)
        until(lambda: holder(api) == "a")
        # b and c hold the Lease for LONG once theirs: only a release hands it on in this test.
        b = Replica("b", kubeconfig, runlog, duration=LONG)
        replicas.append(b)
        until(b.ready)

        # A webhook event sent to the follower, and a watched object: only the leader acts.
        assert b.post("p-1") == 202 and a.post("p-1") == 202
        core = client.CoreV1Api(api)
        core.create_namespaced_config_map(NS, {"metadata": {"name": "w", "labels": {"demo": "1"}}})
        until(lambda: any(r[0] == "roster" for r in lines(runlog))
              and any(r[:4] == ["watch", "a", "added", "w"] for r in lines(runlog)))
        # Give a wrong second actor its chance, counted in the elector's own rounds (b tries
        # the Lease as often as a renews it), not in wall time: three renewals of a's.
        renewals: set[object] = set()
        until(lambda: renewals.add((spec := lease(api)) and spec.renew_time)
              or len(renewals - {None}) >= 3)
        assert [r for r in lines(runlog) if r[0] == "roster"] == [["roster", "a", "p-1"]]
        assert {r[1] for r in lines(runlog)} == {"a"}
        made = core.read_namespaced_config_map("roster-" + _digest("p-1"), NS)
        assert made.data["by"] == "a"
        spec = lease(api)
        assert spec is not None and (spec.holder_identity, spec.lease_transitions) == ("a", 0)

        # SIGKILL of the leader: nobody releases; b leads once a's Lease (DURATION) expired.
        a.proc.send_signal(signal.SIGKILL)
        until(lambda: holder(api) == "b")
        spec = lease(api)
        assert spec is not None and spec.lease_transitions == 1

        # The new leader drains what arrived meanwhile, once.
        assert b.post("p-2") == 202
        until(lambda: ["roster", "b", "p-2"] in lines(runlog))

        # SIGTERM of the leader: b releases the Lease it holds for LONG; c leads at its next
        # try, which waiting out the Lease could not give within this test's deadline.
        c = Replica("c", kubeconfig, runlog, duration=LONG)
        replicas.append(c)
        until(c.ready)
        until(lambda: (spec := lease(api)) is not None and spec.lease_duration_seconds == LONG)
        b.proc.send_signal(signal.SIGTERM)
        until(lambda: holder(api) == "c")
        assert b.proc.wait(60) == 0
        spec = lease(api)
        assert spec is not None and spec.lease_transitions == 2
        assert [r for r in lines(runlog) if r[0] == "roster"] == [
            ["roster", "a", "p-1"], ["roster", "b", "p-2"]]
    finally:
        for replica in replicas:
            replica.end()


def in_flight(replica: Replica) -> float:
    text = requests.get(f"http://127.0.0.1:{replica.port}/metrics", timeout=30).text
    line = next(x for x in text.splitlines()
                if x.startswith("classops_http_requests_in_flight "))
    return float(line.split()[1])


def _digest(event_id: str) -> str:
    import hashlib

    return hashlib.sha256(event_id.encode()).hexdigest()[:10]


def test_sigterm_answers_the_requests_in_flight_and_logs_only_json(
        emulator: tuple[client.ApiClient, Path], tmp_path: Path) -> None:
    api, kubeconfig = emulator
    remote = RemoteControl(api.configuration.host)
    a = Replica("a", kubeconfig, tmp_path / "runs.log", duration=LONG)
    try:
        until(a.ready)
        until(lambda: holder(api) == "a")
        # Each inbox write now takes 3 s: a POST is in flight when SIGTERM comes.
        remote.add_latency(3.0, "create", f"/namespaces/{NS}/configmaps$")
        answers: list[int] = []
        poster = threading.Thread(target=lambda: answers.append(a.post("late-1")))
        poster.start()
        until(lambda: in_flight(a) >= 2)  # the POST and this GET
        a.proc.send_signal(signal.SIGTERM)
        poster.join(60)
        assert answers == [202]  # answered, not cut off
        assert a.proc.wait(60) == 0
        assert holder(api) == ""  # released, after the answer
        kept = client.CoreV1Api(api).list_namespaced_config_map(
            NS, label_selector="classops.edu/inbox=event").items
        assert len(kept) == 1
    finally:
        remote.clear_faults()
        a.end()
    text = (tmp_path / "a.log").read_text()
    lines = [json.loads(line) for line in text.splitlines()]  # every line JSON, none coloured
    assert "\x1b[" not in text and "process-token" not in text
    assert any(line.get("event_id") == "late-1" and line.get("status") == 202
               for line in lines)
