"""The archive worker: copy each home of a batch to S3 as a tar.gz and, last, its manifest.

For each home: walk it; compare its stat fingerprint with its marker (all markers of the class
come in one listing before the batch); if nothing changed by size, mtime, mode and type, that is
the whole cost: no request. Without a matching marker, read the owner's `latest.json` (one GET)
and compare entry by entry (a lost marker is made again). Otherwise stream a new archive,
hashing only the files whose size or mtime changed (the rest keep the last manifest's SHA-256),
then write `TIMESTAMP.manifest.json`, then `latest.json` (only forwards in time), then the
marker. A failure
leaves no manifest, so the copy does not exist; running the batch again finishes it (the same
timestamp names the same keys).

One S3 client (one connection pool) serves the whole batch; homes run on `jobs` threads, which
is where compression overlaps with the uploads (ISA-L and the sockets release the GIL).
`extras` is the hook for files the archive should carry besides the home (e.g. a note telling
the student where their files went): they go at the archive's root, are listed apart in the
manifest, and are left out of restores. An extra never takes a name the home already has: a
student's own `WHERE-ARE-MY-FILES.txt` stays in the archive as theirs and the note becomes
`WHERE-ARE-MY-FILES-2.txt`. Why rename rather than nest the home in a folder: the archive keeps
the layout every copy has (the home at the root, what a student expects on unpacking), and a tar
with two members of one name would have `tar xzf` overwrite the student's file with the note.
A home unchanged since its last copy is copied anew only if that copy lacks a requested extra
(so a term-end copy carries its note even when the home is as the night before); with extras,
the marker alone does not settle it (one GET of `latest.json` per home).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from shared.ports.errors import ApiError
from shared.ports.s3 import S3

from .layout import STATE, Owner, Place, check_prefix, owner_of_folder, parse_mark, stamp
from .manifest import Entry, Manifest, fingerprint, known_hashes, mtime_text, unchanged
from .packing import PART, ArchiveError, TarGz, Upload, part_size
from .reading import read_latest
from .walking import walk

Extras = Callable[[Owner], Sequence[tuple[str, bytes]]]
Status = Literal["archived", "unchanged", "failed"]


@dataclass(frozen=True)
class Home:
    owner: Owner
    path: Path


@dataclass(frozen=True)
class Options:
    level: int = 1  # igzip 0-3; 1 is the speed/size knee here
    part: int = PART
    jobs: int = 8  # homes at once (the unchanged ones cost a GET each: latency to hide)
    extras: Extras | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)  # into each manifest, e.g. snapshot


@dataclass(frozen=True)
class Copy:
    """What happened to one home. `timestamp` is the copy that is now its latest (for an
    unchanged home, the earlier copy that still describes it); a failed one has none, and its
    `archive` is the key it tried to write (what the ledger names)."""

    owner: Owner
    status: Status
    timestamp: str = ""
    manifest: str = ""
    archive: str = ""
    files: int = 0
    size: int = 0  # bytes of file content in the home
    stored: int = 0  # bytes of the archive written (0 when unchanged)
    hashed: int = 0  # bytes read and hashed
    seconds: float = 0.0
    error: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"user": self.owner.user, "server": self.owner.server, "status": self.status,
                "timestamp": self.timestamp, "manifest": self.manifest,
                "archive": self.archive, "files": self.files, "size": self.size,
                "stored": self.stored, "hashed": self.hashed,
                "seconds": round(self.seconds, 3), "error": self.error}


def homes_in(src: Path, encoded: bool = False) -> list[Home]:
    """Each folder in `src` is one student's home, named by their username (`encoded`: by
    `layout.folder_name`, which also carries a named server)."""
    if not src.is_dir():
        raise NotADirectoryError(f"{src}: not a folder")
    return [Home(owner_of_folder(p.name, encoded), p) for p in sorted(src.iterdir())
            if p.is_dir() and not p.is_symlink()]


def copies(s3: S3, place: Place) -> list[str]:
    """Timestamps of the owner's committed copies (those with a manifest), oldest first."""
    found = (place.timestamp_of(o.key) for o in s3.objects(place.folder))
    return sorted(t for t in found if t)


def read_marks(s3: S3, prefix: str) -> dict[Owner, tuple[str, str, str]]:
    """Every home's marker under `prefix`: owner -> (fingerprint, timestamp, key); one listing
    for the whole class. Unreadable: {} (each home then reads its `latest.json`)."""
    root = check_prefix(prefix)
    found: dict[Owner, tuple[str, str, str]] = {}
    try:
        for obj in s3.objects(f"{root}/{STATE}/"):
            mark = parse_mark(root, obj.key)
            if mark is not None and mark[2] >= found.get(mark[0], ("", "", ""))[1]:
                found[mark[0]] = (mark[1], mark[2], obj.key)
    except ApiError:
        return {}
    return found


