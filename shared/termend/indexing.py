"""After the final snapshots: find each user's final archive, verify it, write the term index.

A user's final archive is the copy whose manifest says it was made from that user's final
snapshot (`meta.snapshot`, which the copies worker records): the newest `final` VolumeSnapshot
of their claim. Verified means: the manifest is there and readable, the archive object is there,
its size and streamed sha256 are the manifest's. Whether it carries `WHERE-ARE-MY-FILES.txt`
is recorded (`note`) and reported, not a condition: a verified copy without the note is still
the student's files. The rendered manifests of the stack are archived beside (`_term/`),
and re-read to verify them. The index is written whole, merged over the last one (a re-run that
archived a few users again replaces only theirs).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from shared.events import KubeObject
from shared.ports.errors import ApiError
from shared.ports.kube import Kube
from shared.ports.s3 import S3
from shared.teardown.notes import is_where_note
from shared.teardown.term_index import IndexEntry, TermIndex, index_key
from shared.termend.archive_checks import digest
from shared.termend.survey import SERVERNAME, SNAPSHOTS, USERNAME, read_index

PURPOSE = "classops.edu/purpose=final"
HUB_DB_CLAIM = "hub-db-dir"
HUB_DB_OWNER = "_classops-hub-db"  # as functions/term_end.py files the hub database's copy
TAKEN_FOR = "classops.edu/at"


@dataclass(frozen=True)
class Final:
    user: str
    server: str
    claim: str
    claim_uid: str
    snapshot: str
    snapshot_at: str
    at: str = ""  # the instant the snapshot stands for (`classops.edu/at`): the copy's stamp

    @property
    def owner(self) -> str:
        """As the copies name an owner: `alice`, `bob/project` for a named server."""
        return f"{self.user}/{self.server}" if self.server else self.user


def finals(kube: Kube, namespace: str, hub_db: bool = False) -> list[Final]:
    """The newest final snapshot of each user claim (by its annotations), by user; or, with
    `hub_db`, the hub database's alone."""
    newest: dict[str, KubeObject] = {}
    for snap in kube.list(SNAPSHOTS, "VolumeSnapshot", namespace, PURPOSE):
        claim = ((snap.raw.get("spec") or {}).get("source") or {}).get(
            "persistentVolumeClaimName", "")
        if claim and (claim == HUB_DB_CLAIM) == hub_db and (
                claim not in newest or snap.metadata.get("creationTimestamp", "")
                > newest[claim].metadata.get("creationTimestamp", "")):
            newest[claim] = snap
    found = []
    for claim, snap in sorted(newest.items()):
        notes = snap.metadata.get("annotations") or {}
        pvc = kube.get("v1", "PersistentVolumeClaim", claim, namespace)
        if USERNAME in notes:
            found.append(Final(str(notes[USERNAME]), str(notes.get(SERVERNAME, "")), claim,
                               pvc.uid if pvc else "", snap.name,
                               str(snap.metadata.get("creationTimestamp", "")),
                               str(notes.get(TAKEN_FOR, ""))))
    return found


def stamp(at: str) -> str:
    """The copies' timestamp of an instant: UTC to the second, `20261219T050000Z`."""
    when = datetime.fromisoformat(at.replace("Z", "+00:00"))
    return f"{when.astimezone(UTC):%Y%m%dT%H%M%SZ}"


def folder(prefix: str, user: str, server: str = "") -> str:
    parts = [prefix, quote(user, safe="")] + ([quote(server, safe="")] if server else [])
    return "/".join(parts) + "/"


def find_manifest(s3: S3, prefix: str, final: Final,
                  unchanged_ok: bool = False) -> tuple[str, dict[str, Any]] | None:
    """The manifest of the copy made from `final.snapshot`: the copies worker stamps a copy
    with its snapshot's time, so it is `TIMESTAMP.manifest.json`; else (another tool) the
    newest manifest in the folder that names the snapshot in its `meta`."""
    where = folder(prefix, final.user, final.server)
    if final.at:
        key = f"{where}{stamp(final.at)}.manifest.json"
        try:
            doc = json.loads(s3.get_bytes(key))
            if isinstance(doc, dict) and (doc.get("meta") or {}).get(
                    "snapshot", final.snapshot) == final.snapshot:
                return key, doc
        except ApiError as err:
            if not err.not_found:
                raise
        except ValueError:
            return key, {}
        if unchanged_ok:  # the copy of this snapshot found the home unchanged: the last
            latest = _latest(s3, where)  # copy (no newer than the snapshot) describes it
            if latest is not None and str(latest[1].get("timestamp", "")) <= stamp(final.at):
                return latest
    keys = sorted((o.key for o in s3.objects(where)
                   if o.key.endswith(".manifest.json") and "/" not in o.key[len(where):]),
                  reverse=True)
    for key in keys:
        try:
            doc = json.loads(s3.get_bytes(key))
        except (ApiError, ValueError):
            continue
        if isinstance(doc, dict) and (doc.get("meta") or {}).get("snapshot") == final.snapshot:
            return key, doc
    return None


