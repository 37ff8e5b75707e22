"""What is held when: the meetings open at an instant, and the warm state kept on the workload.

A meeting is held from its warm-up (`start - lead`) until its cool-down (`end + grace`). The
warm state is written onto the placeholder workload as annotations (the cluster holds the state,
not the process): what the last warm-up decided, for which meetings, until when, and the
replica count the workload had before classops first held it (an adopted Helm release's own
count, given back at cool-down). The watch-driven follow reads it back to re-size as students
arrive, and to re-assert a count a `helm upgrade` reset.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from .sizing import Demand, Mode

PREFIX = "classops.edu/warmup-"
STATE = PREFIX + "state"  # JSON: the decision's inputs, for the follow
TARGET = PREFIX + "target"  # the held count (what a reset is compared with)
WHY = PREFIX + "why"  # one line, for `kubectl describe` and `classops status`
ORIGINAL = PREFIX + "original"  # the count before classops first held it


def open_at(sessions: Iterable[Demand], now: datetime, lead: timedelta,
            grace: timedelta) -> list[Demand]:
    """The meetings held at `now`: warm-up done (start - lead <= now), cool-down not yet
    (now < end + grace). Compared in UTC."""
    at = now.astimezone(UTC)
    return [d for d in sessions
            if (d.start - lead).astimezone(UTC) <= at < (d.end + grace).astimezone(UTC)]


@dataclass(frozen=True)
class WarmState:
    """What the last hold decided; `until` is when the last held meeting cools down."""

    expected: int
    mode: Mode
    maximum: int | None
    users_per_node: int
    until: datetime
    meetings: tuple[str, ...] = ()  # "lecture 2026-10-12 10:10"
    baseline: int = 0  # seats held when no meeting is
    extra: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps({"expected": self.expected, "mode": self.mode, "max": self.maximum,
                           "users_per_node": self.users_per_node,
                           "until": self.until.isoformat(), "meetings": list(self.meetings),
                           "baseline": self.baseline, **self.extra}, sort_keys=True)

    @classmethod
    def from_json(cls, text: str | None) -> WarmState | None:
        """The state, or None when there is none or it cannot be read (then nothing follows)."""
        if not text:
            return None
        try:
            raw = json.loads(text)
            mode: Mode = "node" if raw.get("mode") == "node" else "user"
            return cls(int(raw["expected"]), mode,
                       None if raw.get("max") is None else int(raw["max"]),
                       int(raw.get("users_per_node") or 0),
                       datetime.fromisoformat(str(raw["until"])),
                       tuple(str(m) for m in raw.get("meetings") or ()),
                       int(raw.get("baseline") or 0))
        except (KeyError, TypeError, ValueError):
            return None

    def open(self, now: datetime) -> bool:
        return bool(self.meetings) and now.astimezone(UTC) < self.until.astimezone(UTC)


def label(d: Demand) -> str:
    return f"{d.meeting} {d.start:%Y-%m-%d %H:%M}"


def original(annotations: Mapping[str, str], replicas: int | None,
             adopted: bool) -> int | None:
    """The count to give back at cool-down: kept once recorded; recorded at the first hold of an
    adopted release (its own count); None for classops's own stack (the baseline applies)."""
    kept = annotations.get(ORIGINAL)
    if kept is not None and kept.isdigit():
        return int(kept)
    return (replicas or 0) if adopted else None


def marks(state: WarmState | None, target: int, why: str,
                original_count: int | None) -> dict[str, str]:
    found = {TARGET: str(target), WHY: why[:1000]}
    found[STATE] = state.to_json() if state is not None else "{}"
    if original_count is not None:
        found[ORIGINAL] = str(original_count)
    return found


def describe_meetings(demands: Sequence[Demand]) -> str:
    return ", ".join(f"{label(d)} ({d.audience} {d.expected}, {d.attendance_from})"
                     for d in demands)
