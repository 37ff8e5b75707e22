"""The archive worker against a real S3 (SeaweedFS): what goes in comes back, byte for byte."""

from __future__ import annotations

import gzip
import io
import json
import os
import subprocess
import tarfile
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest

from shared.archive.layout import Owner, Place
from shared.archive.restoring import RestoreError, find, restore, verify
from shared.archive.worker import Copy, Home, Options, archive_homes, copies
from tests.servers.faults import FaultProxy
from tests.servers.fixtures import S3Bucket

from .homes import SECRET, make_home, port, touch, tree

PREFIX = "cs101/fall-2026"


def test_a_home_comes_back_byte_for_byte(s3: S3Bucket, tmp_path: Path) -> None:
    store = port(s3)
    alice = make_home(tmp_path / "src", "alice", big=11 * 2**20)  # 3 parts of 5 MiB
    bob = make_home(tmp_path / "src2", "bob@uni.example")
    done = archive_homes(store, PREFIX, [alice, bob], "20261207T030000Z",
                         Options(part=5 * 2**20, jobs=2))
    assert [c.status for c in done] == ["archived", "archived"], done
    assert done[1].archive == "cs101/fall-2026/bob%40uni.example/20261207T030000Z.tar.gz"
    for home in (alice, bob):
        back = tmp_path / "back" / home.owner.user
        checked = restore(store, find(store, PREFIX, home.owner), back)
        assert checked.ok, checked.problems
        assert tree(back) == tree(home.path)
    manifest = find(store, PREFIX, Owner("alice"))
    entries = {e.path: e for e in manifest.files}
    assert entries["escape"].kind == "symlink" and entries["escape"].target.endswith("answers.txt")
    assert entries["private/grades.csv"].mode == 0o600
    assert entries["vide ø"].kind == "dir" and entries["scratch/deeper"].kind == "dir"
    assert manifest.archive_size == store.head(manifest.archive_key).size  # type: ignore[union-attr]


def test_anyone_can_open_a_copy_with_tar(s3: S3Bucket, tmp_path: Path) -> None:
    """A presigned URL and GNU tar are all a student needs; no link is followed out of the home."""
    store = port(s3)
    home = make_home(tmp_path / "src", "alice")
    archive_homes(store, PREFIX, [home], "20261207T030000Z")
    manifest = find(store, PREFIX, home.owner)
    url = store.presign_get(manifest.archive_key, timedelta(minutes=10))
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(url, timeout=30) as answer:
        data = answer.read()
    assert SECRET not in gzip.decompress(data)  # the link to outside is a link, not a copy
    (tmp_path / "opened").mkdir()
    subprocess.run(["tar", "-xzf", "-", "-C", str(tmp_path / "opened")], input=data, check=True)
    assert tree(tmp_path / "opened") == tree(home.path)
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        names = tar.getnames()
    assert "Übungen/données été.csv" in names and "ノート/日本語.txt" in names


def test_an_unchanged_home_uploads_nothing_and_a_change_hashes_only_what_changed(
        s3: S3Bucket, tmp_path: Path) -> None:
    store = port(s3)
    home = make_home(tmp_path / "src", "alice", big=2 * 2**20)
    first = archive_homes(store, PREFIX, [home], "20261207T030000Z")[0]
    assert first.status == "archived" and first.hashed == first.size
    keys = sorted(o.key for o in store.objects(PREFIX))
    with FaultProxy(s3.endpoint.endpoint_url) as proxy:  # to see every request on the wire
        again = archive_homes(port(s3, proxy.url), PREFIX, [home], "20261208T030000Z")[0]
    assert (again.status, again.timestamp, again.stored) == ("unchanged", "20261207T030000Z", 0)
    assert sorted(o.key for o in store.objects(PREFIX)) == keys
    # one listing of the class's markers, nothing per home
    assert [(r.method, r.query.get("prefix")) for r, _ in proxy.seen] == \
        [("GET", [f"{PREFIX}/%state/"])]
    store.delete(next(k for k in keys if "/%state/" in k))  # a lost marker: one GET, remade
    fourth = archive_homes(store, PREFIX, [home], "20261208T030000Z")[0]
    assert (fourth.status, fourth.timestamp) == ("unchanged", "20261207T030000Z")
    assert sorted(o.key for o in store.objects(PREFIX)) == keys

    touch(home.path / "lab1.ipynb", b'{"cells": [1]}\n', ns=1_790_000_000_000_000_000)
    third = archive_homes(store, PREFIX, [home], "20261209T030000Z")[0]
    assert third.status == "archived" and third.hashed == len(b'{"cells": [1]}\n')
    assert copies(store, Place(PREFIX, home.owner)) == ["20261207T030000Z", "20261209T030000Z"]
    newest = find(store, PREFIX, home.owner)
    assert newest.timestamp == "20261209T030000Z" and verify(store, newest).ok
    checked = restore(store, newest, tmp_path / "back")
    assert checked.ok and tree(tmp_path / "back") == tree(home.path)
    older = find(store, PREFIX, home.owner, "20261207T030000Z")
    assert restore(store, older, tmp_path / "old").ok
    assert (tmp_path / "old" / "lab1.ipynb").read_bytes() == b'{"cells": []}\n' * 300


