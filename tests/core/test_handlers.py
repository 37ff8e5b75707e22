"""The registry and dispatch: decorators return the function unchanged; one failing handler never
stops the others."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from shared.actions.model import ScaleWorkload
from shared.events import TERM_START, WARMUP, from_watch, typed
from shared.handlers.context import Context, no_cluster
from shared.handlers.dispatching import dispatch
from shared.handlers.registry import (
    PermanentError,
    Registry,
    TemporaryError,
    WatchHandler,
    load,
    on,
    on_watch,
)
from shared.metrics import Metrics
from shared.settings import Settings

from .test_events import PVC, _week

NOW = datetime(2026, 9, 2, 13, 40, tzinfo=UTC)


@pytest.fixture
def registry() -> Registry:
    return Registry()


@pytest.fixture
def ctx() -> Context:
    return no_cluster(Settings(namespace="cs101"), NOW)


def warmup_event():  # type: ignore[no-untyped-def]
    from shared.events import from_occurrence

    return typed(from_occurrence(next(o for o in _week() if o.type == WARMUP)))


def test_the_decorator_returns_the_function_unchanged(registry: Registry) -> None:
    def warm(event, ctx):  # type: ignore[no-untyped-def]
        return []

    assert on(WARMUP, registry=registry)(warm) is warm
    assert [(h.id, h.fn) for h in registry] == [
        (f"{__name__}.test_the_decorator_returns_the_function_unchanged.warm", warm)]


def test_an_unknown_type_or_a_duplicate_id_is_refused(registry: Registry) -> None:
    with pytest.raises(ValueError, match="catalogue"):
        on("edu.classops.meeting.warmpu", registry=registry)
    on(WARMUP, id="w", registry=registry)(lambda e, c: [])
    with pytest.raises(ValueError, match="registered already"):
        on(WARMUP, id="w", registry=registry)(lambda e, c: [])


def test_a_watch_handler_matches_kind_and_labels(registry: Registry) -> None:
    @on_watch(kind="PersistentVolumeClaim", labels={"component": "singleuser-storage"},
              actions=("added",), registry=registry)
    def snap(event, ctx):  # type: ignore[no-untyped-def]
        return []

    (handler,) = registry.watches()
    assert isinstance(handler, WatchHandler) and handler.label_selector == \
        "component=singleuser-storage"
    added = typed(from_watch("ADDED", PVC, "persistentvolumeclaims", NOW))
    modified = typed(from_watch("MODIFIED", PVC, "persistentvolumeclaims", NOW))
    other = {**PVC, "metadata": {**PVC["metadata"], "labels": {"component": "hub"}}}
    assert registry.handlers_for(added) == [handler]
    assert registry.handlers_for(modified) == []
    assert registry.handlers_for(typed(from_watch("ADDED", other, "pvcs", NOW))) == []
    assert registry.handlers_for(warmup_event()) == []


def test_dispatch_runs_every_handler_and_reports_each_outcome(registry: Registry,
                                                              ctx: Context) -> None:
    scale = ScaleWorkload("cs101", "user-placeholder", 3)
    on(WARMUP, id="temporary", registry=registry)(
        lambda e, c: (_ for _ in ()).throw(TemporaryError("hub busy", delay=5)))
    on(WARMUP, id="permanent", registry=registry)(
        lambda e, c: (_ for _ in ()).throw(PermanentError("no such audience")))
    on(WARMUP, id="bug", registry=registry)(lambda e, c: 1 / 0)
    on(WARMUP, id="not-actions", registry=registry)(lambda e, c: "scale up")
    on(WARMUP, id="good", registry=registry)(
        lambda e, c: [ScaleWorkload("cs101", "user-placeholder", e.data.expected)])
    metrics = Metrics()
    outcomes = {o.handler: o for o in dispatch(warmup_event(), ctx, registry, metrics)}
    assert [(k, o.status) for k, o in outcomes.items()] == [
        ("temporary", "retry"), ("permanent", "failed"), ("bug", "retry"),
        ("not-actions", "failed"), ("good", "ok")]
    assert outcomes["temporary"].delay == 5
    assert "ZeroDivisionError" in outcomes["bug"].error
    assert outcomes["good"].actions[0].replicas == warmup_event().data.expected
    assert scale.replicas == 3
    assert metrics.value("classops_handler_outcomes_total", handler="bug", outcome="retry") == 1


def test_handlers_read_through_the_context_not_a_client(registry: Registry, ctx: Context) -> None:
    @on(WARMUP, registry=registry)
    def running(event, ctx):  # type: ignore[no-untyped-def]
        users = list(ctx.hub.users())
        pods = list(ctx.kube.list("v1", "Pod", "cs101", "component=singleuser-server"))
        return [ScaleWorkload("cs101", "user-placeholder",
                              event.data.expected - len(users) - len(pods))]

    (outcome,) = dispatch(warmup_event(), ctx, registry)
    assert outcome.actions[0].replicas == warmup_event().data.expected


def test_load_imports_a_functions_package_by_name(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "coursefns"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "warm.py").write_text(
        "from shared.handlers.registry import on\n"
        "from tests.core.test_handlers import TARGET\n"
        "@on('edu.classops.meeting.warmup', registry=TARGET)\n"
        "def warm(event, ctx):\n    return []\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        assert load("coursefns", TARGET) is TARGET
        assert [h.id for h in TARGET] == ["coursefns.warm.warm"]
    finally:
        for name in ("coursefns", "coursefns.warm"):
            sys.modules.pop(name, None)


TARGET = Registry()


def test_the_project_functions_package_registers_its_handlers() -> None:
    # Its decorators fill the default registry, which `load` returns when given none.
    found = {h.id: h for h in load("functions") if h.id.startswith("functions.")}
    assert "functions.term_start.deploy_stack" in found
    assert getattr(found["functions.term_start.deploy_stack"], "type", None) == TERM_START
