"""The capacity the plan holds ready over time: a step curve computed from the firings, purely.

Each meeting holds its expected attendance (the warm-up's `data.expected`) from its warm-up to
its cool-down. At any instant, meetings of the same audience that overlap take the max (the
same people cannot be in two rooms) and different audiences add up: the design's rule, which
the warm-up function applies when it sizes the placeholders.

A warm-up and its cool-down are paired by (meeting, start): both carry the session's data.
A window can cut a meeting in two: a cool-down without its warm-up was held from before the
window (from `start`), a warm-up without its cool-down is held past it (until `end`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from shared.events.types import COOLDOWN, WARMUP

from .occurrences import Occurrence

Step = tuple[datetime, int]  # from this instant on (until the next step), this many seats


@dataclass(frozen=True)
class Hold:
    """One meeting's seats, held over [start, end) (instants; end None: past the window)."""

    audience: str
    seats: int
    start: datetime | None
    end: datetime | None


def holds(occurrences: Iterable[Occurrence]) -> list[Hold]:
    """Each meeting's hold, from its warm-up and cool-down firings (others are ignored)."""
    warm: dict[tuple[str, str], Occurrence] = {}
    cool: dict[tuple[str, str], Occurrence] = {}
    for o in occurrences:
        if o.type in (WARMUP, COOLDOWN):
            key = (str(o.data["meeting"]), str(o.data["start"]))
            (warm if o.type == WARMUP else cool)[key] = o
    result = []
    for key in {**warm, **cool}:
        found = warm.get(key) or cool[key]
        w, c = warm.get(key), cool.get(key)
        result.append(Hold(str(found.data["audience"]), int(found.data["expected"]),
                           w.at if w else None, c.at if c else None))
    return result


def capacity_curve(occurrences: Sequence[Occurrence], start: datetime | None = None,
                   end: datetime | None = None) -> list[Step]:
    """Seats held ready, as steps in time order: each (at, seats) holds until the next step.

    The first step is at `start` (default: the first firing); only changes follow, so
    back-to-back meetings give one step, never a dip to zero between them. `start` and `end`
    also bound the meetings the window cut (see the module's docstring); steps are shown in the
    zone of `start` (or of the first firing).
    """
    if not occurrences and start is None:
        return []
    zone = (start or occurrences[0].at).tzinfo
    first = _utc(start or min(o.at for o in occurrences))
    last = _utc(end or max([first, *(o.at for o in occurrences)]))
    spans = sorted((_utc(h.start) if h.start else first, _utc(h.end) if h.end else last,
                    h.audience, h.seats) for h in holds(occurrences))
    instants = sorted({first, *(s[0] for s in spans), *(s[1] for s in spans)})
    steps: list[Step] = []
    active: list[tuple[datetime, datetime, str, int]] = []
    waiting = iter(spans)
    upcoming = next(waiting, None)
    for instant in (i for i in instants if first <= i and (end is None or i < last)):
        while upcoming is not None and upcoming[0] <= instant:
            active.append(upcoming)
            upcoming = next(waiting, None)
        active = [span for span in active if span[1] > instant]
        per_audience: dict[str, int] = {}
        for _, _, audience, seats in active:
            per_audience[audience] = max(per_audience.get(audience, 0), seats)
        seats = sum(per_audience.values())
        if not steps or steps[-1][1] != seats:
            steps.append((instant.astimezone(zone), seats))
    return steps


def _utc(moment: datetime) -> datetime:
    # Instants compare in UTC: within one zone Python compares wall times and ignores `fold`,
    # which misorders the repeated hour of a fall-back night.
    return moment.astimezone(UTC)
