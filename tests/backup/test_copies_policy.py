"""Retention of the copies in S3 over listings of keys (pure): the schedule's rules per student,
the floors no rule overrides, and the garbage failed copies leave."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from shared.archive.layout import Owner, Place, stamp
from shared.backup.copies_policy import GRACE, CopyDecision, Listed, parse, plan
from shared.backup.policy import Policy

NY = ZoneInfo("America/New_York")
PREFIX = "cs101/fall-2026"
RULES = Policy(keep_last=3, keep_daily=7, keep_weekly=16)  # the bundled schedule's
WRITTEN = datetime(2026, 12, 1, 12, tzinfo=UTC)  # when the objects were uploaded
LATER = WRITTEN + GRACE + timedelta(hours=1)


def nights(first: date, days: int) -> list[str]:
    return [stamp(datetime.combine(first + timedelta(days=i), time(3), NY)) for i in range(days)]


def copies(owner: Owner, stamps: list[str], written: datetime = WRITTEN) -> list[Listed]:
    place = Place(PREFIX, owner)
    return [Listed(k, written) for t in stamps for k in (place.archive(t), place.manifest(t))] \
        + [Listed(place.latest, written)]


def by_stamp(decisions: list[CopyDecision], owner: Owner) -> dict[str, CopyDecision]:
    return {d.timestamp: d for d in decisions if d.owner == owner}


def test_each_student_keeps_what_the_rules_say_and_the_rest_goes_manifest_first() -> None:
    alice, carol = Owner("alice"), Owner("carol@uni.edu", "lab 2")
    stamps = nights(date(2026, 10, 26), 28)  # four ISO weeks, Monday to Sunday
    decisions = plan(PREFIX, copies(alice, stamps) + copies(carol, stamps[-2:]), RULES, NY,
                     LATER, {alice: stamps[-1], carol: stamps[-1]})
    mine = by_stamp(decisions, alice)
    local = {t: datetime.strptime(t, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC).astimezone(NY)
             for t in stamps}
    newest_of_week: dict[tuple[int, int], str] = {}
    for t in sorted(stamps, reverse=True):
        newest_of_week.setdefault(local[t].isocalendar()[:2], t)
    expected = set(sorted(stamps)[-7:]) | set(newest_of_week.values())
    assert {t for t, d in mine.items() if d.keep} == expected
    assert len(expected) == 7 + 3  # the last week's 7 nights, the 3 Sundays before
    gone = [d for d in mine.values() if not d.keep]
    assert len(gone) == 28 - 10
    for d in gone:
        place = Place(PREFIX, alice)
        assert d.kind == "copy" and d.why == (f"not kept by the policy ({RULES.describe()})",)
        assert d.keys == (place.manifest(d.timestamp), place.archive(d.timestamp))
    # Another student (a named server, a raw name URL-encoded) is a group of their own.
    assert all(d.keep for d in by_stamp(decisions, carol).values())
    assert "carol%40uni.edu/lab%202/" in by_stamp(decisions, carol)[stamps[-1]].keys[0]


def test_floors_latest_newest_final_and_young_copies_are_never_deleted() -> None:
    bob = Owner("bob")
    stamps = nights(date(2026, 11, 2), 10)
    listed = copies(bob, stamps[:-1]) + copies(bob, stamps[-1:], LATER - timedelta(hours=2))
    decisions = by_stamp(plan(PREFIX, listed, Policy(keep_last=1), NY, LATER,
                              {bob: stamps[2]}, {(bob, stamps[0])}), bob)
    assert decisions[stamps[2]].keep and "latest.json names it" in decisions[stamps[2]].why
    assert decisions[stamps[0]].why == ("term-end (final) copy",)
    newest = decisions[stamps[-1]].why
    assert newest[0] == "newest committed copy" and "within the 24.0 h grace" in newest[1]
    assert "last 1" in newest
    assert [t for t, d in decisions.items() if d.keep] == [stamps[-1], stamps[2], stamps[0]]


def test_an_archive_without_manifest_is_garbage_once_the_grace_is_over() -> None:
    dave = Owner("dave")
    place = Place(PREFIX, dave)
    committed = nights(date(2026, 11, 2), 2)
    crashed = stamp(datetime(2026, 11, 5, 8, tzinfo=UTC))
    stray = place.mark("f00d", committed[0])
    listed = [*copies(dave, committed), Listed(place.archive(crashed), WRITTEN),
              Listed(stray, WRITTEN), Listed(place.mark("beef", committed[1]), WRITTEN)]

    young = by_stamp(plan(PREFIX, listed, Policy(keep_last=1), NY, WRITTEN + GRACE / 2,
                          {dave: committed[1]}), dave)
    assert young[crashed].kind == "garbage" and young[crashed].keep
    assert "within the 24.0 h grace" in young[crashed].why[0]
    assert all(d.keep for d in young.values())

    late = by_stamp(plan(PREFIX, listed, Policy(keep_last=1), NY, LATER, {dave: committed[1]}),
                    dave)
    assert not late[crashed].keep and late[crashed].why[0].startswith("no manifest")
    assert late[crashed].keys == (place.archive(crashed),)
    assert late[crashed].absent == (place.manifest(crashed),)  # a late commit stops it
    # The older copy goes, its stray marker first: a marker never outlives its copy.
    assert late[committed[0]].keys == (stray, place.manifest(committed[0]),
                                       place.archive(committed[0]))
    assert late[committed[1]].keep  # the newest, and the marker the worker reads


def test_a_marker_alone_is_swept_and_other_keys_are_never_touched() -> None:
    erin = Owner("erin")
    place = Place(PREFIX, erin)
    [kept] = nights(date(2026, 11, 2), 1)
    others = [f"{PREFIX}/index.json", f"{PREFIX}/ledger/2026-11-02/0300.jsonl",
              f"{PREFIX}/teardown/erin.json", f"{PREFIX}/_term/manifests-20261219T050000Z.yaml",
              f"{PREFIX}/erin/notes.txt", "cs102/fall-2026/erin/20261102T080000Z.tar.gz"]
    listed = copies(erin, [kept]) + [Listed(place.mark("0ld", "20261001T070000Z"), WRITTEN)] \
        + [Listed(k, WRITTEN) for k in others]
    assert all(parse(PREFIX, k) is None for k in [*others, place.latest])
    decisions = plan(PREFIX, listed, RULES, NY, LATER, {erin: kept})
    [marker] = [d for d in decisions if d.kind == "marker"]
    assert (marker.keep, marker.why) == (False, ("marker of a copy that no longer exists",))
    assert {k for d in decisions for k in d.keys} == {
        place.archive(kept), place.manifest(kept), place.mark("0ld", "20261001T070000Z")}


def test_an_object_of_unknown_age_is_kept() -> None:
    fay = Owner("fay")
    place = Place(PREFIX, fay)
    [d] = plan(PREFIX, [Listed(place.archive("20261102T080000Z"))], RULES, NY, LATER)
    assert d.keep and "unknown time" in d.why[0]


def test_an_unfinished_upload_is_aborted_once_the_grace_is_over() -> None:
    gus = Owner("gus")
    key = Place(PREFIX, gus).archive("20261102T080000Z")
    started = Listed(key, WRITTEN, upload="upload-1")  # its parts: no object in the listing
    [young] = plan(PREFIX, [started], RULES, NY, WRITTEN + GRACE / 2)
    assert young.keep and young.why[0].startswith("started 12.0 h ago")
    [late] = plan(PREFIX, [started], RULES, NY, LATER)
    assert (late.kind, late.keep, late.keys, late.upload) == ("parts", False, (key,), "upload-1")
    # A finished copy of the same key is another matter: only the stale upload goes.
    decisions = plan(PREFIX, [*copies(gus, ["20261102T080000Z"]), started], RULES, NY, LATER)
    assert [(d.kind, d.keep) for d in decisions] == [("copy", True), ("parts", False)]
