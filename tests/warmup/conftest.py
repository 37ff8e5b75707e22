"""Fixtures of the warm-up tests: the hub stack's living cluster (`stack`), and a `Warm` helper
that runs the real handlers through the real executor against it at chosen emulated times."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.actions.executor import Executor, Result
from shared.actions.model import Action
from shared.events import from_occurrence, from_watch, typed
from shared.handlers.dispatching import Outcome, dispatch
from shared.handlers.registry import Registry
from shared.handlers.registry import load as load_functions
from shared.metrics import Metrics
from shared.ports.errors import ApiError
from shared.ports.kube import Kube
from shared.runtime.connecting import Live, live
from shared.settings import Settings
from shared.stack.user_pods import user_placeholder
from shared.timetable import Occurrence, Timetable, expand
from tests.deploy.conftest import SCHEDULE, Stack, stack  # noqa: F401  (the fixture)
from tests.emulator.conftest import cluster  # noqa: F401  (the fixture)
from tests.wait import until

__all__ = ["SCHEDULE", "Warm"]


@dataclass
class Warm:
    """The warm-up's handlers on `stack`'s cluster, as serve runs them (dispatch + Executor)."""

    stack: Stack
    timetable: Timetable
    registry: Registry
    live: Live
    metrics: Metrics
    api: Any = None

    @property
    def kube(self) -> Kube:
        return Kube(self.stack.cluster.api)

    def fire(self, type_suffix: str, meeting: str) -> tuple[list[Outcome], list[Result]]:
        """Fire the meeting's warm-up or cool-down with the clock at its own time."""
        term = self.timetable.term
        found = [o for o in expand(self.timetable, datetime.combine(
            term.start, datetime.min.time(), term.timezone), datetime.combine(
            term.end, datetime.max.time(), term.timezone))
            if o.type.endswith(type_suffix) and o.data["meeting"] == meeting]
        assert found, f"no {type_suffix} of {meeting}"
        return self.occurrence(found[0])

    def occurrence(self, o: Occurrence) -> tuple[list[Outcome], list[Result]]:
        self.stack.cluster.emu.clock.set(o.at)
        return self.run(typed(from_occurrence(o)))

    def watch(self, action: str, obj: dict[str, Any], plural: str
              ) -> tuple[list[Outcome], list[Result]]:
        return self.run(typed(from_watch(action, obj, plural,
                                         self.stack.cluster.emu.clock.now())))

    def run(self, event: Any) -> tuple[list[Outcome], list[Result]]:
        ctx = dataclasses.replace(self.live.context, timetable=self.timetable)
        outcomes = dispatch(event, ctx, self.registry)
        executor = Executor(self.live.ports, self.metrics, self.stack.cluster.emu.clock.now)
        actions: list[Action] = [a for o in outcomes for a in o.actions]
        return outcomes, executor.execute(actions, event.id)

    def scale(self, name: str = "user-placeholder") -> int:
        kube = self.kube
        try:
            return kube.scale("apps/v1", "StatefulSet", name, self.stack.cluster.namespace)
        finally:
            kube.close()

    def statefulset(self, name: str = "user-placeholder") -> dict[str, Any]:
        kube = self.kube
        try:
            found = kube.get("apps/v1", "StatefulSet", name, self.stack.cluster.namespace)
            assert found is not None
            return dict(found.raw)
        finally:
            kube.close()


def warm_for(stack: Stack, timetable: Timetable, api: Any = None) -> Warm:  # noqa: F811
    """Deploy the placeholder StatefulSet as `classops` (no replicas, as rendered) and wire
    the handlers of the `functions` package to the cluster (as `api`, default admin)."""
    kube = Kube(stack.cluster.api)
    try:
        kube.apply(user_placeholder(stack.settings), "classops")
        # As a deploy leaves a new one (the API defaults a missing count to 1). The emulator
        # answers a patch racing its StatefulSet controller with 409 (the executor retries;
        # here, once more).
        until(lambda: _scaled_to_zero(kube, stack.cluster.namespace), what="scaled to 0",
              not_yet=(ApiError,))
    finally:
        kube.close()
    settings = Settings(namespace=stack.cluster.namespace)
    found = live(settings, stack.cluster.emu.clock.now, api or stack.cluster.emu.api_client())
    registry = load_functions("functions")
    return Warm(stack, timetable, registry, found, Metrics(), api)


def _scaled_to_zero(kube: Kube, namespace: str) -> bool:
    kube.set_scale("apps/v1", "StatefulSet", "user-placeholder", namespace, 0, "classops")
    return True

