"""Copies as the cluster makes them (Test bed 4): `backup.copy` dispatched through the functions
package; each batch's Job (a local process in the emulator) archives PVCs restored from the
students' snapshots into SeaweedFS; the scratch PVCs are gone afterwards."""

from __future__ import annotations

import base64
import io
import logging
import shutil
import tarfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cloudevents.core.v1.event import CloudEvent

from shared.actions.applying import Ports
from shared.actions.executor import Executor
from shared.actions.model import RunArchiveJob
from shared.archive.layout import Owner, stamp
from shared.archive.restoring import find, restore
from shared.events import BACKUP_COPY, typed
from shared.handlers.context import Context
from shared.handlers.dispatching import dispatch
from shared.handlers.readers import EmptyHub
from shared.handlers.registry import load
from shared.metrics import Metrics
from shared.ports.kube import Kube
from shared.settings import Settings
from shared.stack.admin import SCHEDULE_CONFIGMAP, SCHEDULE_KEY
from shared.stack.config import HubSettings
from shared.stack.manifests import render
from shared.teardown.notes import WHERE
from tests.emulator.conftest import Cluster, cluster  # noqa: F401  (the fixture)
from tests.servers.fixtures import S3Bucket
from tests.wait import until

from .homes import make_home, port, tree

ROOT = Path(__file__).resolve().parents[2]
PREFIX = "cs101/fall-2026"
TAKEN = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)
NEXT = datetime(2026, 12, 8, 3, 0, tzinfo=UTC)


@pytest.fixture
def storage(cluster: Cluster) -> Cluster:  # noqa: F811
    cluster.emu.enable_controllers("volumes", "snapshots", "jobs",
                                   volumes={"binding_mode": "Immediate"})
    cluster.add_node("n1")
    return cluster


def user_volume(c: Cluster, user: str, home: Path, index: int) -> str:
    """A student's PVC with their files, and a ready snapshot of it as the backup takes it."""
    claim = f"claim-{index}"
    c.core.create_namespaced_persistent_volume_claim(c.namespace, {
        "metadata": {"name": claim, "annotations": {"hub.jupyter.org/username": user}},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}})
    folder = until(lambda: _folder(c, claim), timeout=60, what=f"{claim} bound",
                   not_yet=(Exception,))
    shutil.rmtree(folder)
    shutil.copytree(home, folder, symlinks=True)
    return snapshot(c, claim, user, TAKEN)


def snapshot(c: Cluster, claim: str, user: str, at: datetime) -> str:
    """A ready snapshot of the claim, labelled and annotated as the backup takes it."""
    name = f"{claim}-scheduled-{at:%Y%m%dt%H%M}"
    Kube(c.api).create({
        "apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshot",
        "metadata": {"name": name, "namespace": c.namespace,
                     "labels": {"app.kubernetes.io/managed-by": "classops",
                                "component": "singleuser-storage"},
                     "annotations": {"hub.jupyter.org/username": user, "classops.edu/claim": claim,
                                     "classops.edu/at": at.isoformat()}},
        "spec": {"source": {"persistentVolumeClaimName": claim}}})
    until(lambda: (Kube(c.api).get("snapshot.storage.k8s.io/v1", "VolumeSnapshot", name,
                                   c.namespace) or _none()).status.get("readyToUse"),
          timeout=60, what=f"snapshot {name} ready")
    return name


def as_classops(c: Cluster) -> Kube:
    """classops's own ServiceAccount and Role, as rendered (`classops render --parts classops`)."""
    settings = HubSettings(course="cs101", namespace=c.namespace, release=c.namespace)
    admin = Kube(c.api)
    for manifest in render(settings, "course: cs101\n", ("classops",)):
        if manifest["kind"] in ("ServiceAccount", "Role", "RoleBinding"):
            admin.apply(manifest, "classops")
    return Kube(c.emu.api_client(token=c.emu.service_account_token(c.namespace, "classops")))


class _none:
    status: dict[str, object] = {}


def _folder(c: Cluster, claim: str) -> Path:
    return Path(c.emu.controller("volumes").folder(c.namespace, claim))


