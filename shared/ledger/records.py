"""Ledger records and the cluster summary (pure).

A `Record` says what was done (`action`, `verb`, `kind`), to whom (`user`, `server`: the raw hub
names), when, how it ended (`outcome`: changed, unchanged, failed, or a capability's own word
such as `verified`) and which objects (`refs`: names and keys only). Built from an executor
`Result` generically: an Action's `user`/`server` fields or its `hub.jupyter.org/username`
annotation name the student; its string fields among `REF_FIELDS` are the refs; nothing else of
the action is copied, so a manifest (and a Secret's data in it) never reaches the ledger.
An action serving several students (a batch's copy Job) is filed per student from the
`parts` of its Result (`records_of`): each their own outcome, target and refs.

`kind` groups records for the summary: an Action class says its own with the ClassVar
`ledger_kind` (`snapshot` for CreateVolumeSnapshot); a capability appending records itself
(`Ledger.append`) names it (`copy` for a verified archive). The summary keeps, per student, the
newest `snapshot` and `copy` that succeeded and the last failure, and counts per kind/outcome.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from shared.archive.layout import Owner  # pure: USER[/SERVER]

USERNAME = "hub.jupyter.org/username"
SERVERNAME = "hub.jupyter.org/servername"
REF_FIELDS = ("namespace", "name", "claim", "snapshot", "key", "kind", "api_version", "uid")
OK = frozenset({"changed", "unchanged", "verified", "done"})
DETAIL_MAX = 500


@dataclass(frozen=True)
class Record:
    at: datetime
    kind: str  # snapshot, copy, warmup, ... (the Action's ledger_kind, or its verb)
    action: str  # the Action's type name, or the capability's own word
    target: str  # e.g. "volumesnapshot cs101/claim-alice-scheduled-20261012t0700"
    outcome: str  # changed | unchanged | failed | a capability's own (verified, ...)
    event_id: str = ""
    user: str = ""
    server: str = ""
    detail: str = ""
    refs: Mapping[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.outcome in OK

    def as_dict(self) -> dict[str, Any]:
        found = asdict(self)
        found["at"] = self.at.astimezone(UTC).isoformat()
        found["refs"] = dict(self.refs)
        return found

    def line(self) -> str:
        return json.dumps(self.as_dict(), sort_keys=True, ensure_ascii=False)

    @classmethod
    def parse(cls, line: str) -> Record:
        data = json.loads(line)
        return cls(**{**data, "at": datetime.fromisoformat(data["at"]),
                      "refs": dict(data.get("refs") or {})})


def who(action: object) -> tuple[str, str]:
    """(user, server) of an action: its own fields, else its username annotation."""
    user = getattr(action, "user", "")
    server = getattr(action, "server", "")
    notes = getattr(action, "annotations", None)
    if not user and isinstance(notes, Mapping):
        user, server = notes.get(USERNAME, ""), notes.get(SERVERNAME, "")
    return str(user or ""), str(server or "")


def from_result(result: Any, event_id: str, at: datetime) -> Record:
    """A record of an executor `Result` (typed loosely: the ledger sits beside the executor)."""
    action = result.action
    user, server = who(action)
    refs = {f: v for f in REF_FIELDS if isinstance(v := getattr(action, f, None), str) and v}
    kind = getattr(action, "ledger_kind", "") or action.verb
    return Record(result.at or at, kind, type(action).__name__, action.target,
                  result.outcome, event_id, user, server, result.detail[:DETAIL_MAX], refs)


def records_of(result: Any, event_id: str, at: datetime) -> list[Record]:
    """The records of one executor `Result`. An action serving several students (a batch's
    copy Job) gives one record per student with their own outcome, target and refs (its
    `parts`), and none for the batch: `history USER`, the summary's newest copy and the counts
    then speak of students, and each record's `job` ref and event id lead back to the Job. A
    failed batch that reported no student (`users` but no parts: it never got that far) gives
    each of its students a failed record with the batch's error. Anything else: one record."""
    action = result.action
    parts = getattr(result, "parts", ()) or ()
    kind = getattr(action, "ledger_kind", "") or action.verb
    when, name = result.at or at, type(action).__name__
    if parts:
        return [Record(when, kind, name, p.target or action.target, p.outcome, event_id, p.user,
                       p.server, p.detail[:DETAIL_MAX], dict(p.refs)) for p in parts]
    users = [u for u in getattr(action, "users", ()) or () if u]
    if users and result.outcome == "failed":
        return [Record(when, kind, name, action.target, "failed", event_id, o.user, o.server,
                       result.detail[:DETAIL_MAX]) for o in map(Owner.parse, users)]
    return [from_result(result, event_id, at)]


def fold(summary: Mapping[str, Any], records: Iterable[Record]) -> dict[str, Any]:
    """The summary with `records` counted in: `users[user]` holds the newest ok `snapshot` and
    `copy` (name or key, and when) and the last `failed`; `counts["kind/outcome"]`."""
    users: dict[str, dict[str, Any]] = {u: dict(v) for u, v in
                                        (summary.get("users") or {}).items()}
    counts: dict[str, int] = dict(summary.get("counts") or {})
    for r in records:
        counts[f"{r.kind}/{r.outcome}"] = counts.get(f"{r.kind}/{r.outcome}", 0) + 1
        if not r.user:
            continue
        entry = users.setdefault(r.user, {})
        at = r.at.astimezone(UTC).isoformat()
        slot = r.kind if r.ok and r.kind in ("snapshot", "copy") else \
            "failed" if not r.ok else None
        if slot is None:
            continue
        ref = r.refs.get("key") or r.refs.get("name") or r.target
        if slot == "failed" or at >= (entry.get(slot) or {}).get("at", ""):
            entry[slot] = {"at": at, "ref": ref, **({"server": r.server} if r.server else {}),
                           **({"what": r.kind, "detail": r.detail[:200]}
                              if slot == "failed" else {})}
    return {**summary, "users": users, "counts": counts}
