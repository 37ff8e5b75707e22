"""Placeholder sizing (pure): expected - running, capped; overlaps; user- and node-sized."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from shared.warmup.sizing import Demand, combined, node_requests, size, users_per_node

NY = ZoneInfo("America/New_York")
TEN = datetime(2026, 10, 12, 10, 10, tzinfo=NY)
ELEVEN = datetime(2026, 10, 12, 11, 0, tzinfo=NY)


def demand(meeting: str, audience: str, expected: int) -> Demand:
    return Demand(meeting, audience, expected, TEN, ELEVEN)


def test_the_seats_are_expected_minus_running() -> None:
    target = size(216, 30, None)
    assert (target.replicas, target.seats, target.capped) == (186, 186, False)
    assert "expected 216 - running 30 = 186 seats" in target.why()


def test_more_running_than_expected_holds_nothing() -> None:
    assert size(100, 130, None).replicas == 0


def test_the_maximum_caps_the_seats_and_says_so() -> None:
    target = size(216, 0, 150)
    assert (target.replicas, target.capped) == (150, True)
    assert "capped by warmup.max" in target.why()


def test_the_same_audience_takes_the_max() -> None:
    assert combined([demand("lecture", "class", 216), demand("review", "class", 120)]) == 216


def test_different_audiences_add_up() -> None:
    """Two lab sections at once need both rooms' worth."""
    both = [demand("lab-a", "lab-a", 120), demand("lab-b", "lab-b", 100),
            demand("lab-a-extra", "lab-a", 30)]
    assert combined(both) == 220


def test_node_sized_holds_one_placeholder_per_node_rounded_up() -> None:
    target = size(216, 0, None, "node", users_per_node=40)
    assert target.replicas == 6  # 216 / 40 = 5.4 nodes
    assert "node-sized: 6 nodes of 40 users" in target.why()


def test_node_sized_counts_free_seats_on_other_nodes() -> None:
    """A student who pre-empted a node placeholder left that node with 39 free seats: the
    placeholder that lost its node must not ask for another one."""
    before = size(216, 0, None, "node", users_per_node=40)
    after = size(216, 1, None, "node", users_per_node=40, free_seats=39)
    assert (before.replicas, after.replicas) == (6, 5)


def test_node_sized_needs_users_per_node() -> None:
    with pytest.raises(ValueError, match="users_per_node"):
        size(10, 0, None, "node", users_per_node=0)


def test_users_per_node_is_the_tightest_resource() -> None:
    # 16 cores and 64 GiB; a user asks 0.5 core and 1 GiB: memory allows 64, cpu 32.
    assert users_per_node((16.0, 64 * 2**30), (0.5, 2**30)) == 32
    assert users_per_node((1.0, 2**30), (2.0, 2**30)) == 1  # never 0: one fits, or none do


def test_a_node_placeholder_asks_just_under_the_allocatable() -> None:
    cpu, memory = node_requests((20.0, 40 * 2**30))
    assert 19 <= cpu < 20 and 38 * 2**30 <= memory < 40 * 2**30
