"""Every answer of the webhook, in binary and structured mode, against a real `Server` on the
emulator: 202 (new and duplicate), 401, 400 with every problem, 415, 413, the OPTIONS handshake,
health, readiness and metrics; dedupe across a restart; `classops events`."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import requests
from cloudevents.core.bindings.http import HTTPMessage, from_http_event
from cloudevents.core.formats.json import JSONFormat
from kubernetes.client.exceptions import ApiException

from shared.actions.model import Action
from shared.cli.main import main
from shared.events import ROSTER_CHANGED, ClassEvent
from shared.handlers.context import Context
from shared.handlers.registry import Registry, TemporaryError, on
from shared.ports.kube import Kube as KubePort
from shared.runtime.inbox.entries import MAX_EVENT, OUTCOME_MAX
from shared.runtime.server import Server
from shared.runtime.webhook.token import WebhookToken
from tests.conftest import Kube
from tests.wait import until

from .conftest import TOKEN, settings_for

AUTH = {"Authorization": f"Bearer {TOKEN}"}
DATA = {"size": 240, "added": ["alice"]}


def roster_registry(runs: list[str]) -> Registry:
    registry = Registry()

    @on(ROSTER_CHANGED, registry=registry, id="roster")
    def roster(event: ClassEvent[Any], ctx: Context) -> list[Action]:
        runs.append(event.id)
        return []

    return registry


def binary(event_id: str | None = "e-1", **attrs: str) -> dict[str, str]:
    headers = {"ce-specversion": "1.0", "ce-type": ROSTER_CHANGED, "ce-source": "/lms",
               "ce-time": "2026-09-01T10:00:00Z", "Content-Type": "application/json", **AUTH}
    if event_id is not None:
        headers["ce-id"] = event_id
    headers.update({f"ce-{k}": v for k, v in attrs.items()})
    return headers


def structured(**attrs: Any) -> dict[str, Any]:
    return {"specversion": "1.0", "type": ROSTER_CHANGED, "source": "/lms", "id": "s-1",
            "time": "2026-09-01T10:00:00Z", "datacontenttype": "application/json",
            "data": DATA, **attrs}


def post_structured(url: str, doc: Any, headers: dict[str, str] | None = None) -> Any:
    return requests.post(url, data=json.dumps(doc), timeout=10, headers={
        "Content-Type": "application/cloudevents+json", **(AUTH if headers is None else headers)})


@pytest.fixture
def served(start_server: Callable[..., Server]) -> tuple[str, list[str], Server]:
    runs: list[str] = []
    server = start_server(roster_registry(runs))
    until(lambda: server.elector.leading)
    return f"http://127.0.0.1:{server.port}/", runs, server


def test_binary_event_is_accepted_once_and_run_once(served: tuple[str, list[str], Server]) -> None:
    url, runs, server = served
    first = requests.post(url, json=DATA, headers=binary("e-1"), timeout=10)
    again = requests.post(url, json=DATA, headers=binary("e-1"), timeout=10)
    assert (first.status_code, first.json()["duplicate"]) == (202, False)
    assert (again.status_code, again.json()["duplicate"]) == (202, True)
    entry = until(lambda: (e := server.inbox.get("/lms", "e-1")) and e.state == "done" and e)
    assert entry.outcome["handlers"][0]["status"] == "ok"
    assert runs == ["e-1"]


def test_structured_event_is_accepted_and_run(served: tuple[str, list[str], Server]) -> None:
    url, runs, _ = served
    first = post_structured(url, structured())
    again = post_structured(url, structured())
    assert (first.status_code, again.status_code, again.json()["duplicate"]) == (202, 202, True)
    until(lambda: runs == ["s-1"])
    # the same id from another source is another event
    assert post_structured(url, structured(source="/other")).json()["duplicate"] is False


@pytest.mark.parametrize("auth", [{}, {"Authorization": "Bearer wrong"},
                                  {"Authorization": f"Basic {TOKEN}"}])
def test_without_the_token_it_is_401_in_both_modes(served: tuple[str, list[str], Server],
                                                   auth: dict[str, str]) -> None:
    url, _, server = served
    headers = {k: v for k, v in binary().items() if k != "Authorization"} | auth
    assert requests.post(url, json=DATA, headers=headers, timeout=10).status_code == 401
    answer = post_structured(url, structured(), headers=auth)
    assert answer.status_code == 401 and answer.headers["WWW-Authenticate"] == "Bearer"
    assert server.inbox.entries() == []


def test_every_problem_is_listed_binary(served: tuple[str, list[str], Server]) -> None:
    url, _, _ = served
    headers = binary(None, specversion="0.3", type="edu.classops.nobody.handles")
    del headers["ce-source"]
    answer = requests.post(url, json=DATA, headers=headers, timeout=10)
    assert answer.status_code == 400
    problems = answer.json()["problems"]
    assert problems == ["header ce-id is missing", "header ce-source is missing",
                        "header ce-specversion '0.3' is not supported, expected '1.0'",
                        "header ce-type 'edu.classops.nobody.handles' is not handled by any "
                        "function"]


def test_every_problem_is_listed_structured(served: tuple[str, list[str], Server]) -> None:
    url, _, server = served
    doc = structured(id="", type=7)
    del doc["specversion"]
    problems = post_structured(url, doc).json()["problems"]
    assert problems == ["attribute id must be a non-empty string",
                        "attribute type must be a non-empty string",
                        "attribute specversion is missing"]
    assert post_structured(url, [structured()]).status_code == 400  # a batch in the wrong type
    bad = requests.post(url, data=b"{not json", timeout=10, headers={
        "Content-Type": "application/cloudevents+json; charset=utf-8", **AUTH})
    assert bad.status_code == 400 and "not JSON" in bad.json()["problems"][0]
    assert server.inbox.entries() == []


def test_data_that_does_not_fit_the_catalogue_is_400(served: tuple[str, list[str], Server]
                                                     ) -> None:
    url, _, _ = served
    answer = post_structured(url, structured(data={"added": "alice"}))
    assert answer.status_code == 400
    assert answer.json()["problems"] == ["data.size is missing",
                                         "data.added: expected a list, got str"]
    answer = requests.post(url, json={"size": "many"}, headers=binary(), timeout=10)
    assert answer.json()["problems"] == ["data.size: expected int, got str"]


@pytest.mark.parametrize(("content_type", "ce"), [
    ("text/plain", False), ("application/json", False),
    ("application/cloudevents-batch+json", False), ("application/cloudevents+xml", False),
    ("text/xml", True)])
def test_unreadable_content_types_are_415(served: tuple[str, list[str], Server],
                                          content_type: str, ce: bool) -> None:
    url, _, _ = served
    headers = (binary() if ce else dict(AUTH)) | {"Content-Type": content_type}
    answer = requests.post(url, data=b"<x/>", headers=headers, timeout=10)
    assert answer.status_code == 415, answer.text


def test_over_one_mebibyte_is_413_in_both_modes(served: tuple[str, list[str], Server]) -> None:
    url, _, _ = served
    big = {"size": 1, "added": ["x" * (1024 * 1024)]}
    assert requests.post(url, json=big, headers=binary(), timeout=10).status_code == 413
    assert post_structured(url, structured(data=big)).status_code == 413

    def chunks() -> Any:  # no Content-Length: the length is found by reading
        yield b'{"size": 1, "added": ["'
        for _ in range(1100):
            yield b"x" * 1024
        yield b'"]}'

    chunked = requests.post(url, data=chunks(), headers=binary(), timeout=10)
    assert chunked.status_code == 413


def test_options_handshake(start_server: Callable[..., Server]) -> None:
    server = start_server(Registry(), webhook_allowed_origins=("lms.example.edu",))
    url = f"http://127.0.0.1:{server.port}/"
    answer = requests.options(url, timeout=10,
                              headers={"WebHook-Request-Origin": "lms.example.edu"})
    assert answer.status_code == 200
    assert answer.headers["WebHook-Allowed-Origin"] == "lms.example.edu"
    assert answer.headers["WebHook-Allowed-Rate"] == "120"
    assert "POST" in answer.headers["Allow"]
    assert requests.options(url, timeout=10).status_code == 400
    # Another origin: refused, and refused the spec's way (no WebHook-Allowed-* headers).
    other = requests.options(url, timeout=10,
                             headers={"WebHook-Request-Origin": "evil.example.com"})
    assert other.status_code == 403 and "evil.example.com" in other.json()["problems"][0]
    assert not any(h.lower().startswith("webhook-allowed") for h in other.headers)
    assert "POST" in other.headers["Allow"]


def test_options_handshake_refuses_every_origin_unless_configured(
        start_server: Callable[..., Server], served: tuple[str, list[str], Server]) -> None:
    url, _, _ = served  # nothing configured
    asked = {"WebHook-Request-Origin": "lms.example.edu"}
    refused = requests.options(url, timeout=10, headers=asked)
    assert refused.status_code == 403 and "WebHook-Allowed-Origin" not in refused.headers
    anyone = start_server(Registry(), webhook_allowed_origins=("*",), identity="replica-b")
    granted = requests.options(f"http://127.0.0.1:{anyone.port}/", timeout=10, headers=asked)
    assert granted.status_code == 200 and granted.headers["WebHook-Allowed-Origin"] == "*"


def test_health_readiness_and_metrics(served: tuple[str, list[str], Server]) -> None:
    url, _, _ = served
    requests.post(url, json=DATA, headers=binary("m-1"), timeout=10)
    requests.post(url, json=DATA, headers={}, timeout=10)
    assert requests.get(url + "healthz", timeout=10).status_code == 200
    assert requests.get(url + "readyz", timeout=10).json() == {"ok": True, "reason": "serving"}
    text = requests.get(url + "metrics", timeout=10).text
    assert 'classops_webhook_requests_total{code="202"} 1.0' in text
    assert 'classops_webhook_requests_total{code="401"} 1.0' in text
    assert "classops_leader 1.0" in text


def test_dedupe_holds_across_a_restart(kube: Kube, start_server: Callable[..., Server],
                                       capsys: pytest.CaptureFixture[str]) -> None:
    runs: list[str] = []
    first = start_server(roster_registry(runs))
    url = f"http://127.0.0.1:{first.port}/"
    assert requests.post(url, json=DATA, headers=binary("r-1"), timeout=10).status_code == 202
    until(lambda: runs == ["r-1"])
    first.stop()
    second = start_server(roster_registry(runs), identity="replica-b")
    url = f"http://127.0.0.1:{second.port}/"
    answer = requests.post(url, json=DATA, headers=binary("r-1"), timeout=10)
    assert (answer.status_code, answer.json()["duplicate"]) == (202, True)
    until(lambda: second.elector.leading)
    assert requests.post(url, json=DATA, headers=binary("r-2"), timeout=10).status_code == 202
    until(lambda: runs == ["r-1", "r-2"])

    code = main(["events", "--kubeconfig", str(kube.kubeconfig), "--namespace",
                 kube.namespace, "-o", "json"])
    listed = json.loads(capsys.readouterr().out)
    assert code == 0
    assert [(e["id"], e["state"]) for e in listed] == [("r-1", "done"), ("r-2", "done")]
    main(["events", "r-2", "--kubeconfig", str(kube.kubeconfig), "--namespace", kube.namespace])
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["RECEIVED", "STATE", "TYPE", "ID", "SOURCE", "OUTCOME"]
    assert len(table) == 2 and "done" in table[1] and "roster ok; 0 actions" in table[1]


def test_a_full_inbox_is_503_with_retry_after_and_drops_nothing(
        start_server: Callable[..., Server]) -> None:
    registry = Registry()

    @on(ROSTER_CHANGED, registry=registry, id="stuck")
    def stuck(event: ClassEvent[Any], ctx: Context) -> list[Action]:
        raise TemporaryError("the LMS is down", delay=600)  # so entries stay pending

    server = start_server(registry, inbox_max_pending=2)
    url = f"http://127.0.0.1:{server.port}/"
    for event_id in ("p-1", "p-2"):
        assert requests.post(url, json=DATA, headers=binary(event_id), timeout=10
                             ).status_code == 202
    full = requests.post(url, json=DATA, headers=binary("p-3"), timeout=10)
    assert full.status_code == 503 and full.headers["Retry-After"] == "30"
    assert "2 events wait to run (at most 2)" in full.json()["problems"][0]
    again = requests.post(url, json=DATA, headers=binary("p-1"), timeout=10)
    assert (again.status_code, again.json()["duplicate"]) == (202, True)
    assert sorted(e.id for e in server.inbox.entries()) == ["p-1", "p-2"]
    assert server.inbox.get("/lms", "p-3") is None  # refused, and the sender was told so


def test_an_event_that_would_not_fit_its_configmap_is_413_one_that_just_fits_is_kept(
        start_server: Callable[..., Server]) -> None:
    registry = Registry()

    @on(ROSTER_CHANGED, registry=registry, id="verbose")
    def verbose(event: ClassEvent[Any], ctx: Context) -> list[Action]:
        raise TemporaryError("e" * 200_000, delay=600)  # an outcome far over its budget

    server = start_server(registry)
    url = f"http://127.0.0.1:{server.port}/"

    def padded(event_id: str, stored_size: int) -> dict[str, Any]:
        def doc(pad: int) -> dict[str, Any]:
            return structured(id=event_id, data={"size": 1, "added": ["x" * pad]})

        def size(pad: int) -> int:
            body = json.dumps(doc(pad)).encode()
            return len(JSONFormat().write(from_http_event(HTTPMessage(
                {"content-type": "application/cloudevents+json"}, body))))

        return doc(1000 + stored_size - size(1000))

    too_big = post_structured(url, padded("big", MAX_EVENT + 1))
    assert too_big.status_code == 413
    assert too_big.json()["problems"] == [
        f"the event takes {MAX_EVENT + 1} bytes as structured JSON; at most {MAX_EVENT} are "
        f"kept (a ConfigMap holds 1 MiB, with room for the outcome)"]
    fits = post_structured(url, padded("fits", MAX_EVENT))
    assert fits.status_code == 202, fits.text
    # Its outcome is cut to fit beside it: the settle was written, not refused (422).
    entry = until(lambda: (e := server.inbox.get("/lms", "fits")) and e.attempts == 1 and e)
    assert entry.state == "pending" and entry.outcome["trimmed"] is True
    assert len(json.dumps(entry.outcome, sort_keys=True)) <= OUTCOME_MAX
    long_id = post_structured(url, structured(id="i" * 300_000))
    assert long_id.status_code == 413 and "source, id and type take" in long_id.text


def test_a_rotated_token_takes_effect_without_a_restart(kube: Kube,
                                                        start_server: Callable[..., Server]
                                                        ) -> None:
    def set_token(value: str) -> None:
        secret = {"metadata": {"name": "classops-webhook"}, "stringData": {"token": value}}
        try:
            kube.core.replace_namespaced_secret("classops-webhook", kube.namespace, secret)
        except ApiException:
            kube.core.create_namespaced_secret(kube.namespace, secret)

    def post(token: str, event_id: str) -> int:
        headers = binary(event_id) | {"Authorization": f"Bearer {token}"}
        return requests.post(url, json=DATA, headers=headers, timeout=10).status_code

    set_token("old-token")
    # A TTL of 0 reads the Secret at every request, so the test needs no wait.
    server = start_server(roster_registry([]), webhook_token=None, webhook_token_ttl=0.0)
    url = f"http://127.0.0.1:{server.port}/"
    assert (post("old-token", "k-1"), post("new-token", "k-2")) == (202, 401)
    set_token("new-token")
    assert (post("old-token", "k-3"), post("new-token", "k-4")) == (401, 202)
    kube.core.delete_namespaced_secret("classops-webhook", kube.namespace)
    assert post("new-token", "k-5") == 401  # revoked: no cached token outlives its Secret


def test_the_token_is_read_again_only_after_its_ttl(kube: Kube) -> None:
    kube.core.create_namespaced_secret(kube.namespace, {
        "metadata": {"name": "classops-webhook"}, "stringData": {"token": "one"}})
    now = [0.0]
    token = WebhookToken(settings_for(kube, webhook_token=None, webhook_token_ttl=10.0),
                         KubePort(kube.api), kube.namespace, monotonic=lambda: now[0])
    kube.core.patch_namespaced_secret("classops-webhook", kube.namespace,
                                      {"stringData": {"token": "two"}})
    now[0] = 9.9
    assert token() == "one"
    now[0] = 10.0
    assert token() == "two"
    kube.emu.fail("get", f"/namespaces/{kube.namespace}/secrets/classops-webhook", 503)
    kube.core.patch_namespaced_secret("classops-webhook", kube.namespace,
                                      {"stringData": {"token": "three"}})
    now[0] = 20.0
    assert token() == "two"  # an API hiccup keeps the last token
    now[0] = 30.0
    assert token() == "three"
