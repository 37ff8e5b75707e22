"""Prune students' copies in S3 on `retention.due`, beside the snapshots (`retention.py`): the
schedule's policy over each student's committed copies, and the garbage failed copies left
(`shared.backup.copies_policy` decides; this reads what it needs).

Reads: one listing of `COURSE/TERM/` and one of its unfinished uploads; `latest.json` only of
the owners the plan would delete something of (one GET each); the term index and the `final`
VolumeSnapshots, whose copies are never deleted. Returns a `DeleteCopy` per copy (or leftover)
to delete. A handler of its own, so a bucket that fails does not stop the snapshots' pruning.
No bucket configured, or a plan without one: nothing.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from datetime import datetime

from functions import course
from functions.retention import rules_of
from shared.actions.model import Action, DeleteCopy
from shared.archive.copy_jobs import FINAL, PURPOSE, SERVERNAME, TAKEN_FOR, USERNAME
from shared.archive.layout import LATEST, Owner, Place, stamp
from shared.backup import copies_policy
from shared.events import RETENTION_DUE, ClassEvent, RetentionData
from shared.handlers.context import Context
from shared.handlers.registry import on
from shared.teardown.term_index import TermIndex, index_key

SNAPSHOTS = "snapshot.storage.k8s.io/v1"


def _latest(ctx: Context, prefix: str, owner: Owner) -> str | None:
    """The timestamp `latest.json` names; None without one; "" when it cannot be read."""
    key = Place(prefix, owner).latest
    if ctx.s3.head(key) is None:
        return None
    try:
        return str(json.loads(ctx.s3.get_bytes(key)).get("timestamp") or "")
    except (ValueError, AttributeError):
        return ""


def finals(ctx: Context, prefix: str) -> set[tuple[Owner, str]]:
    """(owner, timestamp) of every term-end copy: the term index's, and those made from a
    `final` snapshot (named by its instant, as the copy Jobs name them)."""
    found: set[tuple[Owner, str]] = set()
    key = index_key(prefix)
    if ctx.s3.head(key) is not None:
        index = TermIndex.from_json(ctx.s3.get_bytes(key), key)
        for entry in (*index.entries, *index.extras.values()):
            for k in (entry.manifest, entry.object):
                parsed = copies_policy.parse(prefix, k) if k else None
                if parsed is not None:
                    found.add((parsed[1], parsed[2]))
    for snap in ctx.kube.list(SNAPSHOTS, "VolumeSnapshot", ctx.settings.namespace,
                              f"{PURPOSE}={FINAL}"):
        notes = snap.metadata.get("annotations") or {}
        at = notes.get(TAKEN_FOR)
        if notes.get(USERNAME) and at:
            found.add((Owner(str(notes[USERNAME]), str(notes.get(SERVERNAME) or "")),
                       stamp(datetime.fromisoformat(str(at).replace("Z", "+00:00")))))
    return found


def decisions(event: ClassEvent[RetentionData], ctx: Context) -> list[copies_policy.CopyDecision]:
    if not ctx.settings.s3_bucket and not ctx.assumed:
        ctx.log.info("no S3 bucket configured (CLASSOPS_S3_BUCKET): no copies to prune")
        return []
    timetable = course.timetable(ctx, required=False)
    if timetable is None:  # no term, no timezone: deleting nothing is the safe answer
        return []
    rules = rules_of(event)
    prefix = f"{timetable.course}/{timetable.term.name}"
    listed = [copies_policy.Listed(o.key, o.modified) for o in ctx.s3.objects(prefix + "/")
              if not o.key.endswith("/" + LATEST)]
    listed += [copies_policy.Listed(u.key, u.initiated, u.upload_id)
               for u in ctx.s3.uploads(prefix + "/")]
    tz, now, kept = timetable.term.timezone, ctx.clock(), finals(ctx, prefix)
    first = copies_policy.plan(prefix, listed, rules, tz, now, {}, kept)
    latest = {o: t for o in sorted({d.owner for d in first if not d.keep},
                                   key=lambda o: (o.user, o.server))
              if (t := _latest(ctx, prefix, o)) is not None}
    held = {o for o, t in latest.items() if not t}  # which copy is theirs now: unknown
    for o in sorted(held, key=lambda o: (o.user, o.server)):
        ctx.log.warning("%s: latest.json is not a readable manifest: nothing of %s deleted",
                        Place(prefix, o).latest, o)
    return [dataclasses.replace(d, keep=True, why=("latest.json unreadable: nothing of this "
                                                   "student deleted",))
            if d.owner in held and not d.keep else d
            for d in copies_policy.plan(prefix, listed, rules, tz, now, latest, kept)]


@on(RETENTION_DUE)
def prune_copies(event: ClassEvent[RetentionData], ctx: Context) -> Sequence[Action]:
    return [DeleteCopy(d.owner.user, d.owner.server, d.timestamp, d.kind, d.keys[-1], d.keys,
                       d.why[0], d.absent, d.newest.isoformat() if d.newest else "",
                       d.upload)
            for d in decisions(event, ctx) if not d.keep]
