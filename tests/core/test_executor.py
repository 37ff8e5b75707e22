"""The executor against the emulator: idempotency, retries, Kubernetes Events, metrics, logs."""

from __future__ import annotations

import io
import json
import logging
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from cloudevents.core.base import BaseCloudEvent

from shared.actions.applying import Ports
from shared.actions.executor import Executor
from shared.actions.model import (
    Action,
    ApplyManifest,
    CreateObject,
    CreateVolumeSnapshot,
    DeleteObject,
    DeletePVC,
    DeleteVolumeSnapshot,
    EmitEvent,
    RunArchiveJob,
    ScaleWorkload,
    snapshot_name,
)
from shared.logs import JsonFormatter
from shared.metrics import Metrics
from shared.ports.kube import Kube
from tests.conftest import Kube as KubeFixture

from .objects import archive_job, configmap, placeholder, user_pvc

AT = datetime(2026, 10, 12, 2, 0, tzinfo=UTC)
EVENT_ID = "backup@2026-10-11T22:00:00-04:00"


class Harness:
    def __init__(self, kube: KubeFixture) -> None:
        self.kube = Kube(kube.api)
        self.emitted: list[BaseCloudEvent] = []
        self.sleeps: list[float] = []
        self.metrics = Metrics()
        self.stream = io.StringIO()
        logger = logging.getLogger(f"classops.test.{id(self)}")
        handler = logging.StreamHandler(self.stream)
        handler.setFormatter(JsonFormatter())
        logger.handlers[:] = [handler]
        logger.setLevel(logging.INFO)
        logger.propagate = False
        self.executor = Executor(Ports(self.kube, emit=self.emitted.append, clock=lambda: AT),
                                 self.metrics, clock=lambda: AT, log=logger,
                                 sleep=self.sleeps.append)

    def logs(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stream.getvalue().splitlines()]


@pytest.fixture
def h(kube: KubeFixture) -> Harness:
    return Harness(kube)


def _versions(kube: KubeFixture) -> dict[tuple[str, str], str]:
    """Every object in the test's namespace, by kind and name, with its resourceVersion."""
    port = Kube(kube.api)
    found = {}
    for api_version, kind in [("v1", "ConfigMap"), ("v1", "PersistentVolumeClaim"),
                              ("apps/v1", "StatefulSet"), ("batch/v1", "Job"),
                              ("snapshot.storage.k8s.io/v1", "VolumeSnapshot"),
                              ("events.k8s.io/v1", "Event")]:
        for obj in port.list(api_version, kind, kube.namespace):
            found[(kind, obj.name)] = obj.resource_version
    return found


def test_every_action_twice_the_second_changes_nothing(kube: KubeFixture, h: Harness) -> None:
    ns = kube.namespace
    h.kube.apply(placeholder(ns), "classops")
    h.kube.create(user_pvc(ns, "alice"))
    h.kube.create(user_pvc(ns, "bob"))
    h.kube.create(configmap("stale", ns))
    h.kube.create({**CreateVolumeSnapshot(ns, "old-snap", "claim-alice").manifest()})
    actions: list[Action] = [
        ApplyManifest(configmap("hub-config", ns, {"course": "cs101"})),
        ScaleWorkload(ns, "user-placeholder", 5),
        CreateObject(configmap("inbox", ns)),
        CreateVolumeSnapshot(ns, snapshot_name("claim-alice", "nightly", AT), "claim-alice",
                             labels={"classops.edu/user": "alice"}),
        RunArchiveJob(archive_job(ns, "archive-alice-20261012t0200"), "alice",
                      "claim-alice-nightly-20261012t0200", "cs101/fall-2026/alice/x.tar.gz"),
        DeleteVolumeSnapshot(ns, "old-snap"),
        DeletePVC(ns, "claim-bob"),
        DeleteObject("v1", "ConfigMap", "stale", ns),
        EmitEvent("edu.classops.backup.copy", "backup.copy@2026-10-12T02:00:00+00:00",
                  "cs101/fall-2026"),
    ]
    first = h.executor.execute(actions, EVENT_ID)
    assert [r.outcome for r in first] == ["changed"] * len(actions), [r.detail for r in first]
    after_first = _versions(kube)
    second = h.executor.execute(actions, EVENT_ID)
    assert [(type(r.action).__name__, r.outcome) for r in second if r.outcome != "unchanged"] \
        == [("EmitEvent", "changed")]  # the receiver dedupes it by (source, id)
    assert _versions(kube) == after_first
    assert snapshot_name("claim-alice", "nightly", AT) == "claim-alice-nightly-20261012t0200"
    assert ("VolumeSnapshot", "old-snap") not in after_first
    assert ("PersistentVolumeClaim", "claim-bob") not in after_first
    assert h.kube.scale("apps/v1", "StatefulSet", "user-placeholder", ns) == 5
    assert len({(e.get_source(), e.get_id()) for e in h.emitted}) == 1
    assert h.metrics.value("classops_actions_total", action="ScaleWorkload",
                           outcome="changed") == 1
    assert h.metrics.value("classops_actions_total", action="ScaleWorkload",
                           outcome="unchanged") == 1