def test_a_restore_never_overwrites(s3: S3Bucket, tmp_path: Path) -> None:
    store = port(s3)
    home = make_home(tmp_path / "src", "alice")
    archive_homes(store, PREFIX, [home], "20261207T030000Z")
    target = tmp_path / "live"
    touch(target / "lab1.ipynb", b"today's work\n")
    with pytest.raises(RestoreError, match="never overwrites"):
        restore(store, find(store, PREFIX, home.owner), target)
    assert (target / "lab1.ipynb").read_bytes() == b"today's work\n"
    assert sorted(p.name for p in target.iterdir()) == ["lab1.ipynb"]


def test_verify_finds_a_corrupted_archive(s3: S3Bucket, tmp_path: Path) -> None:
    store = port(s3)
    home = make_home(tmp_path / "src", "alice")
    archive_homes(store, PREFIX, [home], "20261207T030000Z")
    manifest = find(store, PREFIX, home.owner)
    raw = bytearray(gzip.decompress(store.get_bytes(manifest.archive_key)))
    at = raw.index(b'{"cells": []}')
    raw[at:at + 2] = b"XX"  # a flipped byte inside lab1.ipynb, re-gzipped: a valid gzip
    store.put_bytes(manifest.archive_key, gzip.compress(bytes(raw)))
    checked = verify(store, manifest)
    assert not checked.ok
    assert any(p.startswith("lab1.ipynb: content differs") for p in checked.problems)
    assert any("the manifest says" in p for p in checked.problems)


def test_the_manifest_lists_every_entry(s3: S3Bucket, tmp_path: Path) -> None:
    store = port(s3)
    home = make_home(tmp_path / "src", "alice")
    archive_homes(store, PREFIX, [home], "20261207T030000Z")
    doc = json.loads(store.get_bytes(f"{PREFIX}/alice/20261207T030000Z.manifest.json"))
    paths = {e["path"] for e in doc["files"]}
    assert paths == set(tree(home.path))
    lab = next(e for e in doc["files"] if e["path"] == "lab1.ipynb")
    assert lab["mode"] == "0644" and lab["mtime"] == "1780000000.123456789"
    assert doc["archive"]["key"] == f"{PREFIX}/alice/20261207T030000Z.tar.gz"
    assert store.get_bytes(f"{PREFIX}/alice/latest.json") == \
        store.get_bytes(f"{PREFIX}/alice/20261207T030000Z.manifest.json")


def test_extras_ride_along_and_named_servers_have_their_own_folder(
        s3: S3Bucket, tmp_path: Path) -> None:
    """The hook for a note to the student: in the archive (a student opening it sees it), in the
    manifest apart, never restored into a home, and no reason for a new copy."""
    from shared.archive.worker import Home

    store = port(s3)
    home = make_home(tmp_path / "src", "alice")
    project = Home(Owner("alice", "project"), make_home(tmp_path / "src2", "proj").path)
    note = b"Your files from CS101 are in this archive.\n"
    options = Options(extras=lambda owner: [("WHERE-ARE-MY-FILES.txt", note)])
    done = archive_homes(store, PREFIX, [home, project], "20261207T030000Z", options)
    assert [c.archive for c in done] == [
        f"{PREFIX}/alice/20261207T030000Z.tar.gz",
        f"{PREFIX}/alice/project/20261207T030000Z.tar.gz"]
    assert copies(store, Place(PREFIX, home.owner)) == ["20261207T030000Z"]  # not project's
    manifest = find(store, PREFIX, home.owner)
    assert [e.path for e in manifest.extras] == ["WHERE-ARE-MY-FILES.txt"]
    with tarfile.open(fileobj=io.BytesIO(store.get_bytes(manifest.archive_key))) as tar:
        member = tar.extractfile("WHERE-ARE-MY-FILES.txt")
        assert member is not None and member.read() == note
    assert verify(store, manifest).ok
    assert restore(store, manifest, tmp_path / "back").ok
    assert tree(tmp_path / "back") == tree(home.path)  # the note is not put into the home
    again = archive_homes(store, PREFIX, [home, project], "20261208T030000Z", options)
    assert [c.status for c in again] == ["unchanged", "unchanged"]
    assert restore(store, find(store, PREFIX, project.owner), tmp_path / "proj").ok
    assert tree(tmp_path / "proj") == tree(project.path)


