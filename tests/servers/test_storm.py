"""Student storms: students log in through the hub on a seeded curve; waits on emulated time."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from tests.servers.kubehub import CLOCK_START, KubeHub, kube_hub_running
from tests.servers.storm import StormResult, arrival_curve
from tests.wait import until

PULL, START = 60, 5  # emulated seconds: the image's first pull on a node, a container's start


def test_the_arrival_curve_is_seeded_and_front_loaded() -> None:
    curve = arrival_curve(1000, seed=7)
    assert curve == arrival_curve(1000, seed=7) != arrival_curve(1000, seed=8)
    assert curve == sorted(curve) and curve[0] >= 0
    within = sum(1 for t in curve if t <= 300) / len(curve)
    assert 0.75 < within < 0.85  # 80 % within 5 minutes, by construction, give or take chance
    with pytest.raises(ValueError, match="share"):
        arrival_curve(10, share=1.0)


@pytest.mark.timeout(900)
def test_twenty_students_become_ready_and_their_waits_are_measured(
        kube_hub: KubeHub, hub_storm: Callable[..., StormResult]) -> None:
    kube_hub.add_node("user-1")
    kube_hub.add_node("user-2")
    kubelet = kube_hub.emu.controller("kubelet")
    kubelet.pull_seconds, kubelet.start_seconds = PULL, START
    start = CLOCK_START + timedelta(minutes=10)

    storm = hub_storm(n=20, seed=3, start=start, rate=30)  # 20 students: the hub keeps up
    print("\n" + storm.summary("20 students, 2 nodes"))

    assert len(storm.ready) == 20, [(s.user, s.error) for s in storm.failed]
    assert {s.pod for s in storm.students} == {f"jupyter-student-{i:03d}" for i in range(20)}
    offsets = arrival_curve(20, seed=3)
    for student, offset in zip(storm.students, offsets, strict=True):
        assert student.arrival == start + timedelta(seconds=offset)
        assert student.login is not None and student.login >= student.arrival
        assert student.created is not None and student.ready is not None
        assert student.wait is not None and student.wait >= START
    # The cluster's side of each wait: the first pod on a node pulls the image; a pod created
    # once that pull is done finds it cached (its wait is its volume binding and start: the
    # controllers' wall-time passes, stretched by the clock's rate, count too).
    by_node: dict[str, list] = defaultdict(list)
    for pod in kube_hub.pods():
        by_node[pod.spec.node_name].append(pod)
    waits = {s.pod: s.wait or 0.0 for s in storm.students}
    cached = 0
    for pods in by_node.values():
        first = min(p.metadata.creation_timestamp for p in pods)
        for pod in pods:
            created = pod.metadata.creation_timestamp
            if created == first:
                assert waits[pod.metadata.name] >= PULL + START
            elif created >= first + timedelta(seconds=PULL + 1):
                assert waits[pod.metadata.name] < PULL
                cached += 1
    assert cached > 0, "no student came after a pull; the curve should spread them out"


# -- 200 students: waiting for the autoscaler versus room held by placeholders -------------------
PROVISION, NOT_READY, BIG_PULL = 120, 30, 90  # emulated seconds, as a cloud node pool might take


def _autoscaled(hub: KubeHub) -> None:
    """An empty user pool that cluster-autoscaler grows, nodes of 8 CPU (16 students), and the
    stack's continuous image puller, which pulls the student image on every new node."""
    hub.emu.enable_controllers("autoscaler", autoscaler={
        "pools": [{"name": "user", "cpu": "8", "memory": "32Gi", "max_size": 30}],
        "provision_seconds": PROVISION, "not_ready_seconds": NOT_READY})
    kubelet = hub.emu.controller("kubelet")
    kubelet.pull_seconds, kubelet.start_seconds = BIG_PULL, START
    hub.apply(m for m in hub.render("hub") if m["metadata"]["name"] == "continuous-image-puller")


def _hold_room(hub: KubeHub, students: int) -> None:
    """The warm-up's effect, done by hand: `students` placeholders, Running before the storm."""
    (placeholders,) = [m for m in hub.render("hub")
                       if m["kind"] == "StatefulSet" and m["metadata"]["name"] ==
                       "user-placeholder"]
    placeholders["spec"]["replicas"] = students
    hub.apply([placeholders])
    hub.emu.clock.set_rate(120)  # the nodes come and the images are pulled while we wait

    def running() -> bool:
        pods = hub.pods("component=user-placeholder")
        return sum(1 for p in pods if p.status.phase == "Running") >= students

    until(running, timeout=600, every=0.5, what=f"{students} placeholders running")
    hub.emu.clock.set_rate(1)


@pytest.mark.storm
@pytest.mark.timeout(1800)
def test_two_hundred_students_wait_for_the_autoscaler_but_not_behind_placeholders(
        tmp_path: Path) -> None:
    from tests.kubeemu.controllers import NAMES

    if "autoscaler" not in NAMES:
        pytest.skip("the emulator has no node autoscaler yet (Test bed 4, item 5)")
    start = CLOCK_START + timedelta(hours=1)
    results = {}
    for held in (False, True):
        (tmp_path / str(held)).mkdir()
        with kube_hub_running(tmp_path / str(held)) as hub:
            _autoscaled(hub)
            if held:
                _hold_room(hub, 200)
            storm = hub.storm(200, seed=11, start=start)
            results[held] = storm
            print("\n" + storm.summary("with placeholders" if held else "empty cluster"))
            assert len(storm.ready) == 200, [(s.user, s.error) for s in storm.failed]

    empty, warm = results[False].waits(), results[True].waits()
    # On an empty cluster the first pod waited for a node to be provisioned and turn Ready
    # (later ones may find a node that came for others).
    first = min((s for s in results[False].students if s.created), key=lambda s: s.created or 0)
    assert first.wait is not None and first.wait >= PROVISION + NOT_READY
    # Behind placeholders, nine in ten waited less than half the students on the empty cluster.
    assert warm[int(len(warm) * 0.9) - 1] < empty[len(empty) // 2]
