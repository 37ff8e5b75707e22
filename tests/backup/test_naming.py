"""Snapshot names, labels and KubeSpawner's slugs (pure)."""

from __future__ import annotations

import importlib.util
from datetime import UTC, datetime, timedelta, timezone

import pytest

from shared.actions.model import snapshot_name as action_snapshot_name
from shared.backup import naming, slugs
from shared.backup.inventory import held

# KubeSpawner 7's published cases (its tests/test_slugs.py): label values, then object names.
LABELS = [("", ""), ("x", "x"), ("a-b", "a-b"), ("9a", "9a"), ("9.", "x-9---99a1b84b"),
          ("AbC", "AbC"), ("AbC.", "abc---dbe8c5d1"), ("ab.c", "ab.c"),
          ("a@b.c", "a-b-c---d648b243"), ("-x", "x---a4209624"), ("x-", "x---c8b60efc"),
          ("x" * 63, "x" * 63), ("x" * 64, "xxxxxxxxxxxxxxxxxxxxx---7ce10097")]
OBJECTS = [("jupyter-alex", "jupyter-alex"), ("jupyter-Alex", "jupyter-alex---3a1c285c"),
           ("user@email.com", "user-email-com---0925f997"),
           ("username--servername", "username-servername---d957f1de"),
           ("-start", "start---f587e2dc"), ("endswith-", "endswith---165f1166")]


@pytest.mark.parametrize(("name", "slug"), LABELS)
def test_label_slugs_are_kubespawners(name: str, slug: str) -> None:
    assert slugs.safe_slug(name) == slug
    assert slugs.is_valid_label(slug)


@pytest.mark.parametrize(("name", "slug"), OBJECTS)
def test_object_slugs_are_kubespawners(name: str, slug: str) -> None:
    assert slugs.safe_slug(name, label=False) == slug


@pytest.mark.skipif(importlib.util.find_spec("kubespawner") is None,
                    reason="KubeSpawner is not installed")
def test_slugs_match_the_installed_kubespawner() -> None:
    from kubespawner.slugs import is_valid_label, safe_slug  # type: ignore[import-not-found]

    for name in ["alice", "Alice.Smith@uni.edu", "bob--lab", "ünï", "a" * 80, "-x-", "9"]:
        assert slugs.safe_slug(name) == safe_slug(name, is_valid=is_valid_label), name


def test_two_names_never_share_a_slug() -> None:
    names = ["alice@uni.edu", "alice-uni-edu", "Alice@uni.edu", "alice.uni.edu", "alice@uni-edu"]
    assert len({slugs.safe_slug(n) for n in names}) == len(names)


AT = datetime(2026, 10, 12, 3, 0, tzinfo=timezone(timedelta(hours=-4)))


def test_names_follow_the_actions_format_and_are_deterministic() -> None:
    name = naming.snapshot_name("claim-alice", "scheduled", AT)
    assert name == action_snapshot_name("claim-alice", "scheduled", AT)
    assert name == "claim-alice-scheduled-20261012t0700"
    assert naming.snapshot_name("claim-alice", "deadline", AT, "Assignment 3") == \
        "claim-alice-deadline-assignment-3-20261012t0700"


def test_an_overlong_claim_still_gives_a_valid_unique_name() -> None:
    a = naming.snapshot_name("claim-" + "a" * 250, "scheduled", AT)
    b = naming.snapshot_name("claim-" + "a" * 249 + "b", "scheduled", AT)
    assert naming.is_subdomain(a) and naming.is_subdomain(b) and a != b
    assert a.endswith("-scheduled-20261012t0700")


def test_labels_carry_slugs_and_annotations_the_raw_names() -> None:
    volume = naming.Volume("claim-x", "ns", "Alice.Smith@uni.edu", "Lab 2", "u1")
    marks = naming.labels(volume, "scheduled", "cs101", "fall-2026")
    assert all(slugs.is_valid_label(v) for v in marks.values())
    assert marks[naming.USERNAME] == slugs.safe_slug("Alice.Smith@uni.edu")
    assert marks[naming.SERVERNAME] == slugs.safe_slug("Lab 2")
    notes = naming.notes_of(volume, AT, "backup@x")
    assert notes[naming.USERNAME] == "Alice.Smith@uni.edu" and notes[naming.SERVERNAME] == "Lab 2"
    obj = {"metadata": {"name": "s", "namespace": "ns", "labels": marks, "annotations": notes},
           "status": {"readyToUse": True}}
    found = held(obj)
    assert found is not None and (found.user, found.server, found.ready) == \
        ("Alice.Smith@uni.edu", "Lab 2", True)
    assert found.at == AT.astimezone(UTC)


def test_the_user_comes_from_the_annotation_never_the_name() -> None:
    pvc = {"metadata": {"name": "claim-bob", "namespace": "ns", "uid": "u",
                        "annotations": {naming.USERNAME: "carol"}}}
    assert naming.Volume.of(pvc) == naming.Volume("claim-bob", "ns", "carol", "", "u")
    assert naming.Volume.of({"metadata": {"name": "claim-dave"}}) is None
