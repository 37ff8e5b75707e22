"""Level-triggered watch handlers (`coalesce=True`): a burst of events runs them once, with the
newest event, while the other handlers still run once per event."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from shared.actions.model import Action
from shared.events import WatchEvent
from shared.handlers.context import Context
from shared.handlers.registry import Registry, on_watch
from shared.metrics import Metrics
from shared.runtime.coalescing import Coalescer
from shared.runtime.server import Server
from tests.conftest import Kube
from tests.wait import until

from .test_retrying import OK, event, retry


class Fake:
    """A handler whose outcomes are scripted, and a clock moved by hand."""

    def __init__(self, *outcomes: dict[str, Any]) -> None:
        self.outcomes, self.runs, self.now = list(outcomes), [], 0.0
        self.metrics = Metrics()
        self.coalescer = Coalescer("demo", self.run, self.metrics.watch_events,
                                   monotonic=lambda: self.now)

    def run(self, e: Any) -> dict[str, Any]:
        self.runs.append((e.object.name, e.object.metadata["resourceVersion"]))
        return self.outcomes.pop(0) if len(self.outcomes) > 1 else self.outcomes[0]

    def count(self, outcome: str) -> float:
        return self.metrics.value("classops_watch_events_total", outcome=outcome)


def test_a_burst_runs_once_with_the_newest_event_and_a_repeat_is_not_run_again() -> None:
    fake = Fake(OK)
    for version in range(1, 11):
        fake.coalescer.offer(event("servers", str(version)))
    fake.coalescer.offer(event("servers", "10"))  # the same event from a second watch
    assert fake.coalescer.run_due() == 0.0
    assert fake.coalescer.run_due() is None  # nothing waits
    assert fake.runs == [("servers", "10")]
    assert fake.count("coalesced") == 9 and fake.count("ok") == 1
    fake.coalescer.offer(event("servers", "10"))  # delivered again after it ran
    assert fake.coalescer.run_due() is None and len(fake.runs) == 1


def test_a_retry_runs_again_after_its_delay_doubling_but_a_newer_event_comes_first() -> None:
    fake = Fake(retry(2.0), retry(2.0), retry(2.0), OK)
    fake.coalescer.offer(event("servers", "1"))
    fake.coalescer.run_due()
    assert fake.coalescer.run_due() == 2.0  # waits the handler's delay
    fake.now = 2.0
    fake.coalescer.run_due()
    assert fake.coalescer.run_due() == 4.0  # doubled
    fake.coalescer.offer(event("servers", "2"))  # a change: look again, a second after the last
    assert fake.coalescer.run_due() == 1.0
    fake.now = 3.0
    assert fake.coalescer.run_due() == 0.0
    assert fake.runs == [("servers", "1"), ("servers", "1"), ("servers", "2")]
    fake.now = 3.0 + 2.0  # the new event's retry starts from the handler's delay again
    assert fake.coalescer.run_due() == 0.0 and fake.coalescer.run_due() is None
    assert fake.runs[-1] == ("servers", "2") and fake.count("retry") == 3


def test_a_steady_stream_of_changes_runs_it_once_a_second() -> None:
    fake = Fake(OK)
    for tick in range(50):  # ten changes a second for five seconds
        fake.now = tick / 10
        fake.coalescer.offer(event("servers", str(tick)))
        fake.coalescer.run_due()
    fake.now = 5.0
    fake.coalescer.run_due()
    assert [v for _, v in fake.runs] == ["0", "10", "20", "30", "40", "49"]
    assert fake.count("coalesced") == 50 - 6


def test_serve_runs_a_level_handler_once_per_burst_and_it_sees_every_change(
        kube: Kube, start_server: Callable[..., Server]) -> None:
    registry, seen, each = Registry(), [], []
    first_run, go_on = threading.Event(), threading.Event()

    @on_watch(kind="ConfigMap", labels={"demo": None}, registry=registry, id="level",
              coalesce=True)
    def level(e: WatchEvent, ctx: Context) -> list[Action]:
        first_run.set()
        go_on.wait(60)  # held, while the burst arrives
        seen.append(sorted(c.name for c in ctx.kube.list("v1", "ConfigMap", kube.namespace,
                                                          "demo")))
        return []

    @on_watch(kind="ConfigMap", labels={"demo": None}, registry=registry, id="edge")
    def edge(e: WatchEvent, ctx: Context) -> list[Action]:
        each.append(e.object.name)
        return []

    server = start_server(registry)
    until(lambda: server.elector.leading)
    names = [f"cm-{i:02d}" for i in range(20)]
    kube.core.create_namespaced_config_map(kube.namespace, {"metadata": {
        "name": names[0], "labels": {"demo": "yes"}}})
    until(first_run.is_set, what="the level handler runs for the first change")
    for name in names[1:]:
        kube.core.create_namespaced_config_map(kube.namespace, {"metadata": {
            "name": name, "labels": {"demo": "yes"}}})
    until(lambda: len(each) == len(names), what="the edge handler ran for every change")
    go_on.set()
    until(lambda: len(seen) == 2, what="the held run, then one for the 19 changes behind it")
    assert seen[-1] == names  # the changes it skipped are read from the cluster
    # Of the 19 events that came while it was held, 18 were replaced by a newer one.
    assert server.metrics.value("classops_watch_events_total", outcome="coalesced") == 18
    assert sorted(each) == names