def test_each_change_is_recorded_as_a_kubernetes_event_on_its_object(kube: KubeFixture,
                                                                    h: Harness) -> None:
    ns = kube.namespace
    h.kube.apply(placeholder(ns), "classops")
    h.executor.execute([ScaleWorkload(ns, "user-placeholder", 3)], EVENT_ID)
    h.executor.execute([ScaleWorkload(ns, "user-placeholder", 3)], EVENT_ID)
    events = list(h.kube.list("events.k8s.io/v1", "Event", ns))
    assert len(events) == 1
    (event,) = events
    assert event.raw["regarding"]["kind"] == "StatefulSet"
    assert event.raw["regarding"]["name"] == "user-placeholder"
    assert event.raw["reason"] == "Scale" and event.raw["reportingController"] == \
        "classops.edu/executor"
    # The API defaults replicas to 1.
    assert EVENT_ID in event.raw["note"] and "1 -> 3" in event.raw["note"]
    assert event.annotations["classops.edu/event-id"] == EVENT_ID


@pytest.mark.parametrize("status", [500, 503, 429, 409])
def test_retried_with_exponential_backoff(kube: KubeFixture, h: Harness, status: int) -> None:
    kube.emu.fail("create", f"/namespaces/{kube.namespace}/configmaps$", status, count=3)
    (result,) = h.executor.execute([CreateObject(configmap("a", kube.namespace))], EVENT_ID)
    assert (result.outcome, result.attempts) == ("changed", 4)
    assert h.sleeps == [0.5, 1.0, 2.0]
    assert h.metrics.value("classops_retries_total", system="kubernetes",
                           status=str(status)) == 3


def test_retry_after_is_waited_once_exactly(kube: KubeFixture, h: Harness) -> None:
    # A GET (which urllib3 would retry on its own) and a PATCH (which it would not).
    ns = kube.namespace
    h.kube.apply(placeholder(ns), "classops")
    kube.emu.fail("get", "/statefulsets/user-placeholder/scale$", 429, retry_after=2)
    kube.emu.fail("patch", "/statefulsets/user-placeholder/scale$", 503, retry_after=1)
    since = time.time()
    (result,) = h.executor.execute([ScaleWorkload(ns, "user-placeholder", 4)], EVENT_ID)
    # Each Retry-After was waited once, by our injected sleep: had urllib3 waited it out
    # itself, the port would have handed over the success and `sleeps` would lack it.
    assert result.outcome == "changed" and h.sleeps == [2.0, 1.0]
    statuses = [(r.verb, r.status) for r in kube.emu.requests(since) if r.path.endswith("/scale")]
    assert statuses == [("get", 429), ("get", 200), ("patch", 503), ("get", 200),
                        ("patch", 200)]


