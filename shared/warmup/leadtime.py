"""How long before a meeting to warm up: learned from this cluster's own scale-ups.

Two kinds of samples are recorded by the watchers (functions/warmup_lead.py):
- `scale_up`: from a user pod's first `Unschedulable` condition (or the autoscaler's
  `TriggeredScaleUp` Event) to the Ready of the node that came for it (the Node object appears
  only when provisioning ends, so its own age says little);
- `image_pull`: from a user pod bound to a node without the image to that pod's Ready.

Lead time = the `quantile` of the scale-ups + the `quantile` of the pulls + `margin` (the two
are summed per quantile, not paired: a new node always pulls). With fewer than `min_samples`
scale-ups, the configured default. `LeadTime.source` says which, for the plan and the Event.
Samples are kept as a bounded list (newest last), so old clusters' habits age out.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

Kind = Literal["scale_up", "image_pull"]
KEEP = 100  # samples kept per kind


@dataclass(frozen=True)
class Sample:
    kind: Kind
    seconds: float
    at: datetime  # when it ended (the node's or the pod's Ready)
    subject: str = ""  # the node or pod it was measured on


@dataclass(frozen=True)
class LeadTime:
    value: timedelta
    source: Literal["measured", "default"]
    samples: int  # scale-up samples seen (used or not)

    def describe(self) -> str:
        minutes = round(self.value.total_seconds() / 60)
        if self.source == "measured":
            return f"lead {minutes} min from {self.samples} samples"
        return f"lead {minutes} min (default; {self.samples} samples)"


def quantile(values: Sequence[float], q: float) -> float:
    """The nearest-rank quantile (no interpolation: a value that was really seen)."""
    if not values:
        raise ValueError("quantile of no values")
    ordered = sorted(values)
    rank = max(1, math.ceil(q * len(ordered)))
    return ordered[rank - 1]


def lead_time(samples: Iterable[Sample], default: timedelta, margin: timedelta,
              q: float = 0.9, min_samples: int = 5) -> LeadTime:
    found = list(samples)
    ups = [s.seconds for s in found if s.kind == "scale_up"]
    pulls = [s.seconds for s in found if s.kind == "image_pull"]
    if len(ups) < min_samples:
        return LeadTime(default, "default", len(ups))
    total = quantile(ups, q) + (quantile(pulls, q) if pulls else 0.0)
    # Whole seconds up: a firing time is planned to the second.
    return LeadTime(timedelta(seconds=math.ceil(total)) + margin, "measured", len(ups))


def keep(samples: Iterable[Sample], new: Iterable[Sample], limit: int = KEEP) -> list[Sample]:
    """`samples` with `new` appended (a repeat of the same kind and subject is dropped), at most
    `limit` of each kind, the newest kept."""
    result = list(samples)
    seen = {(s.kind, s.subject) for s in result if s.subject}
    for s in new:
        if s.subject and (s.kind, s.subject) in seen:
            continue
        seen.add((s.kind, s.subject))
        result.append(s)
    kept: list[Sample] = []
    for kind in ("scale_up", "image_pull"):
        kept += [s for s in result if s.kind == kind][-limit:]
    return sorted(kept, key=lambda s: s.at)


def as_records(samples: Iterable[Sample]) -> list[dict[str, object]]:
    return [{"kind": s.kind, "seconds": round(s.seconds, 3), "at": s.at.isoformat(),
             "subject": s.subject} for s in samples]


def from_records(records: Iterable[object]) -> list[Sample]:
    """Samples from their stored form; a malformed record is skipped (state is best effort)."""
    found = []
    for r in records:
        if not isinstance(r, dict) or r.get("kind") not in ("scale_up", "image_pull"):
            continue
        try:
            found.append(Sample(r["kind"], float(r["seconds"]),
                                datetime.fromisoformat(str(r["at"])), str(r.get("subject", ""))))
        except (KeyError, TypeError, ValueError):
            continue
    return found
