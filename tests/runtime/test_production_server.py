"""`classops serve`'s production HTTP server (waitress, in process): JSON access logs without
tokens or colours, `ce-*` headers checked as the CloudEvents HTTP binding encodes them, stalled
clients that cannot hold every connection, and a stop that answers the requests in flight before
the Lease is released. (The webhook's own answers are `test_webhook.py`'s, unchanged.)"""

from __future__ import annotations

import io
import json
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from shared.logs import JsonFormatter
from shared.runtime.server import Server
from tests.conftest import Kube
from tests.wait import until

from .conftest import TOKEN
from .test_webhook import DATA, binary, roster_registry


@pytest.fixture
def access_log() -> Iterator[io.StringIO]:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("classops.http")
    logger.addHandler(handler)
    old = logger.level
    logger.setLevel(logging.INFO)
    yield out
    logger.removeHandler(handler)
    logger.setLevel(old)


def test_access_logs_are_json_lines_without_tokens_or_colours(
        start_server: Callable[..., Server], access_log: io.StringIO) -> None:
    server = start_server(roster_registry([]))
    url = f"http://127.0.0.1:{server.port}/"
    assert requests.post(url + "?token=" + TOKEN, json=DATA, headers=binary("log-1"),
                         timeout=30).status_code == 202
    assert requests.post(url, json=DATA, headers={**binary("log-2"), "Authorization":
                                                  "Bearer wrong"}, timeout=30).status_code == 401
    assert requests.get(url + "healthz", timeout=30).status_code == 200
    text = until(lambda: (t := access_log.getvalue()).count("\n") >= 3 and t)
    lines = [json.loads(line) for line in text.splitlines()]  # JSON, every one
    posted = next(line for line in lines if line.get("event_id") == "log-1")
    assert (posted["method"], posted["path"], posted["status"]) == ("POST", "/", 202)
    assert posted["bytes"] > 0 and posted["duration_ms"] >= 0
    refused = next(line for line in lines if line["status"] == 401)
    assert "event_id" not in refused  # nobody authenticated: nothing of theirs is echoed
    assert any((line["method"], line["path"], line["status"]) == ("GET", "/healthz", 200)
               for line in lines)
    assert TOKEN not in text and "wrong" not in text  # neither the query nor a header
    assert "\x1b[" not in text


def test_ce_headers_outside_printable_ascii_are_400(start_server: Callable[..., Server]) -> None:
    server = start_server(roster_registry([]))
    url = f"http://127.0.0.1:{server.port}/"
    raw = requests.post(url, json=DATA, headers=binary("h-1", source="/lms/caf\u00e9"),
                        timeout=30)  # sent as the byte 0xE9, not percent-encoded
    assert raw.status_code == 400
    assert raw.json()["problems"] == [
        "header ce-source holds characters outside printable ASCII; percent-encode them "
        "(UTF-8), as the CloudEvents HTTP binding says"]
    overlong = requests.post(url, json=DATA, headers=binary("h-%C0%A0"), timeout=30)
    assert overlong.status_code == 400
    assert "not UTF-8" in overlong.json()["problems"][0]
    encoded = requests.post(url, json=DATA, headers=binary("h-2", source="/lms/Euro%20%E2%82%AC"),
                            timeout=30)
    assert encoded.status_code == 202, encoded.text
    entry = until(lambda: server.inbox.get("/lms/Euro \u20ac", "h-2"))
    assert entry.source == "/lms/Euro \u20ac"  # decoded once, as the binding says


def test_stalled_clients_cannot_hold_every_connection(
        start_server: Callable[..., Server]) -> None:
    server = start_server(roster_registry([]), http_connection_limit=3, http_threads=1,
                          http_channel_timeout=1.0)
    stalled = []
    try:
        for _ in range(3):  # every connection the server allows, each stuck mid-request
            conn = socket.create_connection(("127.0.0.1", server.port), timeout=60)
            conn.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
            stalled.append(conn)
        # The one worker thread is not theirs (waitress hands a worker whole requests only),
        # and their connections time out: a real request is answered all the same.
        answer = requests.get(f"http://127.0.0.1:{server.port}/healthz", timeout=60)
        assert answer.status_code == 200
        for conn in stalled:  # each stalled one was closed by the server, not served
            conn.settimeout(60)
            assert conn.recv(1024) == b""
    finally:
        for conn in stalled:
            conn.close()


def test_a_trickling_client_cannot_hold_its_connection(
        start_server: Callable[..., Server]) -> None:
    server = start_server(roster_registry([]), http_channel_timeout=1.0)
    conn = socket.create_connection(("127.0.0.1", server.port), timeout=60)
    closed = False
    try:
        deadline = time.monotonic() + 60  # a bound for a failing test, not a speed
        while time.monotonic() < deadline and not closed:
            try:  # never idle, never done: one header byte at a time
                conn.sendall(b"X")
                conn.settimeout(0.3)
                closed = conn.recv(1024) == b""
            except TimeoutError:
                continue
            except OSError:  # reset by the server
                closed = True
    finally:
        conn.close()
    assert closed, "the server kept a connection whose request never finished arriving"
    assert requests.get(f"http://127.0.0.1:{server.port}/healthz", timeout=60).ok


def test_stop_answers_requests_in_flight_before_the_lease_is_released(
        kube: Kube, start_server: Callable[..., Server]) -> None:
    server = start_server(roster_registry([]))
    until(lambda: server.elector.leading)
    url = f"http://127.0.0.1:{server.port}/"
    # The inbox write of the next event takes 2 s: the POST is in flight while we stop.
    kube.emu.add_latency(2.0, "create", f"/namespaces/{kube.namespace}/configmaps$")
    answers: list[Any] = []
    since = time.time()
    poster = threading.Thread(target=lambda: answers.append(requests.post(
        url, json=DATA, headers=binary("late-1"), timeout=60)))
    poster.start()
    until(lambda: server.http.in_flight >= 1)
    server.stop()  # what SIGTERM does
    poster.join(60)
    assert [a.status_code for a in answers] == [202]
    assert server.inbox.get("/lms", "late-1") is not None
    log = [r for r in kube.emu.requests(since) if kube.namespace in r.path]
    put = next(i for i, r in enumerate(log) if r.verb == "create" and
               r.path.endswith("/configmaps"))
    released = max(i for i, r in enumerate(log) if r.verb == "update" and "/leases/" in r.path)
    assert put < released  # the event was kept before the last Lease write, the release
    lease = kube.emu.api_client()
    from shared.ports.kube import Kube as KubePort
    held = KubePort(lease).get("coordination.k8s.io/v1", "Lease", "classops-leader",
                               kube.namespace)
    assert held is not None and held.spec.get("holderIdentity") in (None, "")
    with pytest.raises(requests.ConnectionError):  # and the server is gone
        requests.get(url + "healthz", timeout=30)
