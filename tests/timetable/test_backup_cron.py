"""The backup cron: expanded with APScheduler's own trigger, once per wall-clock time."""

from __future__ import annotations

from shared.events.types import BACKUP_DUE, RETENTION_DUE
from shared.timetable import expand
from shared.timetable.crons import fire_times, problem

from .helpers import FALL, NY, SYDNEY, at, timetable


def test_nightly_backup_in_the_terms_timezone_across_fall_back():
    text = FALL + 'backup:\n  cron: "0 3 * * *"\n'
    found = [o for o in expand(timetable(text), at(NY, 2026, 10, 31), at(NY, 2026, 11, 3))]
    assert [o.id for o in found] == [
        "backup@2026-10-31T03:00:00-04:00",
        "backup@2026-11-01T03:00:00-05:00",
        "backup@2026-11-02T03:00:00-05:00",
    ]
    assert {o.type for o in found} == {BACKUP_DUE}


def test_a_repeated_wall_time_fires_once():
    # 01:30 happens twice in New York on 2026-11-01; APScheduler alone would fire twice.
    times = fire_times("30 1 * * *", NY, at(NY, 2026, 10, 31), at(NY, 2026, 11, 3))
    assert [t.isoformat() for t in times] == [
        "2026-10-31T01:30:00-04:00",
        "2026-11-01T01:30:00-04:00",
        "2026-11-02T01:30:00-05:00",
    ]


def test_a_skipped_wall_time_fires_right_after_the_gap():
    # 02:30 does not exist in Sydney on 2026-10-04.
    times = fire_times("30 2 * * *", SYDNEY, at(SYDNEY, 2026, 10, 3), at(SYDNEY, 2026, 10, 6))
    assert [t.isoformat() for t in times] == [
        "2026-10-03T02:30:00+10:00",
        "2026-10-04T03:30:00+11:00",
        "2026-10-05T02:30:00+11:00",
    ]


def test_weekdays_by_name_and_retention_after_each_backup():
    text = FALL + """\
backup:
  cron: "0 2 * * mon-fri"
  retention:
    keep_last: 3
    keep_daily: 7
    keep_weekly: 4
"""
    found = expand(timetable(text), at(NY, 2026, 9, 4), at(NY, 2026, 9, 8))
    assert [(o.type, o.at.strftime("%a %H:%M")) for o in found] == [
        (BACKUP_DUE, "Fri 02:00"), (RETENTION_DUE, "Fri 02:00"),
        (BACKUP_DUE, "Mon 02:00"), (RETENTION_DUE, "Mon 02:00"),
    ]
    assert found[1].data == {"keep_last": 3, "keep_daily": 7, "keep_weekly": 4}


def test_backups_stop_with_the_term():
    text = FALL + 'backup:\n  cron: "0 3 * * *"\n'
    found = expand(timetable(text), at(NY, 2026, 12, 18), at(NY, 2026, 12, 25))
    assert [o.at.day for o in found if o.type == BACKUP_DUE] == [18]


def test_numeric_day_of_week_is_refused_with_a_hint():
    message = problem("0 2 * * 1-5", NY)
    assert message is not None
    assert "numeric" in message and "mon-fri" in message and "Tuesday..Saturday" in message
    assert problem("0 2 * * */2", NY) is not None
    assert problem("0 2 * * mon-fri", NY) is None
    assert "5" in (problem("0 2 * *", NY) or "")
