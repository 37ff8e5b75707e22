"""Failures on the wire, for real: a loopback proxy between botocore and SeaweedFS drops a part
of a multipart upload, or holds the manifest's PUT while the worker process is killed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from shared.archive.layout import Place
from shared.archive.restoring import find, restore
from shared.archive.worker import Options, archive_homes, copies, read_latest
from tests.servers.faults import FaultProxy, Request, Verdict
from tests.servers.fixtures import S3Bucket
from tests.wait import until

from .homes import make_home, port, touch, tree

PREFIX = "cs101/fall-2026"
PART = 5 * 2**20


def classops() -> str:
    return str(Path(sys.executable).parent / "classops")


def env_for(s3: S3Bucket) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CLASSOPS_"))}
    return {**keep, "AWS_ACCESS_KEY_ID": s3.endpoint.access_key,
            "AWS_SECRET_ACCESS_KEY": s3.endpoint.secret_key,
            "AWS_DEFAULT_REGION": s3.endpoint.region}


def test_a_part_that_fails_leaves_no_copy_and_a_retry_finishes(
        s3: S3Bucket, tmp_path: Path) -> None:
    home = make_home(tmp_path / "src", "alice", big=12 * 2**20)
    direct = port(s3)
    assert archive_homes(direct, PREFIX, [home], "20261207T030000Z",
                         Options(part=PART))[0].status == "archived"
    touch(home.path / "lab1.ipynb", b"new work\n", ns=1_790_000_000_000_000_000)

    def drop_part_two(r: Request) -> Verdict:
        return "reset" if r.method == "PUT" and r.query.get("partNumber") == ["2"] else "pass"

    with FaultProxy(s3.endpoint.endpoint_url, drop_part_two) as proxy:
        failed = archive_homes(port(s3, proxy.url), PREFIX, [home], "20261208T030000Z",
                               Options(part=PART))[0]
        assert failed.status == "failed" and failed.error
        assert any(v == "reset" for _, v in proxy.seen)  # part 2 was tried, and dropped
        assert any(r.method == "DELETE" and "uploadId" in r.query for r, _ in proxy.seen)
    place = Place(PREFIX, home.owner)
    assert copies(direct, place) == ["20261207T030000Z"]  # no manifest, so no copy
    assert read_latest(direct, place).timestamp == "20261207T030000Z"  # type: ignore[union-attr]
    assert direct.unfinished_uploads(PREFIX) == []  # aborted: no parts left to pay for

    again = archive_homes(direct, PREFIX, [home], "20261208T030000Z", Options(part=PART))[0]
    assert again.status == "archived"
    assert copies(direct, place) == ["20261207T030000Z", "20261208T030000Z"]
    assert restore(direct, find(direct, PREFIX, home.owner), tmp_path / "back").ok
    assert tree(tmp_path / "back") == tree(home.path)


def test_a_crash_between_archive_and_manifest_keeps_the_old_latest(
        s3: S3Bucket, tmp_path: Path) -> None:
    home = make_home(tmp_path / "src", "alice")
    direct = port(s3)
    archive_homes(direct, PREFIX, [home], "20261207T030000Z")
    old_latest = direct.get_bytes(f"{PREFIX}/alice/latest.json")
    touch(home.path / "lab1.ipynb", b"new work\n", ns=1_790_000_000_000_000_000)

    def hold_manifests(r: Request) -> Verdict:
        return "hold" if r.method == "PUT" and r.path.endswith(".manifest.json") else "pass"

    with FaultProxy(s3.endpoint.endpoint_url, hold_manifests) as proxy:
        worker = subprocess.Popen(
            [classops(), "archive-worker", "--endpoint-url", proxy.url, "--bucket", s3.name,
             "--prefix", PREFIX, "--timestamp", "20261208T030000Z", "--home", f"alice={home.path}"],
            env=env_for(s3), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            start_new_session=True)
        try:
            # Until the manifest's PUT is in flight, or the worker ended without one.
            until(lambda: proxy.held.is_set() or worker.poll() is not None, timeout=90)
            assert proxy.held.is_set(), worker.communicate(timeout=30)
            os.killpg(worker.pid, signal.SIGKILL)  # the archive is written, its manifest not
        finally:
            worker.wait(30)
    assert direct.head(f"{PREFIX}/alice/20261208T030000Z.tar.gz") is not None
    assert direct.head(f"{PREFIX}/alice/20261208T030000Z.manifest.json") is None
    assert direct.get_bytes(f"{PREFIX}/alice/latest.json") == old_latest
    assert copies(direct, Place(PREFIX, home.owner)) == ["20261207T030000Z"]
    back = restore(direct, find(direct, PREFIX, home.owner), tmp_path / "back")
    assert back.ok and (tmp_path / "back" / "lab1.ipynb").read_bytes() != b"new work\n"


def test_the_command_copies_a_folder_of_homes_and_restores_one(
        s3: S3Bucket, tmp_path: Path) -> None:
    src = tmp_path / "class"
    make_home(src, "alice")
    make_home(src, "bob")
    (src / "outside").rename(tmp_path / "outside")  # only homes in the class folder
    run = [classops(), "archive-worker", "--endpoint-url", s3.endpoint.endpoint_url,
           "--bucket", s3.name, "--prefix", PREFIX]
    first = subprocess.run([*run, "-o", "json", str(src)], env=env_for(s3),
                           capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr
    summary = json.loads(first.stdout)
    assert (summary["homes"], summary["archived"], summary["failed"]) == (2, 2, 0)
    again = json.loads(subprocess.run([*run, "-o", "json", str(src)], env=env_for(s3),
                                      capture_output=True, text=True, timeout=300,
                                      check=True).stdout)
    assert (again["unchanged"], again["bytes_stored"]) == (2, 0)
    back = tmp_path / "back"
    restored = subprocess.run([*run, "--restore", "bob", "--into", str(back)], env=env_for(s3),
                              capture_output=True, text=True, timeout=300)
    assert restored.returncode == 0, restored.stderr
    assert "matches its manifest" in restored.stdout and tree(back) == tree(src / "bob")
    refused = subprocess.run([*run, "--restore", "bob", "--into", str(back)], env=env_for(s3),
                             capture_output=True, text=True, timeout=300)
    assert refused.returncode == 2 and "never overwrites" in refused.stderr
