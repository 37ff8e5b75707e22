"""The term index and teardown records: their keys and JSON round trips."""

from __future__ import annotations

import pytest

from shared.teardown.term_index import (
    IndexEntry,
    TermIndex,
    TornDown,
    index_key,
    owner_of_record,
    record_key,
)


def test_keys_sit_under_course_and_term_with_the_raw_username_encoded() -> None:
    assert index_key("cs101/fall-2026") == "cs101/fall-2026/index.json"
    key = record_key("cs101/fall-2026", "alice@uni.edu", "project 1")
    assert key == "cs101/fall-2026/teardown/alice%40uni.edu/project%201.json"
    assert owner_of_record("cs101/fall-2026", key) == ("alice@uni.edu", "project 1")
    assert owner_of_record("cs101/fall-2026", "cs101/fall-2026/index.json") is None


def test_the_index_round_trips_and_a_rerun_replaces_only_its_users() -> None:
    first = TermIndex("cs101", "fall-2026", "2026-12-19T05:00:00+00:00",
                      (IndexEntry("alice", size=10, sha256="a" * 64, verified=True),
                       IndexEntry("bob", problem="sha256 differs")),
                      {"hub-db": IndexEntry("hub", object="k", verified=True)})
    again = TermIndex.from_json(first.to_json())
    assert again == first
    newer = again.merged([IndexEntry("bob", size=11, verified=True)], "2026-12-20T00:00:00")
    assert [(e.user, e.verified) for e in newer.entries] == [("alice", True), ("bob", True)]
    assert newer.extras == first.extras


def test_an_unreadable_index_says_where_and_why() -> None:
    with pytest.raises(ValueError, match="idx: not a readable term index: format"):
        TermIndex.from_json(b'{"format": "other"}', "idx")


def test_a_record_round_trips() -> None:
    record = TornDown("alice", "", ("persistentvolumeclaim ns/claim-alice",), "2026-12-20")
    assert TornDown.from_json(record.to_json()) == record
