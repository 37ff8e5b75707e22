"""`classops restore` against the emulator's volumes, snapshots and Jobs and SeaweedFS: from a
copy in S3 into the live home's restored/DATE/ (nothing else touched, never twice), into a new
PVC, and from a snapshot into a new PVC."""

from __future__ import annotations

import argparse
import io
import shutil
from contextlib import redirect_stdout
from pathlib import Path

import pytest
from kubernetes import client

from shared.archive.layout import Owner
from shared.archive.worker import Home, archive_homes
from shared.cli.options import UsageError
from shared.cli.restore_group import cmd_restore
from tests.emulator.conftest import Cluster, cluster  # noqa: F401  (the fixture)
from tests.servers.fixtures import S3Bucket
from tests.wait import until

from .homes import make_home, port, touch, tree
from .test_copy_jobs import ROOT, _folder, storage, user_volume  # noqa: F401

PREFIX = "cs101/fall-2026"


def restore(c: Cluster, *argv: str, **flags: object) -> tuple[int, str]:
    args = argparse.Namespace(user=argv[0], source=argv[1], into=flags.get("into"),
                              into_home=bool(flags.get("into_home")), wait=120.0,
                              schedule=str(ROOT / "schedules.yaml"), namespace=c.namespace,
                              kubeconfig=None, functions=None, output="table",
                              api_client=c.api)
    out = io.StringIO()
    with redirect_stdout(out):
        code = cmd_restore(args)
    return code, out.getvalue()


@pytest.fixture
def course(storage: Cluster, s3: S3Bucket, monkeypatch: pytest.MonkeyPatch) -> Cluster:  # noqa: F811
    for name, value in s3.settings().items():
        monkeypatch.setenv(name, value)
    import base64

    storage.core.create_namespaced_secret(storage.namespace, {
        "metadata": {"name": "classops-s3"},
        "data": {k: base64.b64encode(v.encode()).decode() for k, v in s3.settings().items()}})
    return storage


def test_restores_never_in_place(course: Cluster, s3: S3Bucket, tmp_path: Path) -> None:
    c = course
    original = make_home(tmp_path / "src", "alice").path
    user_volume(c, "alice", original, 0)  # claim-0 with alice's files, and a snapshot of it
    archive_homes(port(s3), PREFIX, [Home(Owner("alice"), original)], "20261207T030000Z")
    live = _folder(c, "claim-0")
    touch(live / "lab1.ipynb", b"this morning's work\n", ns=1_790_000_000_000_000_000)
    before = tree(live)

    code, said = restore(c, "alice", "s3", into_home=True)
    assert code == 0, said
    assert "into pvc" in said and "restored/2026-12-07T0300/" in said
    assert tree(live / "restored" / "2026-12-07T0300") == tree(original)
    rest = {k: v for k, v in tree(live).items() if not k.startswith("restored")}
    assert rest == before  # nothing else touched
    with pytest.raises(UsageError, match="already restored"):
        restore(c, "alice", "s3", into_home=True)
    first_job = said.split("(job ")[1].rstrip(")\n")
    client.BatchV1Api(c.api).delete_namespaced_job(first_job, c.namespace,
                                                   propagation_policy="Background")
    until(lambda: first_job not in {j.metadata.name for j in
                                    client.BatchV1Api(c.api).list_namespaced_job(
                                        c.namespace).items}, timeout=60)
    again, said = restore(c, "alice", "s3", into_home=True)  # the Job gone, the folder not
    assert again == 1 and "FAILED" in said and "exists" in said, said
    assert tree(live / "restored" / "2026-12-07T0300") == tree(original)

    code, said = restore(c, "alice", "s3:2026-12-07", into="alice-tuesday")
    assert code == 0, said
    assert tree(_folder(c, "alice-tuesday")) == tree(original)
    with pytest.raises(UsageError, match="never overwrites"):
        restore(c, "alice", "s3", into="alice-tuesday")

    code, said = restore(c, "alice", "snapshot")
    assert code == 0 and said.startswith("created PVC") and "from snapshot claim-0-" in said
    name = said.split()[2].split("/")[1]
    pvc = c.core.read_namespaced_persistent_volume_claim(name, c.namespace)
    assert pvc.spec.data_source.kind == "VolumeSnapshot"
    folder = until(lambda: _folder(c, name), timeout=60, not_yet=(Exception,))
    assert tree(folder) == tree(original)
    shutil.rmtree(live / "restored")  # the student took what they needed
    code, said = restore(c, "alice", "snapshot", into_home=True)
    assert code == 0 and "from snapshot claim-0-" in said, said
    assert tree(live / "restored" / "2026-12-07T0300") == tree(original)
    assert [p.metadata.name for p in c.core.list_namespaced_persistent_volume_claim(
        c.namespace).items if p.metadata.name.endswith("-src")
        and not p.metadata.deletion_timestamp] == []  # the scratch PVC is gone
    with pytest.raises(UsageError, match="no copy of 2026-01-01"):
        restore(c, "alice", "s3:2026-01-01", into_home=True)
