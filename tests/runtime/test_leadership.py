"""One leader: the Lease elector alone, and two in-process servers sharing an inbox.

The takeover bounds between real processes are in `test_serve_processes.py`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import requests

from shared.actions.model import Action
from shared.events import ROSTER_CHANGED, ClassEvent
from shared.handlers.context import Context
from shared.handlers.registry import Registry, on
from shared.ports.kube import Kube as KubePort
from shared.runtime.leadership import Elector, Timings
from shared.runtime.server import Server
from tests.conftest import Kube
from tests.wait import until

from .conftest import TOKEN

TIMINGS = Timings(lease_duration=2.0, renew_deadline=1.5, retry_period=0.25)


def lease_holder(kube: Kube, name: str = "classops-leader") -> str:
    lease = KubePort(kube.api).get("coordination.k8s.io/v1", "Lease", name, kube.namespace)
    return str(lease.spec.get("holderIdentity") or "") if lease is not None else ""


def test_losing_the_lease_stops_the_work_first_and_stop_releases_it(kube: Kube) -> None:
    calls: list[str] = []
    port = KubePort(kube.api)

    def elector(who: str) -> Elector:
        return Elector(port, kube.namespace, "solo", who, TIMINGS,
                       on_started=lambda: calls.append(f"{who} started"),
                       on_stopped=lambda: calls.append(f"{who} stopped"))

    a = elector("a").start()
    until(lambda: a.leading)
    b = elector("b").start()
    # someone else takes the Lease (an operator, a split brain): a stops before its next write
    lease = port.get("coordination.k8s.io/v1", "Lease", "solo", kube.namespace)
    assert lease is not None
    port.replace({**lease.raw, "spec": {**lease.spec, "holderIdentity": "intruder",
                                        "leaseDurationSeconds": 1}})
    until(lambda: not a.leading and "a stopped" in calls)
    until(lambda: b.leading or a.leading)  # the intruder never renews
    leader, other = (a, b) if a.leading else (b, a)
    other.stop()
    leader.stop()  # SIGTERM: work stopped, then released
    assert calls[:2] == ["a started", "a stopped"]
    assert calls[-1] == f"{leader.identity} stopped"
    assert lease_holder(kube, "solo") == ""


def test_the_inbox_survives_a_leader_change(kube: Kube,
                                            start_server: Callable[..., Server]) -> None:
    runs: list[tuple[str, str]] = []

    def registry_of(who: str) -> Registry:
        registry = Registry()

        @on(ROSTER_CHANGED, registry=registry, id="roster")
        def roster(event: ClassEvent[Any], ctx: Context) -> list[Action]:
            runs.append((who, event.id))
            return []

        return registry

    short = {"lease_duration": 2.0, "renew_deadline": 1.5}  # b takes over once a's expired
    a = start_server(registry_of("a"), identity="a", **short)
    until(lambda: a.elector.leading)
    b = start_server(registry_of("b"), identity="b", **short)
    a.elector.stop(release=False)  # a crashes as leader: its work stops, the Lease stays
    assert lease_holder(kube) == "a"
    headers = {"ce-id": "x-1", "ce-source": "/lms", "ce-type": ROSTER_CHANGED,
               "ce-specversion": "1.0", "ce-time": "2026-09-01T10:00:00Z",
               "Authorization": f"Bearer {TOKEN}"}
    answer = requests.post(f"http://127.0.0.1:{b.port}/", json={"size": 3}, headers=headers,
                           timeout=10)
    assert answer.status_code == 202  # a follower answers; the event waits in the cluster
    entry = b.inbox.get("/lms", "x-1")
    assert entry is not None and entry.state == "pending"
    until(lambda: b.elector.leading)
    until(lambda: runs == [("b", "x-1")])
    until(lambda: (e := b.inbox.get("/lms", "x-1")) is not None and e.state == "done")
