"""The term index: what `archive-term` archived and verified, one entry per user, written to
`s3://BUCKET/COURSE/TERM/index.json`; and the teardown's progress records beside it.

    COURSE/TERM/index.json                 {"format": "classops-term-index/1", "entries": [...]}
    COURSE/TERM/teardown/USER[/SERVER].json  a user torn down: what was deleted, when

An entry says where the user's final archive is (`object`, its `manifest`), its `size` and
`sha256` (from the manifest, and checked against the object), whether it was `verified` (object
present, size and sha256 match, the manifest lists the final snapshot's files) and, if not, the
`problem`. `claim`/`claim_uid` and `snapshot`/`snapshot_at` name the PVC and the final snapshot
it was taken from, so a teardown knows what "mounted since the final snapshot" means.

The index is written whole, once per `archive-term` run (a run that re-archives a few users
rewrites it with their new entries). A teardown never rewrites it: it writes one small record
per user it finished, after that user's deletes, so a second run after a crash skips those users
and, for the one it was in the middle of, finds the deleted objects gone (no DELETE repeated).
Keys use the raw username URL-encoded, as the archives do.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any
from urllib.parse import quote, unquote

FORMAT = "classops-term-index/1"
#: Set by a teardown on a PVC it is about to delete (the value: its verified final archive's
#: key): the backup's PVC finalizer then lets it go without another last snapshot.
RELEASED = "classops.edu/final-archive"
INDEX = "index.json"
RECORDS = "teardown/"


def prefix_of(course: str, term: str) -> str:
    return f"{course}/{term}"


def index_key(prefix: str) -> str:
    return f"{prefix.strip('/')}/{INDEX}"


def owner_part(user: str, server: str = "") -> str:
    part = quote(user, safe="")
    return f"{part}/{quote(server, safe='')}" if server else part


def record_key(prefix: str, user: str, server: str = "") -> str:
    return f"{prefix.strip('/')}/{RECORDS}{owner_part(user, server)}.json"


def owner_of_record(prefix: str, key: str) -> tuple[str, str] | None:
    rest = key.removeprefix(f"{prefix.strip('/')}/{RECORDS}")
    if rest == key or not rest.endswith(".json"):
        return None
    user, _, server = rest.removesuffix(".json").partition("/")
    return unquote(user), unquote(server)


@dataclass(frozen=True)
class IndexEntry:
    user: str
    server: str = ""
    claim: str = ""
    claim_uid: str = ""
    snapshot: str = ""  # the final snapshot the archive was made from
    snapshot_at: str = ""  # its creationTimestamp, ISO 8601
    object: str = ""  # the archive's key (tar.gz)
    manifest: str = ""  # its manifest's key
    size: int = 0  # the archive's bytes
    sha256: str = ""  # the archive's sha256
    verified: bool = False
    problem: str = ""  # why not verified
    files: int = 0
    bytes: int = 0  # bytes of file content in the home
    note: bool = False  # the archive carries WHERE-ARE-MY-FILES.txt

    @property
    def owner(self) -> tuple[str, str]:
        return self.user, self.server

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> IndexEntry:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})


@dataclass(frozen=True)
class TermIndex:
    course: str
    term: str
    written: str  # ISO 8601
    entries: tuple[IndexEntry, ...] = ()
    # the term's other archives: the hub database, the rendered manifests (same fields)
    extras: Mapping[str, IndexEntry] = field(default_factory=dict)

    def by_owner(self) -> dict[tuple[str, str], IndexEntry]:
        return {e.owner: e for e in self.entries}

    def to_json(self) -> bytes:
        doc = {"format": FORMAT, "course": self.course, "term": self.term,
               "written": self.written, "entries": [e.as_dict() for e in self.entries],
               "extras": {k: v.as_dict() for k, v in sorted(self.extras.items())}}
        return json.dumps(doc, indent=1, sort_keys=True).encode()

    @classmethod
    def from_json(cls, data: bytes, where: str = INDEX) -> TermIndex:
        try:
            doc = json.loads(data)
            if doc.get("format") != FORMAT:
                raise ValueError(f"format {doc.get('format')!r}, expected {FORMAT}")
            return cls(str(doc["course"]), str(doc["term"]), str(doc["written"]),
                       tuple(IndexEntry.from_dict(e) for e in doc["entries"]),
                       {str(k): IndexEntry.from_dict(v)
                        for k, v in (doc.get("extras") or {}).items()})
        except (ValueError, KeyError, TypeError, AttributeError) as err:
            raise ValueError(f"{where}: not a readable term index: {err}") from None

    def merged(self, newer: Iterable[IndexEntry], written: str,
               extras: Mapping[str, IndexEntry] | None = None) -> TermIndex:
        """This index with `newer` entries replacing those of the same owner."""
        found = self.by_owner()
        found.update({e.owner: e for e in newer})
        return TermIndex(self.course, self.term, written,
                         tuple(found[k] for k in sorted(found)),
                         {**self.extras, **(extras or {})})


@dataclass(frozen=True)
class TornDown:
    """One user finished by a teardown: what it deleted (targets), when."""

    user: str
    server: str
    deleted: tuple[str, ...]
    at: str

    def to_json(self) -> bytes:
        return json.dumps({"user": self.user, "server": self.server,
                           "deleted": list(self.deleted), "at": self.at}).encode()

    @classmethod
    def from_json(cls, data: bytes) -> TornDown:
        doc = json.loads(data)
        return cls(str(doc["user"]), str(doc.get("server", "")),
                   tuple(str(d) for d in doc.get("deleted", [])), str(doc.get("at", "")))
