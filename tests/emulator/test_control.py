"""The control interface: clock, faults, latency and the request log, in-process and over HTTP."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime

import pytest
from kubernetes.client import ApiException

from tests.conftest import Kube
from tests.kubeemu import RemoteControl

from .objects import configmap


def test_clock_set_and_advance_drive_timestamps(kube: Kube) -> None:
    kube.emu.clock.set(datetime(2026, 9, 8, 14, 0, tzinfo=UTC))
    kube.emu.clock.set_rate(0)
    first = kube.core.create_namespaced_config_map(kube.namespace, configmap("a"))
    kube.emu.clock.advance(3600)
    second = kube.core.create_namespaced_config_map(kube.namespace, configmap("b"))
    assert first.metadata.creation_timestamp == datetime(2026, 9, 8, 14, 0, tzinfo=UTC)
    assert second.metadata.creation_timestamp == datetime(2026, 9, 8, 15, 0, tzinfo=UTC)


def test_clock_rate_runs_emulated_time_fast(kube: Kube) -> None:
    kube.emu.clock.set_rate(3600)  # an emulated hour per wall second
    before = kube.emu.clock.now()
    time.sleep(0.1)
    assert (kube.emu.clock.now() - before).total_seconds() >= 300


@pytest.mark.parametrize("status", [500, 503, 409])
def test_fail_the_next_n_requests_then_recover(kube: Kube, status: int) -> None:
    kube.core.create_namespaced_config_map(kube.namespace, configmap("a"))
    kube.emu.fail("get", f"/namespaces/{kube.namespace}/configmaps/a$", status, count=2)
    for _ in range(2):
        with pytest.raises(ApiException) as err:
            kube.core.read_namespaced_config_map("a", kube.namespace)
        assert err.value.status == status
    assert kube.core.read_namespaced_config_map("a", kube.namespace).metadata.name == "a"


def test_429_carries_retry_after(kube: Kube) -> None:
    kube.emu.fail("list", f"{kube.namespace}/configmaps$", 429, retry_after=7)
    req = urllib.request.Request(f"{kube.emu.url}/api/v1/namespaces/{kube.namespace}/configmaps")
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, timeout=10)
    assert err.value.code == 429 and err.value.headers["Retry-After"] == "7"
    assert json.loads(err.value.read())["reason"] == "TooManyRequests"


def test_the_official_client_waits_out_retry_after(kube: Kube) -> None:
    # urllib3 under the client retries a 429 that names Retry-After: worth knowing for the
    # executor's own back-off, which must not double it.
    kube.emu.fail("list", f"{kube.namespace}/configmaps$", 429, retry_after=1)
    since, started = time.time(), time.monotonic()
    kube.core.list_namespaced_config_map(kube.namespace)
    assert time.monotonic() - started >= 1
    statuses = [r.status for r in kube.emu.requests(since)
                if r.path.endswith(f"/namespaces/{kube.namespace}/configmaps")]
    assert statuses == [429, 200]


def test_faults_match_verb_and_path_only(kube: Kube) -> None:
    kube.emu.fail("create", f"/namespaces/{kube.namespace}/configmaps$", 500)
    kube.core.list_namespaced_config_map(kube.namespace)  # a list is not a create
    kube.core.create_namespaced_secret(kube.namespace, {"metadata": {"name": "s"}})
    with pytest.raises(ApiException):
        kube.core.create_namespaced_config_map(kube.namespace, configmap("a"))


def test_latency_is_added(kube: Kube) -> None:
    kube.emu.add_latency(0.3, "get", "/configmaps/")
    kube.core.create_namespaced_config_map(kube.namespace, configmap("a"))
    started = time.monotonic()
    kube.core.read_namespaced_config_map("a", kube.namespace)
    assert time.monotonic() - started >= 0.3


def test_request_log_says_who_did_what(kube: Kube) -> None:
    since = time.time()
    kube.core.create_namespaced_config_map(kube.namespace, configmap("a"),
                                           field_manager="classops")
    with pytest.raises(ApiException):
        kube.core.read_namespaced_config_map("zzz", kube.namespace)
    log = [r for r in kube.emu.requests(since) if kube.namespace in r.path]
    assert [(r.user, r.verb, r.status) for r in log] == [("admin", "create", 201),
                                                         ("admin", "get", 404)]
    assert log[0].field_manager == "classops"


def test_remote_control_over_http(kube: Kube) -> None:
    remote = RemoteControl(kube.emu.url)
    remote.set_clock("2026-12-01T09:00:00+00:00")
    remote.set_rate(0)
    remote.advance(60)
    assert remote.clock()["now"].startswith("2026-12-01T09:01:00")
    remote.fail("get", f"{kube.namespace}/configmaps/x$", 503)
    with pytest.raises(ApiException) as err:
        kube.core.read_namespaced_config_map("x", kube.namespace)
    assert err.value.status == 503
    assert any(r["path"].endswith("/configmaps/x") and r["status"] == 503
               for r in remote.requests())
    remote.clear_faults()
