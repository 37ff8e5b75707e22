"""The end of term on the emulator's real storage: volumes backed by folders, CSI snapshots that
copy them, copy Jobs that run the archive worker into SeaweedFS. `classops archive-term` stops
the hub to snapshot its database, the copies capability archives it with the students' final
snapshots, the term index says so, and the hub database restores from the archive into a file
`sqlite3` reads.
"""

from __future__ import annotations

import base64
import io
import sqlite3
import tarfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from shared.archive.layout import Owner
from shared.archive.restoring import find, restore
from shared.cli.main import build_parser
from shared.ports.hub import Hub
from shared.ports.kube import Kube
from shared.settings import Secret
from shared.stack.admin import SCHEDULE_CONFIGMAP, SCHEDULE_KEY
from shared.teardown.term_index import TermIndex, index_key
from shared.termend.survey import USERNAME
from tests.deploy.conftest import Stack, stack  # noqa: F401  (the fixture)
from tests.emulator.conftest import cluster  # noqa: F401  (the fixture)
from tests.kubeemu.controllers.storage_control import volume_folder
from tests.servers.fixtures import HubUsers, S3Bucket
from tests.wait import until

from .term import PREFIX
from .term import S3 as S3Port

REPO = Path(__file__).resolve().parents[2]
HUB_DB_OWNER = "_classops-hub-db"


@pytest.fixture
def storage(stack: Stack) -> Iterator[Stack]:  # noqa: F811
    stack.cluster.emu.enable_controllers("volumes", "snapshots", "jobs",
                                         volumes={"binding_mode": "Immediate"})
    yield stack


def test_the_hub_database_restores_from_the_term_archive_and_sqlite_reads_it(
        storage: Stack, s3: S3Bucket, hub: HubUsers, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    c, ns = storage.cluster, storage.cluster.namespace
    assert not storage.deploy(parts=("hub",)).failed
    db_folder = until(lambda: volume_folder(c.emu, ns, "hub-db-dir"), timeout=60,
                      what="hub-db-dir bound", not_yet=(Exception,))
    with sqlite3.connect(db_folder / "jupyterhub.sqlite") as db:
        db.execute("create table users (name text)")
        db.executemany("insert into users values (?)", [("alice",), ("bob@uni.edu",)])
    c.core.create_namespaced_persistent_volume_claim(ns, {
        "metadata": {"name": "claim-alice", "labels": {"component": "singleuser-storage"},
                     "annotations": {USERNAME: "alice"}},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}})
    home = until(lambda: volume_folder(c.emu, ns, "claim-alice"), timeout=60,
                 what="claim-alice bound", not_yet=(Exception,))
    (home / "notes.md").write_text("# alice's notes\n")
    # the course's schedule, naming the release the stack was deployed as
    text = (REPO / "schedules.yaml").read_text().replace("\nhub:", f"\nhub:\n  release: {ns}")
    c.core.create_namespaced_config_map(ns, {"metadata": {"name": SCHEDULE_CONFIGMAP},
                                             "data": {SCHEDULE_KEY: text}})
    values = s3.settings()
    c.core.create_namespaced_secret(ns, {"metadata": {"name": "classops-s3"}, "data": {
        k: base64.b64encode(v.encode()).decode() for k, v in values.items()}})
    schedule = tmp_path / "schedules.yaml"
    schedule.write_text(text)
    store = S3Port(s3.client, s3.name)

    c.emu.clock.set_rate(60)  # the hub pod's graceful stop, the Job's pod: emulated minutes
    args = build_parser().parse_args(["archive-term", "--schedule", str(schedule),
                                      "--namespace", ns, "-o", "json"])
    args.api_client, args.s3, args.registry = c.api, store, None
    args.hub = Hub(hub.api_url, Secret(hub.token))
    code = args.func(args)
    err = capsys.readouterr().err
    assert code == 0, err
    index = TermIndex.from_json(store.get_bytes(index_key(PREFIX)))
    hub_db = index.extras["hub-db"]
    assert hub_db.verified, hub_db.problem
    [alice] = index.entries
    assert alice.verified and alice.files == 1, alice.problem
    # her final archive tells her where it is kept, at its root beside her files
    assert alice.note
    with tarfile.open(fileobj=io.BytesIO(store.get_bytes(alice.object))) as tar:
        assert sorted(tar.getnames()) == ["WHERE-ARE-MY-FILES.txt", "notes.md"]
        note = (tar.extractfile("WHERE-ARE-MY-FILES.txt") or io.BytesIO()).read().decode()
    assert f"s3://{s3.name}/{PREFIX}/alice/" in note and "alice" in note
    assert Kube(c.api).scale("apps/v1", "Deployment", "hub", ns) == 1  # back for the notice

    # a second run an hour later: new final snapshots, the homes unchanged, so the copies make
    # no new archive and the last one is still the final one
    args.now = lambda: datetime.now(UTC) + timedelta(hours=1)
    assert args.func(args) == 0, capsys.readouterr().err
    again = TermIndex.from_json(store.get_bytes(index_key(PREFIX)))
    [alice_again] = again.entries
    assert alice_again.verified and alice_again.object == alice.object and alice_again.note
    assert alice_again.snapshot != alice.snapshot

    manifest = find(store, PREFIX, Owner(HUB_DB_OWNER))
    back = tmp_path / "restored"
    assert restore(store, manifest, back).ok
    with sqlite3.connect(back / "jupyterhub.sqlite") as db:
        names = [row[0] for row in db.execute("select name from users order by name")]
    assert names == ["alice", "bob@uni.edu"]

    # and the teardown, on real volumes and snapshots (their finalizers included)
    args = build_parser().parse_args(["teardown", "--schedule", str(schedule), "--namespace", ns,
                                      "--confirm", "-o", "json"])
    args.api_client, args.s3, args.hub, args.registry = c.api, store, None, None
    assert args.func(args) == 0, capsys.readouterr().err
    kube = Kube(c.api)
    until(lambda: kube.get("v1", "PersistentVolumeClaim", "claim-alice", ns) is None,
          timeout=60, what="claim-alice gone")
    until(lambda: not [o for o in kube.list("snapshot.storage.k8s.io/v1", "VolumeSnapshot", ns)
                       if o.name.startswith("claim-alice")], timeout=60,
          what="alice's snapshots gone")
    assert kube.get("apps/v1", "Deployment", "hub", ns) is None
