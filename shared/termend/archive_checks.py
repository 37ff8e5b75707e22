"""Is a user's final archive what the term index says? Checked before anything is deleted.

The check reads, never writes: the object is there, its size and sha256 (streamed: memory flat
in the archive's size) are the index's, and the manifest beside it names that object with that
size and sha256. `archive-term` checked more when it wrote the index (every file of the
manifest against the archive, the manifest against the final snapshot); this re-check is what a
teardown adds, because objects can be lost or overwritten between the two (a lifecycle rule, a
hand-run `aws s3 rm`, a bucket restored from an older backup).
"""

from __future__ import annotations

import hashlib
import json

from shared.ports.errors import ApiError
from shared.ports.s3 import S3
from shared.teardown.term_index import IndexEntry

READ = 2**20


def digest(s3: S3, key: str) -> tuple[int, str]:
    """(bytes, hex sha256) of an object, streamed."""
    body = s3.open(key)
    sha, size = hashlib.sha256(), 0
    try:
        while chunk := body.read(READ):
            sha.update(chunk)
            size += len(chunk)
    finally:
        body.close()
    return size, sha.hexdigest()


def problem(s3: S3, entry: IndexEntry | None, rehash: bool = True) -> str:
    """"" if the entry's archive checks, else what is wrong (one line for the report)."""
    if entry is None or not entry.object:
        return "not archived (no entry in the term index)"
    if not entry.verified:
        return f"archive not verified: {entry.problem or 'archive-term did not verify it'}"
    try:
        found = s3.head(entry.object)
        if found is None:
            return f"archive missing: no object {entry.object}"
        if found.size != entry.size:
            return (f"archive {entry.object} is {found.size} bytes, the index says "
                    f"{entry.size}")
        try:
            manifest = json.loads(s3.get_bytes(entry.manifest))
            named = manifest["archive"]
        except ApiError as err:
            if err.not_found:
                return f"manifest missing: no object {entry.manifest}"
            raise
        except (ValueError, KeyError, TypeError):
            return f"manifest {entry.manifest} is unreadable"
        if (named.get("key"), named.get("size"), named.get("sha256")) != \
                (entry.object, entry.size, entry.sha256):
            return f"manifest {entry.manifest} names another archive than the index"
        if rehash:
            size, sha = digest(s3, entry.object)
            if (size, sha) != (entry.size, entry.sha256):
                return (f"archive {entry.object} has sha256 {sha[:12]}..., the index says "
                        f"{entry.sha256[:12]}...")
    except ApiError as err:
        return f"archive could not be checked: {err}"
    return ""
