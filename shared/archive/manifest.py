"""A copy's manifest: every entry of the home (path, type, size, mode, mtime, sha256 or link
target) and the archive's own size and sha256. Pure: data, JSON, and the comparisons an
incremental copy needs.

mtime is kept as the PAX header writes it, seconds with nanoseconds as a decimal string
(`"1780000123.123456789"`): a JSON float would round it, and an incremental copy compares it
exactly. Modes are octal strings (`"0644"`), as `ls` and `chmod` speak them. Paths are POSIX,
relative to the home; names that are not UTF-8 travel as JSON's `\\udcXX` escapes (Python's
surrogateescape), so they round-trip.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

FORMAT = "classops-archive/1"
Kind = Literal["file", "dir", "symlink"]


def mtime_text(ns: int) -> str:
    return f"{ns // 1_000_000_000}.{ns % 1_000_000_000:09d}"


def mtime_ns(text: str) -> int:
    seconds, _, fraction = text.partition(".")
    return int(seconds) * 1_000_000_000 + int((fraction + "000000000")[:9])


@dataclass(frozen=True)
class Entry:
    path: str
    kind: Kind
    mode: int  # permission bits (& 0o7777)
    mtime: str  # mtime_text(st_mtime_ns)
    size: int = 0  # files only
    sha256: str = ""  # files only, hex
    target: str = ""  # symlinks only

    def same_stat(self, other: Entry) -> bool:
        """Equal as `stat` sees it: what an incremental copy compares, without hashing."""
        return (self.path, self.kind, self.mode, self.mtime, self.size, self.target) == \
            (other.path, other.kind, other.mode, other.mtime, other.size, other.target)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"path": self.path, "type": self.kind,
                               "mode": f"{self.mode:04o}", "mtime": self.mtime}
        if self.kind == "file":
            out.update(size=self.size, sha256=self.sha256)
        elif self.kind == "symlink":
            out["target"] = self.target
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Entry:
        return cls(str(d["path"]), d["type"], int(str(d["mode"]), 8), str(d["mtime"]),
                   int(d.get("size", 0)), str(d.get("sha256", "")), str(d.get("target", "")))


@dataclass(frozen=True)
class Manifest:
    user: str
    server: str
    timestamp: str
    archive_key: str
    archive_size: int
    archive_sha256: str
    files: tuple[Entry, ...]
    extras: tuple[Entry, ...] = ()  # added by a hook (e.g. a note to the student), not the home
    created: str = ""  # ISO 8601, when the copy was made
    meta: Mapping[str, Any] = field(default_factory=dict)  # free-form: source snapshot, tool

    @property
    def size(self) -> int:
        """Bytes of file content in the home."""
        return sum(e.size for e in self.files)

    def to_json(self) -> bytes:
        doc = {"format": FORMAT, "user": self.user, "server": self.server,
               "timestamp": self.timestamp, "created": self.created,
               "archive": {"key": self.archive_key, "size": self.archive_size,
                           "sha256": self.archive_sha256},
               "counts": counts(self.files), "meta": dict(self.meta),
               "files": [e.as_dict() for e in self.files],
               "extras": [e.as_dict() for e in self.extras]}
        return json.dumps(doc, indent=1).encode()

    @classmethod
    def from_json(cls, data: bytes, where: str = "manifest") -> Manifest:
        try:
            doc = json.loads(data)
            if doc.get("format") != FORMAT:
                raise ValueError(f"format {doc.get('format')!r}, expected {FORMAT}")
            archive = doc["archive"]
            return cls(str(doc["user"]), str(doc.get("server", "")), str(doc["timestamp"]),
                       str(archive["key"]), int(archive["size"]), str(archive["sha256"]),
                       tuple(Entry.from_dict(e) for e in doc["files"]),
                       tuple(Entry.from_dict(e) for e in doc.get("extras", [])),
                       str(doc.get("created", "")), dict(doc.get("meta") or {}))
        except (ValueError, KeyError, TypeError, AttributeError) as err:
            raise ValueError(f"{where}: not a readable manifest: {err}") from None


def counts(entries: Iterable[Entry]) -> dict[str, int]:
    found = {"file": 0, "dir": 0, "symlink": 0, "bytes": 0}
    for e in entries:
        found[e.kind] += 1
        found["bytes"] += e.size
    return found


def unchanged(walked: Sequence[Entry], previous: Manifest | None) -> bool:
    """The home as walked (hashes not yet known) is the one `previous` describes."""
    if previous is None or len(walked) != len(previous.files):
        return False
    return all(a.same_stat(b) for a, b in zip(walked, previous.files, strict=True))


def known_hashes(previous: Manifest | None) -> dict[str, Entry]:
    """Files of the last copy by path: one whose size and mtime still match needs no hashing
    (restic's rule; a change that keeps both is not seen, as with restic)."""
    return {e.path: e for e in previous.files if e.kind == "file"} if previous else {}


def fingerprint(walked: Sequence[Entry]) -> str:
    """A digest of what `unchanged` compares (every entry's path, type, mode, mtime, size,
    target): equal fingerprints, an unchanged home, with no manifest read."""
    digest = hashlib.sha256()
    for e in walked:
        digest.update(f"{e.path}\0{e.kind}\0{e.mode}\0{e.mtime}\0{e.size}\0{e.target}\n"
                      .encode("utf-8", "surrogateescape"))
    return digest.hexdigest()[:32]
