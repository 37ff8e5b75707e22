"""The term ledger on real S3 (SeaweedFS) and the emulator: every action outcome of any
capability lands in it through the executor's sink, secrets never do, failures reach the
configured webhook (a local HTTP server), and concurrent batches never overwrite each other."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from shared.actions.applying import Ports
from shared.actions.executor import Executor
from shared.actions.model import CreateObject, DeleteObject, ScaleWorkload
from shared.ledger.notify import Webhook
from shared.ledger.recording import LedgerSink
from shared.ledger.records import Record
from shared.ledger.storage import Ledger
from shared.metrics import Metrics
from shared.ports.kube import Kube as KubePort
from shared.ports.s3 import S3
from tests.conftest import Kube
from tests.servers.fixtures import S3Bucket

SECRET_VALUE = "s3cr3t-never-in-the-ledger"


@pytest.fixture
def webhook() -> Iterator[list[dict[str, Any]]]:
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append(json.loads(body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    received.append({"url": f"http://127.0.0.1:{server.server_port}/hook"})
    yield received
    server.shutdown()
    server.server_close()


def test_every_outcome_is_recorded_without_secret_values(
        kube: Kube, s3: S3Bucket, webhook: list[dict[str, Any]]) -> None:
    url = webhook.pop(0)["url"]
    port = KubePort(kube.emu.api_client())
    store = S3(s3.client, s3.name)
    clock = kube.emu.clock.now
    ledger = Ledger(port, kube.namespace, store, "cs101", "fall-2026", clock,
                    Webhook(url, "cs101", "fall-2026"))
    executor = Executor(Ports(port), Metrics(), clock, sinks=[LedgerSink(ledger, clock)])
    secret = {"apiVersion": "v1", "kind": "Secret",
              "metadata": {"name": "hub-token", "namespace": kube.namespace},
              "stringData": {"token": SECRET_VALUE}}
    results = executor.execute([
        CreateObject(secret),
        ScaleWorkload(kube.namespace, "user-placeholder", 3),  # no such StatefulSet: fails
        DeleteObject("v1", "ConfigMap", "never-there", kube.namespace),
    ], "warmup/lecture@2026-10-12T09:40:00-04:00")
    assert [r.outcome for r in results] == ["changed", "failed", "unchanged"]

    records = list(ledger.records())
    assert [(r.action, r.outcome) for r in records] == [
        ("CreateObject", "changed"), ("ScaleWorkload", "failed"), ("DeleteObject", "unchanged")]
    assert all(r.event_id == "warmup/lecture@2026-10-12T09:40:00-04:00" for r in records)
    raw = b"".join(s3.client.get_object(Bucket=s3.name, Key=o["Key"])["Body"].read()
                   for o in s3.client.list_objects_v2(Bucket=s3.name)["Contents"])
    assert SECRET_VALUE.encode() not in raw and b"hub-token" in raw
    summary = ledger.summary()
    assert summary["counts"] == {"create/changed": 1, "scale/failed": 1,
                                 "delete/unchanged": 1}
    [hook] = webhook
    assert hook["course"] == "cs101" and [f["action"] for f in hook["failures"]] == \
        ["ScaleWorkload"]
    assert SECRET_VALUE not in json.dumps(hook)


@pytest.mark.parametrize("writers", ["one ledger, 8 threads", "8 replicas"])
def test_concurrent_batches_never_overwrite_each_other(kube: Kube, s3: S3Bucket,
                                                       writers: str) -> None:
    shared: list[Ledger] = []

    def replica() -> Ledger:  # a ledger of its own each: writers in different processes
        if writers.startswith("one") and shared:
            return shared[0]  # the executor's parallel actions: one ledger, its lock
        shared.append(Ledger(KubePort(kube.emu.api_client()), kube.namespace,
                             S3(s3.client, s3.name), "cs101", "t",
                             lambda: datetime(2026, 10, 12, 7, tzinfo=UTC)))  # one instant
        return shared[-1]

    def batch(i: int) -> None:
        replica().append([Record(datetime(2026, 10, 12, 7, tzinfo=UTC), "copy", "verified",
                              f"archive {i}", "verified", user=f"student-{i}",
                              refs={"key": f"cs101/t/student-{i}/x.tar.gz"})])

    threads = [threading.Thread(target=batch, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ledger = replica()
    assert sorted(r.user for r in ledger.records()) == sorted(f"student-{i}" for i in range(8))
    users = ledger.summary()["users"]  # folded under 409s, one writer at a time
    assert {u: v["copy"]["ref"] for u, v in users.items()} == {
        f"student-{i}": f"cs101/t/student-{i}/x.tar.gz" for i in range(8)}
