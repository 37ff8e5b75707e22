"""How many placeholders a warm-up holds, and why, from what is expected and what is running.

Pure: the handler reads the cluster and passes numbers in. The rule (issue 14):

    seats   = combined expected - servers already running   (never below 0)
    seats   = min(seats, knobs.max)                          (the configured ceiling)
    user-sized: one placeholder per seat
    node-sized: one placeholder per node; nodes = ceil((seats - free seats elsewhere) / users
                per node), because the autoscaler adds nodes, not pods

Meetings held at the same time combine per audience: the same audience takes the max (the same
people cannot be in two rooms), different audiences add up. Running servers are not tagged with
a section, so they count against the combined demand, whichever meeting they came for.

"Free seats elsewhere" (node-sized only) are seats on user nodes that students already use and
that hold no node placeholder: a student who pre-empted a node placeholder leaves that node with
room for the next ones, and counting it keeps the pending placeholder from asking the
autoscaler for a node nobody needs. Empty nodes are not counted: node placeholders sit there.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

Mode = Literal["user", "node"]
MODES: tuple[Mode, ...] = ("user", "node")


@dataclass(frozen=True)
class Demand:
    """One meeting's expected people (already audience x attendance, rounded up)."""

    meeting: str
    audience: str
    expected: int
    start: datetime
    end: datetime
    attendance_from: str = "timetable"  # or "history (N meetings)"


def combined(demands: Iterable[Demand]) -> int:
    """Seats wanted at once: max within an audience, sum across audiences."""
    per_audience: dict[str, int] = {}
    for d in demands:
        per_audience[d.audience] = max(per_audience.get(d.audience, 0), d.expected)
    return sum(per_audience.values())


@dataclass(frozen=True)
class Target:
    """The decision: `replicas` placeholders of `mode`, and the numbers that gave it."""

    replicas: int
    mode: Mode
    expected: int  # combined expected people
    running: int  # servers counted as already there
    seats: int  # seats to hold: expected - running, capped
    capped: bool  # the configured maximum cut it
    users_per_node: int = 0  # node-sized only
    free_seats: int = 0  # node-sized only: room on nodes without a node placeholder

    def why(self) -> str:
        """e.g. `expected 216 - running 30 = 186 seats; node-sized: 5 nodes of 40 users`."""
        text = f"expected {self.expected} - running {self.running} = {self.seats} seats"
        if self.capped:
            text += " (capped by warmup.max)"
        if self.mode == "node":
            free = f", {self.free_seats} seats free on other nodes" if self.free_seats else ""
            text += f"; node-sized: {self.replicas} nodes of {self.users_per_node} users{free}"
        return text


def size(expected: int, running: int, maximum: int | None, mode: Mode = "user",
         users_per_node: int = 0, free_seats: int = 0) -> Target:
    """The placeholders to hold for `expected` people with `running` already there."""
    wanted = max(0, expected - max(0, running))
    capped = maximum is not None and wanted > maximum
    seats = min(wanted, maximum) if maximum is not None else wanted
    if mode == "user":
        return Target(seats, mode, expected, running, seats, capped)
    if users_per_node < 1:
        raise ValueError("node-sized placeholders need users_per_node >= 1")
    nodes = math.ceil(max(0, seats - max(0, free_seats)) / users_per_node)
    return Target(nodes, mode, expected, running, seats, capped, users_per_node, free_seats)


def users_per_node(allocatable: tuple[float, float], per_user: tuple[float, float]) -> int:
    """How many users' requests (cpu, memory) fit a node's allocatable (cpu, memory)."""
    fits = [math.floor(a / u) for a, u in zip(allocatable, per_user, strict=True) if u > 0]
    return max(1, min(fits)) if fits else 1


def node_requests(allocatable: tuple[float, float], share: float = 0.95) -> tuple[float, float]:
    """A node placeholder's requests (cpu cores, memory bytes): just under the allocatable, so
    it fits an empty node beside the DaemonSets' small requests, and only one fits a node."""
    cpu, memory = allocatable
    return (math.floor(cpu * share * 1000) / 1000, math.floor(memory * share))
