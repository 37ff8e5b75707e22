"""Retries of watch-driven handlers: with the handler's delay and back-off, bounded, off the
watcher's thread, never a second run of a settled event; outcomes in logs and metrics."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import requests

from shared.actions.model import Action
from shared.events import WatchEvent, from_watch, typed
from shared.handlers.context import Context
from shared.handlers.registry import PermanentError, Registry, TemporaryError, on_watch
from shared.metrics import Metrics
from shared.runtime.inbox.entries import MAX_ATTEMPTS
from shared.runtime.retrying import Retries, Settled
from shared.runtime.server import Server
from tests.conftest import Kube
from tests.wait import until


def event(name: str, version: str = "1") -> Any:
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
        "name": name, "namespace": "ns", "uid": f"uid-{name}", "resourceVersion": version}}
    return typed(from_watch("MODIFIED", obj, "configmaps", datetime(2026, 9, 1, tzinfo=UTC)))


class Fake:
    """A runner whose outcomes are scripted per object name, and a clock moved by hand."""

    def __init__(self, script: dict[str, list[dict[str, Any]]]) -> None:
        self.script, self.runs, self.now = script, [], 0.0
        self.metrics = Metrics()
        self.retries = Retries(self.run, self.metrics.watch_events, Settled(),
                               monotonic=lambda: self.now)

    def run(self, e: Any) -> dict[str, Any]:
        self.runs.append(e.object.name)
        steps = self.script[e.object.name]
        return steps.pop(0) if len(steps) > 1 else steps[0]

    def count(self, outcome: str) -> float:
        return self.metrics.value("classops_watch_events_total", outcome=outcome)


OK: dict[str, Any] = {"handlers": [], "retry": None, "failed": False}


def retry(delay: float) -> dict[str, Any]:
    return {**OK, "retry": delay}


def test_a_retry_waits_the_handlers_delay_then_backs_off_and_a_success_is_final() -> None:
    fake = Fake({"a": [retry(2.0), retry(2.0), OK]})
    fake.retries.deliver(event("a"))
    assert fake.retries.run_due() == 2.0
    fake.retries.deliver(event("a"))  # delivered again while it waits: not run twice
    fake.now = 1.9
    assert fake.retries.run_due() is not None and fake.runs == ["a"]
    fake.now = 2.0
    assert fake.retries.run_due() == 4.0  # the second wait is doubled
    fake.now = 6.0
    assert fake.retries.run_due() is None and fake.runs == ["a", "a", "a"]
    fake.retries.deliver(event("a"))  # the same version after it succeeded
    assert fake.runs == ["a", "a", "a"]
    fake.retries.deliver(event("a", version="2"))  # a new version is a new event
    assert fake.runs == ["a", "a", "a", "a"]
    assert (fake.count("retry"), fake.count("ok")) == (2, 2)


def test_retries_are_bounded_and_a_permanent_error_is_not_retried() -> None:
    fake = Fake({"flaky": [retry(1.0)], "broken": [{**OK, "failed": True}]})
    fake.retries.deliver(event("flaky"))
    fake.retries.deliver(event("broken"))
    while (wait := fake.retries.run_due()) is not None:
        fake.now += wait
    assert fake.runs.count("flaky") == MAX_ATTEMPTS and fake.runs.count("broken") == 1
    assert fake.now == 1 + 2 + 4 + 8
    assert (fake.count("retry"), fake.count("gave_up"), fake.count("failed")) == (4, 1, 1)
    fake.retries.deliver(event("flaky"))
    fake.retries.deliver(event("broken"))
    assert len(fake.runs) == MAX_ATTEMPTS + 1


def test_serve_retries_a_watch_event_without_holding_up_the_watch(
        kube: Kube, start_server: Callable[..., Server]) -> None:
    registry, runs = Registry(), []
    other_ran = threading.Event()

    @on_watch(kind="ConfigMap", labels={"demo": None}, registry=registry, id="demo")
    def demo(e: WatchEvent, ctx: Context) -> list[Action]:
        runs.append(e.object.name)
        if e.object.name == "other":
            other_ran.set()
        if e.object.name == "flaky" and runs.count("flaky") == 1:
            raise TemporaryError("not yet", delay=0.5)
        if e.object.name == "flaky":
            # An order, not a race with the 0.5 s delay: the retry waits for "other", which
            # only a watch that is not held up by the retry can deliver (else 60 s, and fail).
            other_ran.wait(60)
        if e.object.name == "broken":
            raise PermanentError("never")
        return []

    server = start_server(registry)
    url = f"http://127.0.0.1:{server.port}/metrics"
    until(lambda: server.elector.leading)
    for name in ("flaky", "broken", "other"):
        kube.core.create_namespaced_config_map(kube.namespace, {"metadata": {
            "name": name, "labels": {"demo": "yes"}}})
    until(lambda: runs.count("flaky") == 2)
    assert runs.index("other") < len(runs) - 1 - runs[::-1].index("flaky")  # not held up
    assert sorted(runs) == ["broken", "flaky", "flaky", "other"]
    metrics = until(lambda: (t := requests.get(url, timeout=10).text)
                    and 'classops_watch_events_total{outcome="ok"} 2.0' in t and t)
    assert 'classops_watch_events_total{outcome="retry"} 1.0' in metrics
    assert 'classops_watch_events_total{outcome="failed"} 1.0' in metrics
