"""The leader keeps no entry bodies: its pending watch's index and its due list hold metadata
only, and an entry's body is read when it runs (bench/inbox_memory.py measures the memory)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from cloudevents.core.v1.event import CloudEvent

from shared.actions.model import Action
from shared.events import ROSTER_CHANGED, ClassEvent
from shared.handlers.context import Context
from shared.handlers.registry import Registry, on
from shared.runtime.inbox.entries import LABEL, Header
from shared.runtime.server import Server
from shared.runtime.watching import Watcher
from tests.wait import until

BIG = ["x" * 20_000] * 5  # ~100 KB of data per event


def test_the_leader_keeps_no_bodies_and_reads_one_when_it_runs(
        start_server: Callable[..., Server]) -> None:
    release, runs = threading.Event(), []
    registry = Registry()

    @on(ROSTER_CHANGED, registry=registry, id="roster")
    def roster(event: ClassEvent[Any], ctx: Context) -> list[Action]:
        runs.append(event)
        release.wait(120)  # hold the drainer inside its first run (till the test lets go)
        return []

    server = start_server(registry)
    for i in range(3):
        server.inbox.put(CloudEvent({"id": f"big-{i}", "source": "/lms", "type": ROSTER_CHANGED,
                                     "specversion": "1.0"}, {"size": 240, "added": BIG}))
    try:
        until(lambda: runs)
        wakes = next(w for w in server.work.running if isinstance(w, Watcher)
                     and w.target.label_selector.startswith(LABEL))
        until(lambda: len(wakes.known.objects) == 3)
        assert all("data" not in obj for obj in wakes.known.objects.values())
        due = server.inbox.due()
        assert len(due) == 3 and all(type(head) is Header for head in due)
        assert not any(hasattr(head, "event") or hasattr(head, "outcome") for head in due)
        assert runs[0].data.added == tuple(BIG)  # the body, read for the run
    finally:
        release.set()
    until(lambda: len(runs) == 3 and not server.inbox.due())
    assert sorted(e.state for e in server.inbox.entries()) == ["done"] * 3
