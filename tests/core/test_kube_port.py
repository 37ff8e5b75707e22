"""The Kubernetes port against the emulator, through the official client over HTTP."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from shared.actions.model import DEPLOY_MANAGER, WARMUP_MANAGER, CreateVolumeSnapshot, snapshot_name
from shared.events import BACKUP_DUE, ClassEvent, from_occurrence, typed
from shared.handlers.dispatching import dispatch
from shared.handlers.registry import Registry, on
from shared.ports.errors import ApiError
from shared.ports.kube import Kube
from shared.runtime.connecting import live
from shared.settings import Settings
from shared.timetable import Occurrence
from tests.conftest import Kube as KubeFixture

from .objects import configmap, placeholder, user_pvc


@pytest.fixture
def port(kube: KubeFixture) -> Kube:
    return Kube(kube.api)


def test_create_get_and_a_missing_object(kube: KubeFixture, port: Kube) -> None:
    made = port.create(configmap("a", kube.namespace, {"k": "v"}))
    got = port.get("v1", "ConfigMap", "a", kube.namespace)
    assert got is not None and got.uid == made.uid and got.raw["data"] == {"k": "v"}
    assert port.get("v1", "ConfigMap", "nope", kube.namespace) is None
    with pytest.raises(ApiError) as err:
        port.create(configmap("a", kube.namespace))
    assert err.value.already_exists and not err.value.retryable


def test_list_follows_every_page(kube: KubeFixture, port: Kube) -> None:
    for i in range(7):
        port.create(configmap(f"cm-{i}", kube.namespace))
    since = time.time()
    names = [o.name for o in port.list("v1", "ConfigMap", kube.namespace, page=3)]
    assert names == [f"cm-{i}" for i in range(7)]
    pages = [r for r in kube.emu.requests(since) if r.path.endswith("/configmaps")]
    assert len(pages) == 3 and all("limit=3" in r.query for r in pages)


def test_list_selects_by_label(kube: KubeFixture, port: Kube) -> None:
    port.create(user_pvc(kube.namespace, "alice"))
    port.create(configmap("other", kube.namespace))
    found = list(port.list("v1", "PersistentVolumeClaim", kube.namespace,
                           label_selector="component=singleuser-storage"))
    assert [(o.name, o.kind, o.annotations["hub.jupyter.org/username"]) for o in found] == [
        ("claim-alice", "PersistentVolumeClaim", "alice")]


def test_server_side_apply_creates_then_changes_nothing(kube: KubeFixture, port: Kube) -> None:
    since = time.time()
    first = port.apply(placeholder(kube.namespace), DEPLOY_MANAGER)
    second = port.apply(placeholder(kube.namespace), DEPLOY_MANAGER)
    assert second.resource_version == first.resource_version
    managers = {m["manager"]: m["operation"] for m in second.metadata["managedFields"]}
    assert managers == {DEPLOY_MANAGER: "Apply"}
    patches = [r for r in kube.emu.requests(since) if r.verb == "patch"]
    assert [r.field_manager for r in patches] == [DEPLOY_MANAGER, DEPLOY_MANAGER]
    assert all("force=true" in r.query for r in patches)


def test_a_redeploy_leaves_the_warmups_replicas_alone(kube: KubeFixture, port: Kube) -> None:
    ns = kube.namespace
    port.apply(placeholder(ns), DEPLOY_MANAGER)
    assert port.set_scale("apps/v1", "StatefulSet", "user-placeholder", ns, 12,
                          WARMUP_MANAGER) == 12
    changed = placeholder(ns)
    changed["metadata"]["labels"]["course"] = "cs101"
    port.apply(changed, DEPLOY_MANAGER)
    assert port.scale("apps/v1", "StatefulSet", "user-placeholder", ns) == 12
    live = port.get("apps/v1", "StatefulSet", "user-placeholder", ns)
    assert live is not None and live.labels["course"] == "cs101"
    assert {m["manager"] for m in live.metadata["managedFields"]} == {DEPLOY_MANAGER,
                                                                       WARMUP_MANAGER}


def test_apply_without_force_meets_another_managers_field(kube: KubeFixture, port: Kube) -> None:
    port.apply(configmap("shared", kube.namespace, {"k": "mine"}), DEPLOY_MANAGER)
    with pytest.raises(ApiError) as err:
        port.apply(configmap("shared", kube.namespace, {"k": "theirs"}), "someone", force=False)
    assert err.value.status == 409 and err.value.reason == "Conflict"
    taken = port.apply(configmap("shared", kube.namespace, {"k": "theirs"}), "someone")
    assert taken.raw["data"] == {"k": "theirs"}


def test_delete_with_a_uid_precondition(kube: KubeFixture, port: Kube) -> None:
    made = port.create(user_pvc(kube.namespace, "bob"))
    with pytest.raises(ApiError) as err:
        port.delete("v1", "PersistentVolumeClaim", "claim-bob", kube.namespace, uid="not-it")
    assert err.value.status == 409
    port.delete("v1", "PersistentVolumeClaim", "claim-bob", kube.namespace, uid=made.uid)
    assert port.get("v1", "PersistentVolumeClaim", "claim-bob", kube.namespace) is None


def test_discovery_finds_builtins_and_snapshot_crds(port: Kube) -> None:
    snap = port.resource("snapshot.storage.k8s.io/v1", "VolumeSnapshot")
    assert (snap.plural, snap.namespaced) == ("volumesnapshots", True)
    assert port.resource("v1", "Node").path(name="n1") == "/api/v1/nodes/n1"
    assert port.resource("apps/v1", "StatefulSet").path("ns", "x", "scale") == \
        "/apis/apps/v1/namespaces/ns/statefulsets/x/scale"
    with pytest.raises(ApiError) as err:
        port.resource("apps/v1", "Nonsense")
    assert err.value.not_found


def test_wait_until_polls_with_the_injected_clock(kube: KubeFixture) -> None:
    now = [0.0]
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds
        if len(sleeps) == 2:  # the object appears while we wait
            port.create(configmap("late", kube.namespace))

    port = Kube(kube.api, sleep=sleep, monotonic=lambda: now[0])
    found = port.wait_until("v1", "ConfigMap", "late", kube.namespace, lambda o: o is not None,
                            timeout=10, interval=2)
    assert found is not None and sleeps == [2, 2]
    with pytest.raises(TimeoutError):
        port.wait_until("v1", "ConfigMap", "never", kube.namespace, lambda o: o is not None,
                        timeout=5, interval=2)
    assert now[0] >= 5


def test_status_retries_are_ours_not_urllib3s(kube: KubeFixture, port: Kube) -> None:
    # urllib3 would wait out a GET's 429 with Retry-After by itself; the port hands it over.
    kube.emu.fail("get", f"/namespaces/{kube.namespace}/configmaps/a$", 429, retry_after=3)
    port.create(configmap("a", kube.namespace))
    since = time.time()
    with pytest.raises(ApiError) as err:
        port.get("v1", "ConfigMap", "a", kube.namespace)
    # urllib3 did not retry (it would have sent a second GET after 3 s): one request, one 429.
    assert [r.status for r in kube.emu.requests(since)
            if r.path.endswith(f"/namespaces/{kube.namespace}/configmaps/a")] == [429]
    assert (err.value.status, err.value.retry_after, err.value.retryable) == (429, 3.0, True)


def test_no_answer_is_status_0(kube: KubeFixture) -> None:
    conf = kube.api.configuration
    old = conf.host
    conf.host = "http://127.0.0.1:9"  # discard: nothing listens
    try:
        port = Kube(kube.api)
    finally:
        conf.host = old
    with pytest.raises(ApiError) as err:
        port.get("v1", "ConfigMap", "a", "default")
    assert err.value.status == 0 and err.value.retryable


def test_a_handler_reads_the_cluster_through_the_live_context(kube: KubeFixture) -> None:
    # The hub is not configured: a handler that reads it fails alone, and says why.
    at = datetime(2026, 10, 12, 7, 0, tzinfo=UTC)
    port = Kube(kube.api)
    for user in ("alice", "bob"):
        port.create(user_pvc(kube.namespace, user))
    port.create(configmap("not-a-claim", kube.namespace))
    registry = Registry()

    @on(BACKUP_DUE, registry=registry)
    def snapshot_all(event: ClassEvent, ctx):  # type: ignore[no-untyped-def,type-arg]
        claims = ctx.kube.list("v1", "PersistentVolumeClaim", ctx.settings.namespace,
                               "component=singleuser-storage")
        return [CreateVolumeSnapshot(ctx.settings.namespace,
                                     snapshot_name(c.name, "nightly", event.time), c.name,
                                     labels={"classops.edu/purpose": "nightly"})
                for c in claims]

    @on(BACKUP_DUE, registry=registry)
    def needs_hub(event, ctx):  # type: ignore[no-untyped-def]
        return list(ctx.hub.users())

    ctx = live(Settings(namespace=kube.namespace), lambda: at, api=kube.api).context
    event = typed(from_occurrence(Occurrence(BACKUP_DUE, at, "backup", "cs101/fall-2026",
                                             {"cron": "0 3 * * *"})))
    ok, refused = dispatch(event, ctx, registry)
    assert [a.name for a in ok.actions] == ["claim-alice-nightly-20261012t0700",
                                             "claim-bob-nightly-20261012t0700"]
    assert (refused.status, refused.error) == ("failed", "the hub (CLASSOPS_HUB_API_URL) is "
                                                         "not configured")
