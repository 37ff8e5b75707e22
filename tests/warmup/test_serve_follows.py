"""The warm-up inside `classops serve` (in-process, as the Deployment runs it): the timetable
fires the warm-up on time, the watch on user pods makes the count follow `expected - running`
as students arrive, and the cool-down gives the placeholders back."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from pathlib import Path

from cloudevents.core.v1.event import CloudEvent
from kubernetes import client

from shared.events import CALENDAR_CHANGED
from shared.handlers.registry import load as load_functions
from shared.ports.kube import Kube
from shared.runtime.inbox.store import Inbox
from shared.runtime.server import Server
from shared.timetable import load
from tests.deploy.conftest import Stack
from tests.runtime.conftest import settings_for
from tests.wait import until

from .conftest import warm_for
from .test_warmup_cluster import user_pod


def test_serve_warms_follows_the_students_and_cools_down(stack: Stack, tmp_path: Path) -> None:
    cluster = stack.cluster
    noon = datetime.combine(cluster.emu.clock.now().date() + timedelta(days=1), time(12), UTC)
    cluster.emu.clock.set(noon)
    schedule = tmp_path / "schedules.yaml"
    schedule.write_text(
        "course: cs101\n"
        f"term: {{name: t, start: {noon.date() - timedelta(days=7)}, "
        f"end: {noon.date() + timedelta(days=30)}, timezone: UTC}}\n"
        "class: {size: 20}\nknobs: {lead_time: 119s, cooldown_grace: 1m, attendance: 1.0}\n"
        f"one_off: [{{name: review, kind: lecture, date: {noon.date()}, start: '12:02', "
        "end: '12:30'}]\n")
    warm = warm_for(stack, load(schedule))  # the placeholders deployed; the test's eyes
    server = Server.open(settings_for(cluster, schedule=str(schedule)), load_functions("functions"),
                         api=cluster.emu.api_client(), clock=cluster.emu.clock.now,
                         drain_tick=0.1).start()
    kube = Kube(cluster.api)
    try:
        # The warm-up fires at 12:00:01 (a second of wall time from now, the clock frozen).
        until(lambda: warm.scale() == 20, timeout=30, what="the review warmed to 20")
        core = client.CoreV1Api(cluster.api)
        for i in range(5):
            core.create_namespaced_pod(cluster.namespace,
                                       user_pod(cluster.namespace, f"jupyter-s{i}"))
        until(lambda: warm.scale() == 15, timeout=30, what="the count following 5 students")
        why = warm.statefulset()["metadata"]["annotations"]["classops.edu/warmup-why"]
        assert why.startswith("followed to 15") and "expected 20 - running 5" in why
        # Past the cool-down (12:31): a calendar change replans, and the missed cool-down is
        # caught up.
        cluster.emu.clock.set(noon + timedelta(minutes=32))
        Inbox(kube, cluster.namespace, cluster.emu.clock.now).put(CloudEvent({
            "id": "cal-1", "type": CALENDAR_CHANGED, "source": "/lms",
            "time": cluster.emu.clock.now(), "datacontenttype": "application/json"},
            {"change": "cancelled", "meeting": "review", "date": "2000-01-01"}))
        until(lambda: warm.scale() == 0, timeout=30, what="the cool-down back to 0")
    finally:
        server.stop()
        kube.close()
