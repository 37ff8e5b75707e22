"""Show it works (issue 14): 240 students log in through the course's hub (KubeSpawner) on a
seeded curve, 80 % within 5 minutes of the lecture's start, on a cluster whose user pool is
scaled to 0 behind the autoscaler model (nodes of 40 users, 360 s to provision, 30 s NotReady,
120 s first image pull, 5 s container start). With classops's node-sized warm-up (serve
in-process), 95 % of them are Ready before a first image pull could even finish (120 s) -- none
of them waits for a node or an image -- and the placeholders held fewer node-hours than static
placeholders held all day would.

The issue's goal, 95 % within 15 s, is not asserted here: with KubeSpawner students the emulator's
own passes (pre-emption, PVC binding, the hub's CPU) run in wall time that the storm's 3x clock
stretches (69 % within 15 s at 3x, p95 27 s; 100 % within 15 s with pods created through the
client, bench/README.md). An xfail that cannot fail would prove nothing; this bound can fail.

The figures of all four ways (no warm-up, static, user- and node-sized) are `bench/lecture_storm`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.lecture_storm import GOAL_SECONDS, GOAL_SHARE, NODE, PULL, STUDENTS, run
from shared.warmup.workload import quantity


def _needs() -> None:
    """The storm (KubeSpawner students) and the autoscaler model land from other branches."""
    from tests.kubeemu.controllers import NAMES

    pytest.importorskip("tests.servers.kubehub", reason="the hub storm is not on this branch")
    if "autoscaler" not in NAMES:
        pytest.skip("the emulator's autoscaler model is not on this branch")


@pytest.mark.storm
@pytest.mark.timeout(1500)
def test_a_warmed_lecture_storm_waits_for_no_node_with_fewer_node_hours_than_static(
        tmp_path: Path) -> None:
    _needs()
    from tests.servers.kubehub import course_settings

    outcome = run("node", seed=1, storm_rate=3.0, workdir=tmp_path, log=print)
    print(f"within {GOAL_SECONDS:g} s: {100 * outcome.within():.1f} %, placeholder node-hours "
          f"{outcome.placeholder_node_hours:.2f}, lead next: {outcome.lead}")
    assert outcome.failed == 0 and len(outcome.waits) == STUDENTS
    # No node and no first pull in the way of 95 % of the class (without the warm-up every
    # student waits >= PROVISION + NOT_READY + PULL; bench/lecture_storm "no warm-up": p95 516 s).
    assert outcome.within(PULL) >= GOAL_SHARE, sorted(outcome.waits)[-20:]
    # Static placeholders for every student, held all day: each holds a user's CPU request.
    user_cpu = quantity(course_settings().resources.cpu_guarantee or "0")
    static = STUDENTS * user_cpu / quantity(NODE["cpu"]) * 24
    assert 0 < outcome.placeholder_node_hours < static
    assert outcome.samples > 0  # the recorder measured this cluster's scale-ups
