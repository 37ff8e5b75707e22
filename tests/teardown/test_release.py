"""With `serve` running, the backup's finalizer holds every user PVC for a last snapshot. A
teardown releases the PVCs it deletes (their final archive verified): they go at once, and no
last snapshot (content Retain, billed on) is made of files already archived."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from shared.backup import naming
from shared.handlers.registry import load
from shared.runtime.server import Server
from tests.backup.conftest import bound, course, storage, user_pvc  # noqa: F401  (fixture)
from tests.conftest import Kube as Cluster
from tests.runtime.conftest import settings_for
from tests.servers.fixtures import S3Bucket
from tests.wait import until

from .term import SNAPSHOTS, Term, by_user, schedule_file


@pytest.fixture
def serve(storage: Cluster) -> Iterator[Server]:  # noqa: F811
    server = Server.open(settings_for(storage, final_snapshot_bound=120.0, snapshot_timeout=120.0),
                         load("functions"), api=storage.emu.api_client(),
                         clock=lambda: datetime.now(UTC), drain_tick=0.2).start()
    until(lambda: server.elector.leading, timeout=30, what="the Lease taken")
    yield server
    server.stop()


def test_teardown_releases_the_backup_finalizer_and_no_last_snapshot_is_made(
        storage: Cluster, serve: Server, s3: S3Bucket, tmp_path: Path,  # noqa: F811
        capsys: pytest.CaptureFixture[str]) -> None:
    course(storage)
    claim = user_pvc(storage, "alice")["metadata"]["name"]
    bound(storage, claim)
    term = Term(storage, s3, schedule_file(tmp_path), [])
    pvc = until(lambda: (found := term.kube.get("v1", "PersistentVolumeClaim", claim,
                                                storage.namespace)) and naming.FINALIZER in (
        found.metadata.get("finalizers") or []) and found, timeout=60,
        what="serve put its finalizer on the PVC")
    term.archive_user("alice", pvc.uid)
    term.write_index()
    code, report = term.run(capsys, "--confirm")
    assert code == 0, term.err
    assert by_user(report)["alice"]["status"] == "deleted"
    until(lambda: term.kube.get("v1", "PersistentVolumeClaim", claim, storage.namespace) is None,
          timeout=60, what="the PVC gone")
    assert [o.name for o in term.kube.list(SNAPSHOTS, "VolumeSnapshot", storage.namespace)] == []
