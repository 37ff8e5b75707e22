"""Retention with restic's semantics over a synthetic term of history (pure)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from shared.backup.inventory import Held
from shared.backup.policy import Policy, plan

NY = ZoneInfo("America/New_York")
START, END = date(2026, 8, 31), date(2026, 12, 18)
TERM_END = datetime.combine(END + timedelta(days=1), time(0), NY)


def snap(user: str, at: datetime, reason: str = "scheduled", ready: bool = True,
         server: str = "", error: str = "") -> Held:
    name = f"{user}-{server}-{reason}-{at.astimezone(UTC):%Y%m%dt%H%M}"
    return Held(name, "ns", user, server, f"claim-{user}", reason, at, ready, error)


def nightly(user: str, server: str = "", skip: frozenset[date] = frozenset()) -> list[Held]:
    days = (START + timedelta(days=i) for i in range((END - START).days + 1))
    return [snap(user, datetime.combine(d, time(3), NY), server=server) for d in days
            if d not in skip]


def kept(decisions: list, user: str = "alice", reason: str = "scheduled") -> set[str]:
    return {d.snapshot.name for d in decisions if d.keep and d.snapshot.user == user
            and d.snapshot.reason == reason}


def test_a_term_of_nightly_snapshots_keeps_last_daily_and_weekly() -> None:
    history = nightly("alice")
    now = datetime.combine(END, time(12), NY)
    decisions = plan(history, Policy(keep_last=3, keep_daily=7, keep_weekly=16), NY, now,
                     TERM_END)
    newest_first = sorted(history, key=lambda s: s.at, reverse=True)
    by_week: dict[tuple[int, int], Held] = {}
    for s in newest_first:
        by_week.setdefault(s.at.astimezone(NY).isocalendar()[:2], s)
    weekly = sorted(by_week.values(), key=lambda s: s.at, reverse=True)[:16]
    expected = {s.name for s in newest_first[:7]} | {s.name for s in weekly}
    assert kept(decisions) == expected
    # Friday's 7 nights hold this week's newest and last Sunday; 14 Sundays before those.
    assert len(expected) == 7 + 14
    assert all(s.at.astimezone(NY).weekday() == 6 for s in weekly[1:])
    assert len([d for d in decisions if not d.keep]) == len(history) - len(expected)


def test_days_without_a_snapshot_do_not_use_up_daily_buckets() -> None:
    skip = frozenset(END - timedelta(days=i) for i in range(1, 6))  # a week of outage
    history = nightly("alice", skip=skip)
    decisions = plan(history, Policy(keep_daily=3), NY, datetime.combine(END, time(12), NY),
                     TERM_END)
    days = sorted(datetime.fromisoformat(n.rsplit("-", 1)[1].replace("t", "T") + "00+00:00")
                  .astimezone(NY).date() for n in kept(decisions))
    assert days == [END - timedelta(days=7), END - timedelta(days=6), END]


def test_daily_buckets_are_the_course_days_across_dst() -> None:
    # 23:30 and 00:30 New York time are one UTC day apart only in EDT (04:30 vs 05:30 UTC
    # is the same UTC day): two snapshots of 2026-11-01 (the fall-back day) and one of the
    # 31st at 23:30 EDT (03:30 UTC on Nov 1st) are two course days.
    a = snap("alice", datetime(2026, 10, 31, 23, 30, tzinfo=NY))
    b = snap("alice", datetime(2026, 11, 1, 0, 30, tzinfo=NY))
    c = snap("alice", datetime(2026, 11, 1, 22, 0, tzinfo=NY))
    decisions = plan([a, b, c], Policy(keep_daily=2), NY, datetime(2026, 11, 2, tzinfo=NY),
                     TERM_END)
    assert kept(decisions) == {a.name, c.name}


def test_rules_are_counted_per_user_server_and_reason() -> None:
    day = datetime(2026, 10, 5, 3, tzinfo=NY)
    history = [snap(u, day - timedelta(days=i), server=s) for u, s in
               [("alice", ""), ("alice", "lab"), ("bob@uni.edu", "")] for i in range(5)]
    history += [snap("alice", day - timedelta(hours=i), reason="manual") for i in range(1, 4)]
    decisions = plan(history, Policy(keep_last=2), NY, day, TERM_END)
    groups: dict[tuple[str, str, str], int] = {}
    for d in decisions:
        if d.keep:
            groups[d.snapshot.group] = groups.get(d.snapshot.group, 0) + 1
    assert groups == {("alice", "", "scheduled"): 2, ("alice", "lab", "scheduled"): 2,
                      ("bob@uni.edu", "", "scheduled"): 2, ("alice", "", "manual"): 2}


def test_the_newest_ready_snapshot_is_never_deleted() -> None:
    old = snap("alice", datetime(2026, 9, 1, 3, tzinfo=NY))
    failed = [snap("alice", datetime(2026, 9, d, 3, tzinfo=NY), ready=False, error="disk full")
              for d in (2, 3, 4)]
    manual = snap("alice", datetime(2026, 8, 31, 3, tzinfo=NY), reason="manual")
    decisions = plan([old, *failed, manual], Policy(keep_last=1), NY,
                     datetime(2026, 9, 10, tzinfo=NY), TERM_END)
    why = {d.snapshot.name: d.why for d in decisions}
    assert "newest ready of this volume" in why[old.name]
    assert all(why[f.name] == ("failed: disk full",) for f in failed)  # evidence, kept
    # the manual group's only snapshot is kept by its own keep_last
    assert why[manual.name] == ("last 1",)


def test_deadline_snapshots_stay_to_the_end_of_term_then_follow_the_policy() -> None:
    deadlines = [snap("alice", datetime(2026, 9, 4, 23, 59, tzinfo=NY) + timedelta(weeks=i),
                      reason="deadline") for i in range(12)]
    final = snap("alice", datetime(2026, 12, 1, tzinfo=NY), reason="final")
    scheduled = snap("alice", datetime(2026, 12, 2, 3, tzinfo=NY))
    during = plan([*deadlines, final, scheduled], Policy(keep_last=1), NY,
                  datetime(2026, 12, 10, tzinfo=NY), TERM_END)
    assert all(d.keep for d in during)
    after = plan([*deadlines, final, scheduled], Policy(keep_last=1), NY,
                 TERM_END + timedelta(days=1), TERM_END)
    assert kept(after, reason="deadline") == {deadlines[-1].name}
    assert kept(after, reason="final") == {final.name}


def test_an_empty_policy_is_refused() -> None:
    with pytest.raises(ValueError, match="must keep something"):
        Policy()
    assert Policy(keep_daily=7, keep_weekly=4).describe() == "keep daily 7, weekly 4"


def test_the_schedule_may_ask_for_hourly_and_monthly_too() -> None:
    from shared.timetable import expand, loads
    from tests.backup.conftest import SCHEDULE

    text = SCHEDULE.replace("keep_weekly: 16\n", "keep_weekly: 16\n    keep_monthly: 4\n")
    assert text != SCHEDULE
    timetable = loads(text, "schedules.yaml")
    assert timetable.backup is not None and timetable.backup.retention is not None
    assert timetable.backup.retention.keep_monthly == 4
    start = datetime(2026, 11, 1, tzinfo=NY)
    [firing] = [o for o in expand(timetable, start, start + timedelta(days=1))
                if o.type == "edu.classops.retention.due"]
    assert firing.data["keep_monthly"] == 4 and "keep_hourly" not in firing.data
    from shared.timetable import TimetableError
    with pytest.raises(TimetableError, match="keep_hourly"):
        loads(SCHEDULE.replace("keep_weekly: 16\n", "keep_weekly: 16\n    keep_hourly: x\n"),
              "schedules.yaml")
