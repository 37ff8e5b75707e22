"""What expansion produces: `Session`s (a meeting on one day) and `Occurrence`s (a firing).

An Occurrence is what the scheduler fires and the plan lists: a CloudEvent `type` from the
design's catalogue, the instant `at`, the `trigger` it belongs to and a deterministic `id`
(`<trigger>@<at, ISO 8601>`), so the same firing computed twice dedupes to one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .model import Kind


@dataclass(frozen=True)
class Session:
    """One meeting on one day, after holidays, cancellations and moves were applied."""

    meeting: str
    kind: Kind
    audience: str
    expected: int  # people expected: the audience's size x attendance, rounded up
    start: datetime
    end: datetime
    source: str = "yaml"  # or "ics"
    moved_from: datetime | None = None

    def data(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "meeting": self.meeting, "kind": self.kind, "audience": self.audience,
            "expected": self.expected, "start": self.start.isoformat(),
            "end": self.end.isoformat(), "source": self.source,
        }
        if self.moved_from is not None:
            data["moved_from"] = self.moved_from.isoformat()
        return data


@dataclass(frozen=True)
class Occurrence:
    type: str
    at: datetime  # aware, in the term's timezone
    trigger: str
    subject: str
    data: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def id(self) -> str:
        return f"{self.trigger}@{self.at.isoformat()}"