def _latest(s3: S3, where: str) -> tuple[str, dict[str, Any]] | None:
    try:
        doc = json.loads(s3.get_bytes(f"{where}latest.json"))
    except ApiError as err:
        if err.not_found:
            return None
        raise
    except ValueError:
        return None
    timestamp = str(doc.get("timestamp", "")) if isinstance(doc, dict) else ""
    return (f"{where}{timestamp}.manifest.json", doc) if timestamp else None


def entry_for(s3: S3, prefix: str, final: Final, unchanged_ok: bool = False) -> IndexEntry:
    """The index entry of `final`'s copy, verified or with its problem. `unchanged_ok`: the
    copies run of this very snapshot succeeded for this owner, so if it made no new copy (the
    home unchanged since the last one, by size and mtime), the last copy is the final one."""
    base = IndexEntry(final.user, final.server, final.claim, final.claim_uid, final.snapshot,
                      final.snapshot_at)
    found = find_manifest(s3, prefix, final, unchanged_ok)
    if found is None:
        return _with(base, problem=f"no archive made from the final snapshot {final.snapshot}")
    key, doc = found
    try:
        archive = doc["archive"]
        object_key, size, sha = str(archive["key"]), int(archive["size"]), str(archive["sha256"])
        files = [f for f in doc.get("files", []) if f.get("type") == "file"]
        entry = _with(base, object=object_key, manifest=key, size=size, sha256=sha,
                      files=len(files), bytes=sum(int(f.get("size", 0)) for f in files))
        extras = {e.get("path") for e in doc.get("extras", [])}
    except (KeyError, TypeError, ValueError):
        return _with(base, manifest=key, problem=f"manifest {key} is unreadable")
    try:
        head = s3.head(object_key)
        if head is None:
            return _with(entry, problem=f"archive missing: no object {object_key}")
        got_size, got_sha = digest(s3, object_key)
    except ApiError as err:
        return _with(entry, problem=f"archive could not be read: {err}")
    if (got_size, got_sha) != (size, sha):
        return _with(entry, problem=f"archive {object_key}: {got_size} bytes, sha256 "
                                    f"{got_sha[:12]}..., the manifest says {size} bytes, "
                                    f"{sha[:12]}...")
    return _with(entry, verified=True, note=any(is_where_note(str(p)) for p in extras))


def _with(entry: IndexEntry, **changes: Any) -> IndexEntry:
    return dataclasses.replace(entry, **changes)


def archive_bytes(s3: S3, key: str, data: bytes, user: str = "") -> IndexEntry:
    """Store `data` at `key` and verify it by reading it back."""
    s3.put_bytes(key, data)
    size, sha = digest(s3, key)
    wanted = hashlib.sha256(data).hexdigest()
    ok = (size, sha) == (len(data), wanted)
    return IndexEntry(user, object=key, size=size, sha256=sha, verified=ok,
                      problem="" if ok else f"{key} reads back differently", bytes=len(data))


def write_index(s3: S3, prefix: str, course: str, term: str, entries: list[IndexEntry],
                written: datetime, extras: Mapping[str, IndexEntry] | None = None,
                progress: Callable[[str], None] | None = None) -> TermIndex:
    before = read_index(s3, prefix) or TermIndex(course, term, written.isoformat())
    index = before.merged(entries, written.isoformat(), extras)
    s3.put_bytes(index_key(prefix), index.to_json(), "application/json")
    if progress is not None:
        progress(f"wrote s3://{s3.bucket}/{index_key(prefix)}: {len(index.entries)} users, "
                 f"{sum(e.verified for e in index.entries)} verified")
    return index
