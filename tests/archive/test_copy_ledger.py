"""A batch's copy Job in the term ledger: each student of the batch gets their own copy record
with their own outcome and archive key (one student's copy failing on the wire, for real,
through a loopback proxy in front of SeaweedFS), as `classops history USER` and the ledger's
summary ("newest copy" per student) show them."""

from __future__ import annotations

import base64
import json
import logging
from pathlib import Path
from urllib.parse import unquote

import pytest
from cloudevents.core.v1.event import CloudEvent

from shared.actions.applying import Ports
from shared.actions.executor import Executor
from shared.archive.layout import Owner, Place, stamp
from shared.archive.restoring import find
from shared.cli.main import main
from shared.events import BACKUP_COPY, typed
from shared.handlers.context import Context
from shared.handlers.dispatching import dispatch
from shared.handlers.readers import EmptyHub
from shared.handlers.registry import load
from shared.ledger.recording import LedgerSink, open_ledger
from shared.metrics import Metrics
from shared.ports.kube import Kube
from shared.settings import Settings
from shared.stack.admin import SCHEDULE_CONFIGMAP, SCHEDULE_KEY
from tests.emulator.conftest import Cluster, cluster  # noqa: F401  (the fixture)
from tests.servers.faults import FaultProxy, Request, Verdict
from tests.servers.fixtures import S3Bucket

from .homes import make_home, port
from .test_copy_jobs import ROOT, TAKEN, storage, user_volume  # noqa: F401

PREFIX = "cs101/fall-2026"
USERS = ("alice", "bob@uni.edu", "carol")


def history(c: Cluster, user: str, capsys: pytest.CaptureFixture[str]) -> list[dict[str, str]]:
    capsys.readouterr()
    assert main(["-o", "json", "history", user, "--kubeconfig", str(c.kubeconfig),
                 "--namespace", c.namespace]) == 0
    return [r for r in json.loads(capsys.readouterr().out)["records"] if r["kind"] == "copy"]


def test_each_student_of_a_batch_has_their_own_copy_record(
        storage: Cluster, s3: S3Bucket, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,  # noqa: F811
        capsys: pytest.CaptureFixture[str]) -> None:
    c, ns = storage, storage.namespace
    c.core.create_namespaced_config_map(ns, {
        "metadata": {"name": SCHEDULE_CONFIGMAP},
        "data": {SCHEDULE_KEY: (ROOT / "schedules.yaml").read_text(encoding="utf-8")}})
    bob = f"/{s3.name}/{Place(PREFIX, Owner('bob@uni.edu')).folder}"

    def bobs_uploads_die(r: Request) -> Verdict:  # bob's writes never arrive; the rest pass
        writes = r.method in ("PUT", "POST")  # the key on the wire is URL-encoded once more
        return "reset" if writes and unquote(r.path).startswith(bob) else "pass"

    direct = s3.settings()
    for name, value in direct.items():  # `classops history` reads the ledger directly
        monkeypatch.setenv(name, value)
    for i, user in enumerate(USERS):
        user_volume(c, user, make_home(tmp_path / f"src-{i}", user).path, i)
    api, store = Kube(c.api), port(s3)
    ctx = Context(Settings(namespace=ns), api, EmptyHub(), store, lambda: TAKEN)
    ledger = open_ledger(Settings(namespace=ns), api, ns, store, lambda: TAKEN)
    assert ledger is not None
    executor = Executor(Ports(api, s3=store), Metrics(), lambda: TAKEN,
                        log=logging.getLogger("test.copies"),
                        sinks=[LedgerSink(ledger, lambda: TAKEN)])
    event = typed(CloudEvent({"id": "copy@2026-12-07T03:30:00+00:00", "type": BACKUP_COPY,
                              "source": "/classops/timetable", "time": TAKEN}, {}))

    with FaultProxy(s3.endpoint.endpoint_url, bobs_uploads_die) as proxy:
        # the copy Job (a local process) reaches S3 through the proxy
        c.core.create_namespaced_secret(ns, {"metadata": {"name": "classops-s3"}, "data": {
            k: base64.b64encode(v.encode()).decode()
            for k, v in {**direct, "CLASSOPS_S3_ENDPOINT": proxy.url}.items()}})
        [outcome] = dispatch(event, ctx, load("functions"))
        [action] = outcome.actions
        assert action.users == USERS  # type: ignore[attr-defined]  (one batch)
        [result] = executor.execute(outcome.actions, event.id)
        assert any(v == "reset" for _, v in proxy.seen)
    assert result.outcome == "failed" and "bob@uni.edu: " in result.detail, result.detail

    job = action.job["metadata"]["name"]  # type: ignore[attr-defined]
    for user in ("alice", "carol"):
        [record] = history(c, user, capsys)
        key = find(store, PREFIX, Owner(user)).archive_key  # the copy that exists
        assert (record["outcome"], record["refs"]["key"]) == ("changed", key)
        assert record["refs"]["job"] == job and record["event_id"] == event.id
    [record] = history(c, "bob@uni.edu", capsys)
    tried = Place(PREFIX, Owner("bob@uni.edu")).archive(stamp(TAKEN))
    assert (record["outcome"], record["refs"]["key"]) == ("failed", tried)
    assert record["detail"] and record["refs"]["job"] == job
    assert list(store.objects(Place(PREFIX, Owner("bob@uni.edu")).folder)) == []

    # no record for the batch as a whole: every copy record is a student's
    assert all(r.user for r in ledger.records() if r.kind == "copy")
    summary = ledger.summary()
    assert summary["counts"] == {"copy/changed": 2, "copy/failed": 1}
    newest = {u: (e.get("copy") or {}).get("ref") for u, e in summary["users"].items()}
    assert newest == {"alice": find(store, PREFIX, Owner("alice")).archive_key,
                      "carol": find(store, PREFIX, Owner("carol")).archive_key,
                      "bob@uni.edu": None}
    assert summary["users"]["bob@uni.edu"]["failed"]["ref"] == tried