def test_a_real_wait_is_retry_after_not_twice_that(kube: KubeFixture) -> None:
    h = Harness(kube)
    slept: list[float] = []

    def sleep(seconds: float) -> None:  # the real sleep, recorded
        slept.append(seconds)
        time.sleep(seconds)

    h.executor.sleep = sleep
    path = f"/namespaces/{kube.namespace}/configmaps/a"
    kube.emu.fail("get", f"{path}$", 429, retry_after=1)
    since, started = time.time(), time.monotonic()
    (result,) = h.executor.execute([DeleteObject("v1", "ConfigMap", "a", kube.namespace)],
                                   EVENT_ID)
    assert result.detail == "already gone"
    # One wait of exactly Retry-After, ours (a lower bound holds on any machine); urllib3 sent
    # no retry of its own: the server saw the 429 and our one retry, nothing in between.
    assert slept == [1.0] and time.monotonic() - started >= 1
    assert [(r.verb, r.status) for r in kube.emu.requests(since)
            if r.path.endswith(path)] == [("get", 429), ("get", 404)]


def test_gives_up_after_the_last_attempt_and_goes_on(kube: KubeFixture, h: Harness) -> None:
    ns = kube.namespace
    kube.emu.fail("create", f"/namespaces/{ns}/configmaps$", 500, count=10)
    results = h.executor.execute([CreateObject(configmap("a", ns)),
                                  CreateObject(user_pvc(ns, "carol"))], EVENT_ID)
    assert [(r.outcome, r.attempts) for r in results] == [("failed", 5), ("changed", 1)]
    assert "500" in results[0].detail and len(h.sleeps) == 4
    assert h.metrics.value("classops_actions_total", action="CreateObject",
                           outcome="failed") == 1


def test_a_refusal_is_not_retried(kube: KubeFixture, h: Harness) -> None:
    ns = kube.namespace
    bad = configmap("a", ns)
    bad["data"] = {"k": 1}  # not a string: 422 Invalid
    pvc = h.kube.create(user_pvc(ns, "dave"))
    results = h.executor.execute([CreateObject(bad), DeletePVC(ns, "claim-dave", uid="other")],
                                 EVENT_ID)
    assert [(r.outcome, r.attempts) for r in results] == [("failed", 1), ("failed", 1)]
    assert "another object now" in results[1].detail and h.sleeps == []
    assert h.kube.get("v1", "PersistentVolumeClaim", "claim-dave", ns).uid == pvc.uid  # type: ignore[union-attr]


def test_logs_are_json_lines_with_the_event_id(kube: KubeFixture, h: Harness) -> None:
    h.executor.execute([CreateObject(configmap("a", kube.namespace))], EVENT_ID)
    (line,) = h.logs()
    assert line["event_id"] == EVENT_ID and line["action"] == "CreateObject"
    assert line["outcome"] == "changed" and line["level"] == "info"


def test_a_secret_in_an_action_shows_its_name_and_keys_never_its_values() -> None:
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "hub", "namespace": "cs"},
              "stringData": {"cookie": "s3cr3t-cookie-value"}, "data": {"key": "c2VjcmV0"}}
    for action in (CreateObject(secret), ApplyManifest(secret)):
        shown = [json.dumps(action.as_dict()), action.describe(), repr(action), str(action)]
        assert not [s for s in shown if "s3cr3t" in s or "c2VjcmV0" in s], shown
        assert action.as_dict()["manifest"]["stringData"] == {"cookie": "<secret, 19 chars>"}
        assert action.as_dict()["manifest"]["data"] == {"key": "<secret, 8 chars>"}
        assert "secret cs/hub" in action.describe()
    assert secret["stringData"] == {"cookie": "s3cr3t-cookie-value"}  # the applier's is whole


def test_every_action_type_keeps_the_redacting_repr() -> None:
    # A new Action declared without `repr=False` would get the dataclass repr, values and all.
    def types(cls: type[Action]) -> list[type[Action]]:
        return [cls, *(t for sub in cls.__subclasses__() for t in types(sub))]

    assert len(types(Action)) > 8
    assert [t.__name__ for t in types(Action) if t.__repr__ is not Action.__repr__] == []
