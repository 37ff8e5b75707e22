"""Lead time (pure): a high quantile of measured scale-up + image pull, plus a margin; the
configured default until there are enough samples; where it came from, for the plan."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shared.warmup.leadtime import (
    Sample,
    as_records,
    from_records,
    keep,
    lead_time,
    quantile,
)

T0 = datetime(2026, 10, 12, 14, 0, tzinfo=UTC)
DEFAULT, MARGIN = timedelta(minutes=30), timedelta(minutes=5)


def ups(*seconds: float) -> list[Sample]:
    return [Sample("scale_up", s, T0 + timedelta(minutes=i), f"node-{i}")
            for i, s in enumerate(seconds)]


def pulls(*seconds: float) -> list[Sample]:
    return [Sample("image_pull", s, T0 + timedelta(minutes=i), f"pod-{i}")
            for i, s in enumerate(seconds)]


def test_too_few_samples_give_the_default_and_say_so() -> None:
    found = lead_time(ups(400, 420), DEFAULT, MARGIN, min_samples=5)
    assert (found.value, found.source, found.samples) == (DEFAULT, "default", 2)
    assert found.describe() == "lead 30 min (default; 2 samples)"


def test_enough_samples_give_quantile_of_scale_up_plus_pull_plus_margin() -> None:
    samples = ups(300, 310, 320, 330, 900) + pulls(100, 110, 120, 130, 140)
    found = lead_time(samples, DEFAULT, MARGIN, q=0.8, min_samples=5)
    # 0.8 quantile (nearest rank 4 of 5): 330 s and 130 s; + 5 min = 760 s.
    assert found.value == timedelta(seconds=330 + 130) + MARGIN
    assert found.source == "measured"
    assert found.describe() == "lead 13 min from 5 samples"


def test_one_slow_scale_up_moves_a_high_quantile() -> None:
    fast = lead_time(ups(*[300] * 10), DEFAULT, MARGIN, q=0.9)
    slow = lead_time(ups(*[300] * 9, 1200), DEFAULT, MARGIN, q=0.95)
    assert slow.value > fast.value


def test_quantile_is_a_seen_value() -> None:
    assert quantile([5, 1, 3], 0.5) == 3
    assert quantile([5, 1, 3], 1.0) == 5


def test_keep_drops_repeats_and_bounds_each_kind() -> None:
    first = keep([], ups(300, 310))
    again = keep(first, ups(300, 310))  # the same nodes measured twice: once
    assert len(again) == 2
    many = keep([], ups(*range(150)), limit=100)
    assert len(many) == 100 and min(s.seconds for s in many) == 50  # the newest kept


def test_records_round_trip_and_bad_ones_are_skipped() -> None:
    samples = ups(300) + pulls(120)
    records = as_records(samples)
    assert from_records([*records, {"kind": "scale_up"}, "junk"]) == samples


def test_the_warm_ups_fire_the_learned_lead_time_before_their_meetings() -> None:
    """With enough samples the timetable's warm-ups move: 0.9 quantile 400 s + 120 s pull +
    the 5 min margin = 13 min 40 s before 10:10."""
    import json
    from zoneinfo import ZoneInfo

    from shared.timetable import expand
    from shared.warmup.knobs import learned
    from tests.timetable.helpers import FALL, LECTURES, timetable

    tt = timetable(FALL + LECTURES)
    samples = json.dumps(as_records(ups(*[400] * 6) + pulls(120)))
    moved, lead = learned(tt, samples)
    assert lead.source == "measured" and lead.value == timedelta(seconds=820)
    ny = ZoneInfo("America/New_York")
    day = (datetime(2026, 10, 12, tzinfo=ny), datetime(2026, 10, 13, tzinfo=ny))
    warm = [o.at for o in expand(moved, *day) if o.type.endswith("warmup")]
    assert [f"{t:%H:%M:%S}" for t in warm] == ["09:56:20"]
    assert learned(tt, json.dumps(as_records(ups(400))))[0] is tt  # too few: unchanged
    assert learned(tt, "not json")[0] is tt