def archive_home(s3: S3, prefix: str, home: Home, timestamp: str, options: Options = Options(),
                 now: Callable[[], datetime] = lambda: datetime.now(UTC),
                 mark: tuple[str, str, str] | None = None) -> Copy:
    """Copy one home (see the module's docstring); raises on failure, leaving no manifest.
    `mark`: the home's marker from `read_marks` (fingerprint, timestamp, key), if any."""
    began = time.monotonic()
    place = Place(check_prefix(prefix), home.owner)
    walked = walk(home.path)
    print_ = fingerprint(walked.entries)
    extra = _extras(options, home.owner, {e.path for e in walked.entries})
    if mark is not None and mark[0] == print_ and not extra:  # unchanged: no request at all
        return Copy(home.owner, "unchanged", mark[1], place.manifest(mark[1]),
                    place.archive(mark[1]), len(walked.entries), walked.size,
                    seconds=time.monotonic() - began)
    previous = read_latest(s3, place)
    if previous is not None and unchanged(walked.entries, previous) and _carries(previous,
                                                                                 extra):
        _remark(s3, place, print_, previous.timestamp, mark)  # a marker lost, or never made
        return Copy(home.owner, "unchanged", previous.timestamp, place.manifest(
            previous.timestamp), previous.archive_key, len(walked.entries), walked.size,
            seconds=time.monotonic() - began)
    known = known_hashes(previous)
    key = place.archive(timestamp)
    upload = Upload(s3, key, part_size(walked.size, options.part))
    tar = TarGz(upload, options.level)
    try:
        files = tuple(tar.add(e, home.path, _known(e, known)) for e in walked.entries)
        mtime = mtime_text(int(now().timestamp()) * 1_000_000_000)
        extras = tuple(tar.add_bytes(Entry(path, "file", 0o644, mtime), data)
                       for path, data in extra)
        tar.close()
        size, sha256 = upload.finish()
    except BaseException:
        upload.abort()
        raise
    manifest = Manifest(home.owner.user, home.owner.server, timestamp, key, size, sha256, files,
                        extras, now().isoformat(timespec="seconds"),
                        {**options.meta, **({"skipped": walked.skipped} if walked.skipped
                                            else {})})
    data = manifest.to_json()
    s3.put_bytes(place.manifest(timestamp), data, "application/json")  # the commit
    if previous is None or previous.timestamp <= timestamp:
        s3.put_bytes(place.latest, data, "application/json")
        _remark(s3, place, print_, timestamp, mark)
    return Copy(home.owner, "archived", timestamp, place.manifest(timestamp), key, len(files),
                walked.size, size, tar.hashed, time.monotonic() - began)


def _extras(options: Options, owner: Owner, taken: set[str]) -> list[tuple[str, bytes]]:
    """The owner's extras, each renamed `NAME-2.txt`, `NAME-3.txt`... if the home (or an earlier
    extra) already has its name: an extra never shadows a student's file."""
    found = []
    for path, data in options.extras(owner) if options.extras else ():
        name, n = path, 1
        while name in taken:
            n += 1
            stem, dot, suffix = path.rpartition(".")
            name = f"{stem}-{n}.{suffix}" if dot and stem else f"{path}-{n}"
        taken.add(name)
        found.append((name, data))
    return found


def _carries(previous: Manifest, extra: Sequence[tuple[str, bytes]]) -> bool:
    """The last copy already holds each of these extras, by name and content."""
    have = {(e.path, e.sha256) for e in previous.extras}
    return all((path, hashlib.sha256(data).hexdigest()) in have for path, data in extra)


def _remark(s3: S3, place: Place, print_: str, timestamp: str,
            old: tuple[str, str, str] | None) -> None:
    """The marker moves after `latest.json` (so it never runs ahead of it); the old one goes."""
    key = place.mark(print_, timestamp)
    s3.put_bytes(key, b"", "application/octet-stream")
    if old is not None and old[2] != key:
        s3.delete(old[2])


def _known(entry: Entry, known: dict[str, Entry]) -> str:
    before = known.get(entry.path)
    return before.sha256 if before is not None and before.same_stat(entry) else ""


def archive_homes(s3: S3, prefix: str, homes: Iterable[Home], timestamp: str | None = None,
                  options: Options = Options(),
                  progress: Callable[[Copy], None] | None = None,
                  now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> list[Copy]:
    """Copy every home, `options.jobs` at a time; one home's failure is its `Copy`'s error
    (status "failed"), never the batch's. Results in the order of `homes`."""
    timestamp = timestamp or stamp(now())
    lock = threading.Lock()
    marks = read_marks(s3, prefix)

    def one(home: Home) -> Copy:
        began = time.monotonic()
        try:
            done = archive_home(s3, prefix, home, timestamp, options, now,
                                marks.get(home.owner))
        except (ArchiveError, ApiError, OSError, ValueError) as err:
            done = Copy(home.owner, "failed", archive=Place(prefix.strip("/"), home.owner)
                        .archive(timestamp), error=_say(err), seconds=time.monotonic() - began)
        if progress is not None:
            with lock:
                progress(done)
        return done

    with ThreadPoolExecutor(max(1, options.jobs), thread_name_prefix="archive") as pool:
        return list(pool.map(one, homes))


def _say(err: BaseException) -> str:
    if isinstance(err, OSError) and err.strerror:
        return f"{err.strerror}: {err.filename}" if err.filename else err.strerror
    return str(err) or type(err).__name__
