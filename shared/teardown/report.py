"""The end-of-term report: per user archived / verified / deleted / kept and why, bytes, and
(with `--links`) a presigned link to the archive for the instructor to hand out. A table for
people, JSON for tools; the same rows either way.

A presigned link lasts at most 7 days (S3's SigV4 limit; less with temporary credentials, which
expire first): the report says when its links stop working, so nobody mails a dead link.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.teardown.decisions import Plan, Row

LINK_LIMIT = ("presigned links last at most 7 days (the S3 SigV4 limit; sooner with temporary "
              "credentials): hand them out now, or run `classops teardown --links` again later")


@dataclass(frozen=True)
class Line:
    user: str
    server: str
    archived: bool
    verified: bool
    deleted: bool
    status: str  # deleted, would delete, kept, re-archive first, done, failed
    why: str
    bytes: int  # bytes of the user's files (the home), from the manifest
    stored: int  # bytes of the archive
    archive: str = ""
    link: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"user": self.user, "server": self.server, "archived": self.archived,
                "verified": self.verified, "deleted": self.deleted, "status": self.status,
                "why": self.why, "bytes": self.bytes, "stored": self.stored,
                "archive": self.archive, "link": self.link}


_STATUS = {"delete": "would delete", "keep": "kept", "rearchive": "re-archive first",
           "done": "done"}


def line(row: Row, confirmed: bool, failure: str | None = None, link: str = "") -> Line:
    """`failure`: None if the row's actions all succeeded (or none ran), else what failed."""
    entry = row.entry
    verified = row.decision in ("delete", "done") and entry is not None
    if row.decision == "keep":
        verified = bool(entry and entry.verified)
    status, why = _STATUS[row.decision], row.why
    deleted = row.decision == "done" and entry is not None
    if row.decision == "delete" and confirmed:
        if failure:
            status, why = "failed", failure
        else:
            status, deleted = "deleted", True
    return Line(row.user, row.server, bool(entry and entry.object), verified, deleted, status,
                why, entry.bytes if entry else 0, entry.size if entry else 0,
                entry.object if entry else "", link)


def table(lines: Sequence[Line], plan: Plan | None = None, expires: datetime | None = None,
          kept_stack: Sequence[str] = ()) -> str:
    titles = ("USER", "ARCHIVED", "VERIFIED", "DELETED", "BYTES", "STATUS", "WHY")
    cells = [(_owner(x), _yes(x.archived), _yes(x.verified), _yes(x.deleted), _size(x.bytes),
              x.status, x.why) for x in lines]
    widths = [max(len(r[i]) for r in [titles, *cells]) for i in range(6)]
    text = ["  ".join(c.ljust(w) for c, w in zip(r[:6], widths, strict=True)) + "  " + r[6]
            for r in [titles, *cells]]
    counts: dict[str, int] = {}
    for x in lines:
        counts[x.status] = counts.get(x.status, 0) + 1
    text.append(", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "no users")
    text += [f"kept: {k}" for k in kept_stack]
    if plan is not None and plan.namespace_refused:
        text.append(plan.namespace_refused)
    linked = [x for x in lines if x.link]
    if linked:
        when = f"{expires:%Y-%m-%d %H:%M} UTC" if expires else "7 days"
        text.append(f"\nLINKS (valid until {when}; {LINK_LIMIT})")
        text += [f"{_owner(x)}  {x.link}" for x in linked]
    return "\n".join(t.rstrip() for t in text)


def as_json(lines: Sequence[Line], plan: Plan | None = None, expires: datetime | None = None,
            extra: Mapping[str, Any] | None = None) -> str:
    doc: dict[str, Any] = {"users": [x.as_dict() for x in lines], **(extra or {})}
    if plan is not None:
        doc["stack"] = [a.as_dict() for a in plan.stack]
        doc["stack_kept"] = list(plan.stack_kept)
        doc["namespace_refused"] = plan.namespace_refused
    if any(x.link for x in lines):
        doc["links_expire"] = expires.isoformat() if expires else None
        doc["links_note"] = LINK_LIMIT
    return json.dumps(doc, indent=1)


def _owner(x: Line) -> str:
    return f"{x.user}/{x.server}" if x.server else x.user


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def _size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB"):
        if size < 1024:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"