def test_the_note_never_shadows_a_students_own_file_and_comes_even_if_nothing_changed(
        s3: S3Bucket, tmp_path: Path) -> None:
    """A student's own WHERE-ARE-MY-FILES.txt stays theirs (the note takes another name, so
    `tar xzf` overwrites nothing); a home copied last night without the note, unchanged since,
    is copied again at term end so that its final copy has the note."""
    from shared.teardown.notes import WHERE

    store = port(s3)
    home = make_home(tmp_path / "src", "alice")
    mine = b"my own list of where I keep things\n"
    touch(home.path / WHERE, mine)
    night = archive_homes(store, PREFIX, [home], "20261218T030000Z")
    assert [c.status for c in night] == ["archived"]
    assert find(store, PREFIX, home.owner).extras == ()
    note = b"Your files from CS101 are in this archive.\n"
    options = Options(extras=lambda owner: [(WHERE, note)])
    final = archive_homes(store, PREFIX, [home], "20261219T050000Z", options)
    assert [c.status for c in final] == ["archived"]  # unchanged home, but no note yet
    manifest = find(store, PREFIX, home.owner)
    assert [e.path for e in manifest.extras] == ["WHERE-ARE-MY-FILES-2.txt"]
    with tarfile.open(fileobj=io.BytesIO(store.get_bytes(manifest.archive_key))) as tar:
        names = tar.getnames()
        assert names.count(WHERE) == 1 and names.count("WHERE-ARE-MY-FILES-2.txt") == 1
        assert (tar.extractfile(WHERE) or io.BytesIO()).read() == mine
        assert (tar.extractfile("WHERE-ARE-MY-FILES-2.txt") or io.BytesIO()).read() == note
    assert restore(store, manifest, tmp_path / "back").ok
    assert tree(tmp_path / "back") == tree(home.path)
    assert (tmp_path / "back" / WHERE).read_bytes() == mine
    again = archive_homes(store, PREFIX, [home], "20261219T060000Z", options)
    assert [c.status for c in again] == ["unchanged"]  # the same note: no new copy


def test_a_batch_copies_every_home_in_its_order_and_a_missing_one_fails_alone(
        s3: S3Bucket, tmp_path: Path) -> None:
    """Homes of different sizes finish in any order on the workers; the results keep the
    batch's, a home gone before its walk fails alone, and every other one comes back."""
    store = port(s3)
    sizes = [1, 300_000, 20, 2_000_000, 5_000, 700_000]
    homes = [Home(Owner(f"s{i}"), touch(tmp_path / "src" / f"s{i}" / "data.bin",
                                        os.urandom(size)).parent)
             for i, size in enumerate(sizes)]
    batch = [*homes[:3], Home(Owner("gone"), tmp_path / "src" / "gone"), *homes[3:]]
    seen: list[Copy] = []
    done = archive_homes(store, PREFIX, batch, "20261207T030000Z", Options(jobs=2),
                         progress=seen.append)
    assert [c.owner.user for c in done] == [h.owner.user for h in batch]
    assert [c.status for c in done] == ["archived"] * 3 + ["failed"] + ["archived"] * 3
    assert "gone: not a folder" in done[3].error
    assert sorted(c.owner.user for c in seen) == sorted(h.owner.user for h in batch)
    for home in homes:
        back = tmp_path / "back" / home.owner.user
        assert restore(store, find(store, PREFIX, home.owner), back).ok
        assert tree(back) == tree(home.path)
