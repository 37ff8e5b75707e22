"""Which copy is a user's final archive: the one stamped with the final snapshot's time, or,
when the copies run of that snapshot found the home unchanged, the last copy before it."""

from __future__ import annotations

import hashlib
import json

from shared.ports.s3 import S3
from shared.termend.indexing import Final, entry_for
from tests.servers.fixtures import S3Bucket

from .term import PREFIX, archive_bytes


def copy(s3: S3, user: str, timestamp: str) -> str:
    data = archive_bytes(user)
    key = f"{PREFIX}/{user}/{timestamp}.tar.gz"
    manifest = json.dumps({"format": "classops-archive/1", "user": user, "timestamp": timestamp,
                           "archive": {"key": key, "size": len(data),
                                       "sha256": hashlib.sha256(data).hexdigest()},
                           "files": [], "extras": []}).encode()
    s3.put_bytes(key, data)
    s3.put_bytes(f"{PREFIX}/{user}/{timestamp}.manifest.json", manifest)
    s3.put_bytes(f"{PREFIX}/{user}/latest.json", manifest)
    return key


def final(user: str, at: str) -> Final:
    return Final(user, "", f"claim-{user}", "uid", f"claim-{user}-final", at, at)


def test_the_copy_stamped_with_the_final_snapshot_is_the_final_archive(s3: S3Bucket) -> None:
    store = S3(s3.client, s3.name)
    key = copy(store, "alice", "20261219T050000Z")
    entry = entry_for(store, PREFIX, final("alice", "2026-12-19T05:00:00+00:00"))
    assert entry.verified and entry.object == key


def test_an_unchanged_home_keeps_its_last_copy_only_if_the_final_run_said_so(
        s3: S3Bucket) -> None:
    store = S3(s3.client, s3.name)
    key = copy(store, "bob", "20261218T030000Z")  # the last nightly copy
    later = final("bob", "2026-12-19T05:00:00+00:00")
    unknown = entry_for(store, PREFIX, later)
    assert not unknown.verified and "no archive made from the final snapshot" in unknown.problem
    unchanged = entry_for(store, PREFIX, later, unchanged_ok=True)
    assert unchanged.verified and unchanged.object == key
    earlier = final("bob", "2026-12-17T05:00:00+00:00")  # a copy newer than the snapshot
    assert not entry_for(store, PREFIX, earlier, unchanged_ok=True).verified