def test_a_copy_job_archives_every_students_newest_snapshot(
        storage: Cluster, s3: S3Bucket, tmp_path: Path) -> None:
    c, ns = storage, storage.namespace
    c.core.create_namespaced_config_map(ns, {
        "metadata": {"name": SCHEDULE_CONFIGMAP},
        "data": {SCHEDULE_KEY: (ROOT / "schedules.yaml").read_text(encoding="utf-8")}})
    values = s3.settings()
    c.core.create_namespaced_secret(ns, {"metadata": {"name": "classops-s3"}, "data": {
        k: base64.b64encode(v.encode()).decode() for k, v in values.items()}})
    homes = {u: make_home(tmp_path / f"src-{i}", u).path
             for i, u in enumerate(("alice", "bob@uni.edu"))}
    for i, (user, home) in enumerate(homes.items()):
        user_volume(c, user, home, i)

    api, store = as_classops(c), port(s3)  # RBAC enforced: the Role's grants must suffice
    ctx = Context(Settings(namespace=ns), api, EmptyHub(), store, lambda: TAKEN)
    event = typed(CloudEvent({"id": "copy@2026-12-07T03:30:00+00:00", "type": BACKUP_COPY,
                              "source": "/classops/timetable", "time": TAKEN}, {}))
    [outcome] = dispatch(event, ctx, load("functions"))
    assert outcome.status == "ok", outcome.error
    [action] = outcome.actions
    assert isinstance(action, RunArchiveJob) and action.users == ("alice", "bob@uni.edu")
    executor = Executor(Ports(api, s3=store), Metrics(), lambda: TAKEN,
                        log=logging.getLogger("test.copies"))
    [result] = executor.execute(outcome.actions, event.id)
    assert result.outcome == "changed", result.detail
    assert result.detail == "copies: 2 archived, 0 unchanged, 0 failed"

    for user, home in homes.items():
        manifest = find(store, PREFIX, Owner(user))
        assert manifest.timestamp == stamp(TAKEN)
        assert manifest.meta["copy-job"] == action.job["metadata"]["name"]
        # a nightly copy: no WHERE-ARE-MY-FILES.txt (only final snapshots' copies carry it)
        assert manifest.extras == ()
        with tarfile.open(fileobj=io.BytesIO(store.get_bytes(manifest.archive_key))) as tar:
            assert WHERE not in tar.getnames()
        back = tmp_path / "back" / user
        assert restore(store, manifest, back).ok
        assert tree(back) == tree(home)
    left = [p for p in api.list("v1", "PersistentVolumeClaim", ns, "classops.edu/purpose=copy")
            if not p.metadata.get("deletionTimestamp")]
    assert left == []

    me = f"system:serviceaccount:{ns}:classops"
    mine = [r for r in c.emu.requests() if r.user == me]
    assert {r.verb for r in mine} >= {"create", "delete", "get", "list"}
    assert [(r.verb, r.path) for r in mine if r.status == 403] == []
    objects = sorted(o.key for o in store.objects())
    [again] = executor.execute(outcome.actions, event.id)  # the same event twice: the same Job
    assert again.detail == result.detail and sorted(o.key for o in store.objects()) == objects

    for i, user in enumerate(homes):  # the next night's snapshots, nothing changed
        snapshot(c, f"claim-{i}", user, NEXT)
    event = typed(CloudEvent({"id": "copy@2026-12-08T03:30:00+00:00", "type": BACKUP_COPY,
                              "source": "/classops/timetable", "time": NEXT}, {}))
    [outcome] = dispatch(event, ctx, load("functions"))
    [next_night] = executor.execute(outcome.actions, event.id)
    assert next_night.detail == "copies: 0 archived, 2 unchanged, 0 failed", next_night.detail
    assert sorted(o.key for o in store.objects()) == objects  # a few GETs, no upload


def test_a_copy_job_that_cannot_reach_s3_fails_with_each_students_error(
        storage: Cluster, s3: S3Bucket, tmp_path: Path) -> None:
    c, ns = storage, storage.namespace
    c.core.create_namespaced_config_map(ns, {
        "metadata": {"name": SCHEDULE_CONFIGMAP},
        "data": {SCHEDULE_KEY: (ROOT / "schedules.yaml").read_text(encoding="utf-8")}})
    wrong = {**s3.settings(), "AWS_SECRET_ACCESS_KEY": "wrong"}
    c.core.create_namespaced_secret(ns, {"metadata": {"name": "classops-s3"}, "data": {
        k: base64.b64encode(v.encode()).decode() for k, v in wrong.items()}})
    user_volume(c, "alice", make_home(tmp_path / "src", "alice").path, 0)
    api, store = Kube(c.api), port(s3)
    ctx = Context(Settings(namespace=ns), api, EmptyHub(), store, lambda: TAKEN)
    event = typed(CloudEvent({"id": "copy@2026-12-07T03:30:00+00:00", "type": BACKUP_COPY,
                              "source": "/classops/timetable", "time": TAKEN}, {}))
    [outcome] = dispatch(event, ctx, load("functions"))
    executor = Executor(Ports(api, s3=store), Metrics(), lambda: TAKEN,
                        log=logging.getLogger("test.copies"))
    [result] = executor.execute(outcome.actions, event.id)
    assert result.outcome == "failed"
    assert result.detail.startswith("Refused: copies: 0 archived, 0 unchanged, 1 failed of 1: "
                                    "alice: "), result.detail
    assert "403" in result.detail and list(store.objects()) == []
    left = [p for p in api.list("v1", "PersistentVolumeClaim", ns, "classops.edu/purpose=copy")
            if not p.metadata.get("deletionTimestamp")]
    assert left == []  # the scratch PVC goes whatever the outcome
