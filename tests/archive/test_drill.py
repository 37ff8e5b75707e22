"""The restore drill: `drill.due` dispatched through the functions package, its RestoreDrill
done by the executor against the emulator and SeaweedFS; a corrupted copy fails it."""

from __future__ import annotations

import gzip
import logging
from datetime import UTC, datetime
from pathlib import Path

from cloudevents.core.v1.event import CloudEvent

from shared.actions.applying import Ports
from shared.actions.executor import Executor
from shared.actions.model import RestoreDrill
from shared.archive.layout import Owner
from shared.archive.restoring import find
from shared.archive.sampling import choose, owners
from shared.archive.worker import archive_homes
from shared.events import DRILL_DUE, typed
from shared.handlers.context import Context
from shared.handlers.dispatching import dispatch
from shared.handlers.readers import EmptyHub
from shared.handlers.registry import load
from shared.metrics import Metrics
from shared.ports.kube import Kube
from shared.ports.s3 import S3
from shared.settings import Settings
from shared.stack.admin import SCHEDULE_CONFIGMAP, SCHEDULE_KEY
from tests.conftest import Kube as KubeFixture
from tests.servers.fixtures import S3Bucket

from .homes import make_home, port

ROOT = Path(__file__).resolve().parents[2]
PREFIX = "cs101/fall-2026"  # the bundled schedules.yaml's course and term
AT = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)


def drill(kube: KubeFixture, store: S3, event_id: str) -> list[tuple[RestoreDrill, str, str]]:
    """Dispatch one drill.due and execute what it decided: (action, outcome, detail)."""
    api = Kube(kube.api)
    ctx = Context(Settings(namespace=kube.namespace), api, EmptyHub(), store, lambda: AT)
    event = typed(CloudEvent({"id": event_id, "type": DRILL_DUE, "source": "/classops/timetable",
                              "time": AT}, {"sample": 1}))
    [outcome] = dispatch(event, ctx, load("functions"))
    assert outcome.status == "ok", outcome.error
    executor = Executor(Ports(api, s3=store), Metrics(), lambda: AT,
                        log=logging.getLogger("test.drill"))
    results = executor.execute(outcome.actions, event.id)
    found = []
    for r in results:
        assert isinstance(r.action, RestoreDrill)
        found.append((r.action, r.outcome, r.detail))
    return found


def test_the_drill_restores_a_chosen_copy_and_catches_a_corrupted_one(
        kube: KubeFixture, s3: S3Bucket, tmp_path: Path) -> None:
    kube.core.create_namespaced_config_map(kube.namespace, {
        "metadata": {"name": SCHEDULE_CONFIGMAP},
        "data": {SCHEDULE_KEY: (ROOT / "schedules.yaml").read_text(encoding="utf-8")}})
    store = port(s3)
    homes = [make_home(tmp_path / f"src-{u}", u) for u in ("alice", "bob", "carol@uni.edu")]
    archive_homes(store, PREFIX, homes, "20261207T020000Z")

    [(action, outcome, detail)] = drill(kube, store, "drill@2026-12-07T03:00:00+00:00")
    assert (action.prefix, outcome) == (PREFIX, "unchanged"), detail
    assert "matches its manifest" in detail
    assert [Owner(action.user, action.server)] == choose(
        [h.owner for h in homes], "drill@2026-12-07T03:00:00+00:00")

    manifest = find(store, PREFIX, Owner(action.user, action.server))
    raw = bytearray(gzip.decompress(store.get_bytes(manifest.archive_key)))
    at = raw.index(b"#!/bin/sh")
    raw[at:at + 2] = b"#?"  # one changed byte in run.sh, in a valid gzip again
    store.put_bytes(manifest.archive_key, gzip.compress(bytes(raw)))
    [(again, outcome, detail)] = drill(kube, store, "drill@2026-12-07T03:00:00+00:00")
    assert again == action  # the same event id chooses the same student
    assert outcome == "failed"
    assert "run.sh: content differs from its manifest" in detail


def test_the_choice_is_seeded_by_the_event_and_covers_everyone() -> None:
    keys = [f"{PREFIX}/{u}/latest.json" for u in ("alice", "bob", "carol%40uni.edu")] + \
        [f"{PREFIX}/alice/project/latest.json", f"{PREFIX}/bob/20261207T020000Z.tar.gz",
         "cs102/fall-2026/dave/latest.json"]
    found = owners(keys, PREFIX)
    assert found == [Owner("alice"), Owner("alice", "project"), Owner("bob"),
                     Owner("carol@uni.edu")]
    assert choose(found, "drill@1") == choose(found, "drill@1")
    seen = {choose(found, f"drill@{week}")[0] for week in range(60)}
    assert seen == set(found)  # over a term of weekly drills, every copy gets its turn
    assert len(choose(found, "x", sample=10)) == 4 and choose([], "x") == []
