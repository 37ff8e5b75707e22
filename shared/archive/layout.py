"""Where a student's copies live in the bucket (pure: names only, no I/O).

    PREFIX/USER[/SERVER]/TIMESTAMP.tar.gz        the home as a tar.gz anyone can open
    PREFIX/USER[/SERVER]/TIMESTAMP.manifest.json  then, last, its manifest: the commit record
    PREFIX/USER[/SERVER]/latest.json              a copy of the newest manifest, written after it

    PREFIX/%state/USER[/SERVER]/FINGERPRINT.TIMESTAMP  an empty marker: the home's stat
                                                  fingerprint as of its latest copy

PREFIX is `COURSE/TERM`; USER is the raw hub username URL-encoded (`alice%40uni.edu`), SERVER
the named server's name, also encoded (the default server has none). A timestamp is UTC to the
second, `20261207T150000Z`, so keys sort by time. An archive without its manifest is garbage
(a crash, a failed upload) and `latest.json` moves only once the manifest exists: a reader who
starts from `latest.json` never sees a half-written copy. It is also what an incremental copy
compares with, in one GET.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote, unquote

ARCHIVE = ".tar.gz"
STATE = "%state"  # no URL-encoded name is this (a literal % is always %25), so no user's folder
MANIFEST = ".manifest.json"
LATEST = "latest.json"
_STAMP = re.compile(r"^\d{8}T\d{6}Z$")


def stamp(at: datetime) -> str:
    return f"{at.astimezone(UTC):%Y%m%dT%H%M%SZ}"


def parse_stamp(text: str) -> datetime:
    if not _STAMP.match(text):
        raise ValueError(f"{text!r} is not a copy's timestamp, expected YYYYMMDDTHHMMSSZ")
    return datetime.strptime(text, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)


def check_prefix(prefix: str) -> str:
    """`COURSE/TERM`, without leading or trailing slashes."""
    cleaned = prefix.strip("/")
    if not cleaned or "//" in cleaned:
        raise ValueError(f"prefix {prefix!r}: expected COURSE/TERM, e.g. cs101/fall-2026")
    return cleaned


@dataclass(frozen=True)
class Owner:
    """Whose home: a hub user and, for a named server, its name ("" is the default server)."""

    user: str
    server: str = ""

    def __post_init__(self) -> None:
        if not self.user or "/" in self.user:
            raise ValueError(f"username {self.user!r}: not empty and without '/'")

    @classmethod
    def parse(cls, text: str) -> Owner:
        """`alice` or `alice/project` (a hub username has no '/')."""
        user, _, server = text.partition("/")
        return cls(user, server)

    def __str__(self) -> str:
        return f"{self.user}/{self.server}" if self.server else self.user


@dataclass(frozen=True)
class Place:
    """One owner's folder of copies under a course prefix."""

    prefix: str
    owner: Owner

    @property
    def folder(self) -> str:
        parts = [self.prefix, quote(self.owner.user, safe="")]
        if self.owner.server:
            parts.append(quote(self.owner.server, safe=""))
        return "/".join(parts) + "/"

    def archive(self, timestamp: str) -> str:
        return f"{self.folder}{timestamp}{ARCHIVE}"

    def manifest(self, timestamp: str) -> str:
        return f"{self.folder}{timestamp}{MANIFEST}"

    @property
    def latest(self) -> str:
        return self.folder + LATEST

    def mark(self, fingerprint: str, timestamp: str) -> str:
        """The marker of the home's state as of its latest copy (one listing finds them all)."""
        return f"{self.prefix}/{STATE}/{self.folder.removeprefix(self.prefix + '/')}" \
               f"{fingerprint}.{timestamp}"

    def timestamp_of(self, key: str) -> str | None:
        """The timestamp of a manifest key directly in this folder (not a named server's)."""
        rest = key.removeprefix(self.folder)
        if rest == key or "/" in rest or not rest.endswith(MANIFEST):
            return None
        name = rest.removesuffix(MANIFEST)
        return name if _STAMP.match(name) else None


def folder_name(owner: Owner) -> str:
    """A single folder name for an owner: `alice%40uni.edu`, `bob%2Fproject` (named server)."""
    return quote(str(owner), safe="")


def owner_of_folder(name: str, encoded: bool = False) -> Owner:
    """The owner a folder is named for: its raw name, or (`encoded`) `folder_name`'s inverse."""
    return Owner.parse(unquote(name)) if encoded else Owner(name)


def parse_mark(prefix: str, key: str) -> tuple[Owner, str, str] | None:
    """(owner, fingerprint, timestamp) of a marker key under `prefix`, else None."""
    rest = key.removeprefix(f"{prefix}/{STATE}/")
    parts = rest.split("/")
    if rest == key or len(parts) not in (2, 3):
        return None
    fingerprint, _, timestamp = parts[-1].partition(".")
    if not fingerprint or not _STAMP.match(timestamp):
        return None
    return Owner(unquote(parts[0]), unquote(parts[1]) if len(parts) == 3 else ""), \
        fingerprint, timestamp
