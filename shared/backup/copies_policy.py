"""Which S3 copies to keep (pure): the schedule's retention policy over each student's committed
copies, and the garbage a crash or a failed upload left, each decision with every reason.

The rules are the snapshots' (`policy.plan`, restic's `forget`, in the course's timezone): each
committed copy (one with a manifest) is handed to it as a ready snapshot of reason `copy`, one
group per owner (user and server). On top, floors no policy overrides:
- the copy `latest.json` names (what restores, links and the next incremental copy start from);
- the owner's newest committed copy;
- term-end (final) copies: named by the term index or made from a `final` snapshot;
- anything written within `grace` (by the object's own time, not the copy's timestamp, which is
  its snapshot's and may be hours older than the upload): a worker may be writing that copy now.

Garbage: an archive without a manifest (a crash, a failed upload) older than `grace`, the parts
of a multipart upload started more than `grace` ago and never finished nor aborted (a worker
killed mid-upload), and a marker (`%state/...`) whose copy is gone or goes now: the worker would
otherwise call the home "unchanged" and point at a copy that does not exist.

Keys of one deletion come in the order to delete them: the marker first (it must never outlive
its copy), then the manifest (the copy stops existing: nobody reads it as committed any more),
the archive last. A crash in between leaves an archive without a manifest, which is garbage by
definition and goes in a later run; never a manifest without its archive, so "a manifest means
a complete copy" stays true.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal
from urllib.parse import unquote
from zoneinfo import ZoneInfo

from shared.archive.layout import (
    ARCHIVE,
    MANIFEST,
    STATE,
    Owner,
    check_prefix,
    parse_mark,
    parse_stamp,
)

from .inventory import Held
from .policy import NEWEST, Policy
from .policy import plan as plan_snapshots

GRACE = timedelta(hours=24)
COPY = "copy"  # the reason the copies are handed to the snapshot rules with

Kind = Literal["copy", "garbage", "marker", "parts"]


@dataclass(frozen=True)
class Listed:
    """An object of the course's listing: its key and when it was written (None: unknown); or,
    with `upload`, an unfinished multipart upload to that key (and when it was started)."""

    key: str
    modified: datetime | None = None
    upload: str = ""


@dataclass
class _Copy:
    archive: Listed | None = None
    manifest: Listed | None = None
    marks: list[Listed] = field(default_factory=list)


@dataclass(frozen=True)
class CopyDecision:
    owner: Owner
    timestamp: str
    kind: Kind  # copy: committed; garbage: an archive without manifest; marker: alone; parts:
    #             an unfinished multipart upload (`upload` its id, `keys` its key)
    keep: bool
    why: tuple[str, ...]  # why kept (every reason), or why deleted (one)
    keys: tuple[str, ...]  # the objects, in the order to delete them
    newest: datetime | None = None  # the newest write among them (None: unknown)
    absent: tuple[str, ...] = ()  # keys that must still be missing when it is deleted
    upload: str = ""

    @property
    def committed(self) -> bool:
        return self.kind == COPY


def parse(prefix: str, key: str) -> tuple[str, Owner, str] | None:
    """("archive" | "manifest" | "marker", owner, timestamp) of a key under `prefix`; None for
    anything else (latest.json, the term index, the ledger, teardown records, ...)."""
    root = check_prefix(prefix)
    if key.startswith(f"{root}/{STATE}/"):
        mark = parse_mark(root, key)
        return ("marker", mark[0], mark[2]) if mark else None
    parts = key.removeprefix(root + "/").split("/")
    if not key.startswith(root + "/") or len(parts) not in (2, 3):
        return None
    name = parts[-1]
    for what, suffix in (("archive", ARCHIVE), ("manifest", MANIFEST)):
        if name.endswith(suffix):
            try:
                parse_stamp(name.removesuffix(suffix))
                owner = Owner(unquote(parts[0]), unquote(parts[1]) if len(parts) == 3 else "")
            except ValueError:
                return None
            return what, owner, name.removesuffix(suffix)
    return None


def _young(objects: Iterable[Listed | None], now: datetime, grace: timedelta) -> str:
    """Why these objects are too young to delete ("" if none is)."""
    for o in objects:
        if o is None:
            continue
        if o.modified is None:
            return f"{o.key.rsplit('/', 1)[-1]}: written at an unknown time"
        if now - o.modified < grace:
            return f"written {_hours(now - o.modified)} ago, within the {_hours(grace)} grace"
    return ""


def _hours(span: timedelta) -> str:
    return f"{max(span.total_seconds(), 0) / 3600:.1f} h"


def plan(prefix: str, objects: Iterable[Listed], policy: Policy, tz: ZoneInfo, now: datetime,
         latest: Mapping[Owner, str] | None = None,
         finals: Collection[tuple[Owner, str]] = (),
         grace: timedelta = GRACE) -> list[CopyDecision]:
    """A decision for every copy, manifest-less archive and stray marker under `prefix`.

    `latest`: each owner's `latest.json` timestamp (an owner missing: none read);
    `finals`: (owner, timestamp) of the term-end copies."""
    latest = latest or {}
    found: dict[Owner, dict[str, _Copy]] = {}
    parts: list[CopyDecision] = []
    for o in objects:
        parsed = parse(prefix, o.key)
        if parsed is None:
            continue
        what, owner, timestamp = parsed
        if o.upload:
            parts.append(_parts(owner, timestamp, o, now, grace))
            continue
        copy = found.setdefault(owner, {}).setdefault(timestamp, _Copy())
        if what == "marker":
            copy.marks.append(o)
        else:
            setattr(copy, what, o)
    decisions: list[CopyDecision] = []
    for owner in sorted(found, key=lambda o: (o.user, o.server)):
        decisions += _owner_plan(owner, found[owner], policy, tz, now, latest.get(owner),
                                 {t for o, t in finals if o == owner}, grace)
    return decisions + parts


def _parts(owner: Owner, timestamp: str, upload: Listed, now: datetime,
           grace: timedelta) -> CopyDecision:
    young = _young([upload], now, grace).replace("written", "started")
    why = (young,) if young else (f"a multipart upload started more than {_hours(grace)} ago "
                                  f"and never finished: its parts",)
    return CopyDecision(owner, timestamp, "parts", bool(young), why, (upload.key,),
                        upload.modified, upload=upload.upload)


def _owner_plan(owner: Owner, copies: Mapping[str, _Copy], policy: Policy, tz: ZoneInfo,
                now: datetime, latest: str | None, finals: Collection[str],
                grace: timedelta) -> list[CopyDecision]:
    committed = sorted((t for t, c in copies.items() if c.manifest is not None), reverse=True)
    held = [Held(t, "", owner.user, owner.server, "", COPY, parse_stamp(t), True)
            for t in committed]
    ruled = {d.snapshot.name: [w for w in d.why if w != NEWEST]  # ours: below
             for d in plan_snapshots(held, policy, tz, now, None)}
    decisions = []
    for t in sorted(copies, reverse=True):
        c = copies[t]
        why = []
        if t == latest:
            why.append("latest.json names it")
        if committed and t == committed[0]:
            why.append("newest committed copy")
        if t in finals:
            why.append("term-end (final) copy")
        young = _young([c.manifest, c.archive, *c.marks], now, grace)
        if young:
            why.append(young)
        marks = tuple(m.key for m in c.marks)
        times = [o.modified for o in (c.manifest, c.archive, *c.marks)
                 if o is not None and o.modified is not None]
        newest = max(times) if times else None
        if c.manifest is not None:
            why += ruled.get(t, [])
            keys = marks + (c.manifest.key,) + ((c.archive.key,) if c.archive else ())
            gone = "" if why else f"not kept by the policy ({policy.describe()})" + (
                "" if c.archive else "; its archive is missing")
            decisions.append(CopyDecision(owner, t, "copy", bool(why),
                                          tuple(why) or (gone,), keys, newest))
        elif c.archive is not None:
            gone = "" if why else f"no manifest: an unfinished or failed copy, older than " \
                                  f"the {_hours(grace)} grace"
            manifest = c.archive.key.removesuffix(ARCHIVE) + MANIFEST  # a late commit
            decisions.append(CopyDecision(owner, t, "garbage", bool(why), tuple(why) or (gone,),
                                          (*marks, c.archive.key), newest, (manifest,)))
        else:  # markers alone: their copy is gone (the policy's words, or a manual delete)
            gone = "" if why else "marker of a copy that no longer exists"
            decisions.append(CopyDecision(owner, t, "marker", bool(why), tuple(why) or (gone,),
                                          marks, newest))
    return decisions
