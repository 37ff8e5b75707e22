"""The `warmup` section of `schedules.yaml`: how the placeholders are sized and held.

The general knobs stay where they are (`knobs.lead_time` is the default lead time until the
cluster has measured its own, `knobs.cooldown_grace`, `knobs.attendance`); this section adds
what only the warm-up reads. Every key is optional:

    warmup:
      mode: node             # user (one pause pod per expected student) | node (one per node)
      max: 400               # at most this many students' worth of seats held
      users_per_node: 40     # node mode; default: a user node's allocatable / a user's requests
      node: {cpu: "20", memory: 48Gi}   # node mode: a user node's allocatable, used while no
                                        # user node runs to read it from (a pool scaled to 0)
      baseline: 0            # seats held between meetings during the term (0 outside it)
      lead_margin: 5m        # added to the measured scale-up + image pull time
      lead_quantile: 0.9     # of the measured samples
      lead_min_samples: 5    # scale-ups measured before they replace knobs.lead_time
      history_min: 3         # past meetings of a slot before their attendance replaces the factor

Validated as the timetable's own sections are: every problem at once, with file:line:column.
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass
from datetime import timedelta

from shared.timetable.fields import Node  # submodules: the loader imports this module
from shared.timetable.model import Timetable
from shared.timetable.sections import section

from .leadtime import LeadTime, from_records, lead_time
from .sizing import MODES, Mode

#: The ConfigMaps of the warm-up's state, in the course's namespace.
LEAD_TIMES = "classops-lead-times"  # data.samples: `leadtime.as_records`
ATTENDANCE = "classops-attendance"  # data.counts: {"lecture/2026-10-12T10:10": 187, ...}

KEYS = ("mode", "max", "users_per_node", "node", "baseline", "lead_margin", "lead_quantile",
        "lead_min_samples", "history_min")
_QUANTITY = re.compile(r"\d+(\.\d+)?(m|k|M|G|T|Ki|Mi|Gi|Ti)?")


@dataclass(frozen=True)
class WarmupKnobs:
    mode: Mode = "user"
    max: int | None = None  # None: no ceiling but the audience
    users_per_node: int | None = None  # None: read from the cluster's nodes
    node: tuple[str, str] | None = None  # (cpu, memory) of a user node; None: read from nodes
    baseline: int = 0
    lead_margin: timedelta = timedelta(minutes=5)
    lead_quantile: float = 0.9
    lead_min_samples: int = 5
    history_min: int = 3


def _mode(node: Node) -> Mode | None:
    value = node.choice(MODES)
    return next((m for m in MODES if m == value), None)


def _quantity(node: Node) -> str | None:
    if isinstance(node.value, int | float) and not isinstance(node.value, bool):
        return str(node.value)
    return node.text(_QUANTITY, "a Kubernetes quantity such as 16, 500m or 64Gi")


def _node(node: Node) -> tuple[str, str] | None:
    if not node.keys(("cpu", "memory"), ("cpu", "memory")):
        return None
    cpu, memory = node.get("cpu", _quantity), node.get("memory", _quantity)
    return (cpu, memory) if cpu and memory else None


def _quantile(node: Node) -> float | None:
    value = node.fraction()
    if value is not None and value < 0.5:
        node.problem(f"{value:g} is a low quantile, expected 0.5 to 1 (a warm-up sized for "
                     "the median scale-up is late half the time)")
        return None
    return value


@section("warmup", needs=("class",))
def parse_warmup(node: Node) -> WarmupKnobs | None:
    if not node.keys(KEYS):
        return None
    default = WarmupKnobs()
    found = {
        "mode": node.get("mode", _mode, default.mode),
        "max": node.get("max", lambda n: n.integer(minimum=1), None),
        "users_per_node": node.get("users_per_node", lambda n: n.integer(minimum=1), None),
        "node": node.get("node", _node, None),
        "baseline": node.get("baseline", lambda n: n.integer(minimum=0), default.baseline),
        "lead_margin": node.get("lead_margin", Node.duration, default.lead_margin),
        "lead_quantile": node.get("lead_quantile", _quantile, default.lead_quantile),
        "lead_min_samples": node.get("lead_min_samples", lambda n: n.integer(minimum=1),
                                     default.lead_min_samples),
        "history_min": node.get("history_min", lambda n: n.integer(minimum=1),
                                default.history_min),
    }
    bad = [k for k, v in found.items() if v is None and node.child(k) is not None]
    maximum, baseline = found["max"], found["baseline"]
    where = node.child("baseline")
    if isinstance(maximum, int) and isinstance(baseline, int) and baseline > maximum and where:
        where.problem(f"{baseline} is above warmup.max {maximum}, expected at most the maximum")
        return None
    return None if bad else WarmupKnobs(**found)  # type: ignore[arg-type]


def knobs_of(timetable: Timetable) -> WarmupKnobs:
    found = timetable.extensions.get("warmup")
    return found if isinstance(found, WarmupKnobs) else WarmupKnobs()


def learned(timetable: Timetable, samples_json: str | None) -> tuple[Timetable, LeadTime]:
    """The timetable with `knobs.lead_time` replaced by the lead time learned from the stored
    samples (`LEAD_TIMES`' `samples`), so the warm-ups fire that long before their meetings;
    unchanged while there are too few samples. A broken record counts as none."""
    knobs = knobs_of(timetable)
    try:
        raw = json.loads(samples_json or "[]")
    except ValueError:
        raw = []
    found = lead_time(from_records(raw if isinstance(raw, list) else []),
                      timetable.knobs.lead_time, knobs.lead_margin, knobs.lead_quantile,
                      knobs.lead_min_samples)
    if found.source == "default":
        return timetable, found
    return dataclasses.replace(timetable, knobs=dataclasses.replace(
        timetable.knobs, lead_time=found.value)), found
