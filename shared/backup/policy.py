"""Which snapshots to keep: restic's `forget` policy, per user, server and reason (pure).

restic's semantics (restic/internal/restic/snapshot_policy.go): walk the snapshots newest first;
`keep_last` keeps the newest N; `keep_hourly`/`daily`/`weekly`/`monthly` keep the newest
snapshot of each of the last N hours/days/ISO weeks/months that have one (a bucket without a
snapshot does not use up N). A snapshot kept by any rule is kept (the rules are ORed). Buckets
are read in the course's timezone, so "daily" means the course's days, across DST.

classops adds its own floors, each with its reason, before the rules:
- a snapshot not ready yet (or failed) is never deleted (it is in progress, or its error is the
  evidence) and does not use up a bucket;
- `final` snapshots (the last one of a deleted PVC) are never deleted: nothing else is left;
- a deadline snapshot is kept until the term's end;
- the newest ready snapshot of each user's volume is never deleted, whatever the policy.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import groupby
from zoneinfo import ZoneInfo

from .inventory import Held
from .naming import DEADLINE_REASON, FINAL


@dataclass(frozen=True)
class Policy:
    keep_last: int = 0
    keep_hourly: int = 0
    keep_daily: int = 0
    keep_weekly: int = 0
    keep_monthly: int = 0

    def __post_init__(self) -> None:
        counts = (self.keep_last, self.keep_hourly, self.keep_daily, self.keep_weekly,
                  self.keep_monthly)
        if any(n < 0 for n in counts):
            raise ValueError("retention counts cannot be negative")
        if not any(counts):
            # restic refuses an empty policy too: it would forget everything.
            raise ValueError("a retention policy must keep something (all counts are 0)")

    def describe(self) -> str:
        parts = [f"{word} {n}" for word, n in (
            ("last", self.keep_last), ("hourly", self.keep_hourly), ("daily", self.keep_daily),
            ("weekly", self.keep_weekly), ("monthly", self.keep_monthly)) if n]
        return "keep " + ", ".join(parts)


@dataclass(frozen=True)
class Decision:
    snapshot: Held
    keep: bool
    why: tuple[str, ...]  # every rule that keeps it; empty when deleted


Bucket = Callable[[datetime], object]
NEWEST = "newest ready of this volume"  # the floor's words (the copies' plan has its own)


def _buckets(tz: ZoneInfo) -> list[tuple[str, Bucket]]:
    def local(at: datetime) -> datetime:
        return at.astimezone(tz)

    return [
        ("hourly", lambda at: local(at).strftime("%Y-%m-%d %H")),
        ("daily", lambda at: local(at).date()),
        ("weekly", lambda at: local(at).isocalendar()[:2]),
        ("monthly", lambda at: (local(at).year, local(at).month)),
    ]


def _apply(policy: Policy, ready: Sequence[Held], tz: ZoneInfo) -> dict[str, list[str]]:
    """restic's rules over one group's ready snapshots, newest first: name -> reasons."""
    kept: dict[str, list[str]] = {s.name: [] for s in ready}
    for i, s in enumerate(ready[:policy.keep_last]):
        kept[s.name].append(f"last {i + 1}")
    counts = {"hourly": policy.keep_hourly, "daily": policy.keep_daily,
              "weekly": policy.keep_weekly, "monthly": policy.keep_monthly}
    for rule, bucket_of in _buckets(tz):
        left, last = counts[rule], None
        for s in ready:
            if left <= 0:
                break
            bucket = bucket_of(s.at)
            if bucket != last:
                kept[s.name].append(f"{rule} {bucket}")
                last, left = bucket, left - 1
    return kept


def plan(snapshots: Iterable[Held], policy: Policy, tz: ZoneInfo, now: datetime,
         term_end: datetime | None) -> list[Decision]:
    """A decision for every snapshot, grouped by (user, server, reason), newest first."""
    ordered = sorted(snapshots, key=lambda s: (s.group, -s.at.timestamp(), s.name))
    newest: dict[tuple[str, str], str] = {}
    for s in sorted(ordered, key=lambda s: s.at, reverse=True):
        if s.ready:
            newest.setdefault((s.user, s.server), s.name)
    decisions = []
    for _, members in groupby(ordered, key=lambda s: s.group):
        group = list(members)
        ruled = _apply(policy, [s for s in group if s.ready], tz)
        for s in group:
            why = []
            if not s.ready:
                why.append("failed: " + s.error if s.error else "not ready yet")
            if s.reason == FINAL:
                why.append("final: the last of a deleted volume")
            if s.reason == DEADLINE_REASON and (term_end is None or now < term_end):
                why.append("deadline: kept to the end of term")
            if newest.get((s.user, s.server)) == s.name:
                why.append(NEWEST)
            why += ruled.get(s.name, [])
            decisions.append(Decision(s, bool(why), tuple(why)))
    return decisions
