"""The hub port against a real JupyterHub (tests/servers), with the classops service token."""

from __future__ import annotations

import io
import json
import logging
import time
from datetime import UTC, datetime

import pytest

from shared.actions.applying import Ports
from shared.actions.executor import Executor
from shared.actions.model import StopServer
from shared.logs import JsonFormatter
from shared.metrics import Metrics
from shared.ports.errors import ApiError
from shared.ports.hub import Hub
from shared.ports.kube import Kube
from shared.settings import Secret
from tests.conftest import Kube as KubeFixture
from tests.servers.fixtures import HubUsers


@pytest.fixture
def port(hub: HubUsers) -> Hub:
    return Hub(hub.api_url, Secret(hub.token), page=2)


def _stopped(port: Hub, user: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while (found := port.user(user)) is not None and found.servers:
        assert time.monotonic() < deadline, f"{user}'s server is still {found.servers}"
        time.sleep(0.1)


def test_users_follow_every_page(hub: HubUsers, port: Hub) -> None:
    made = {hub.create_user(f"s{i}") for i in range(5)}
    seen = {u.name for u in port.users() if u.name.startswith(hub.prefix)}
    assert seen == made


def test_a_user_and_their_running_server(hub: HubUsers, port: Hub) -> None:
    alice = hub.create_user("alice")
    assert port.user(alice) is not None and port.user(alice).servers == ()  # type: ignore[union-attr]
    hub.start_server(alice)
    found = port.user(alice)
    assert found is not None
    (server,) = found.servers
    assert server.name == "" and server.ready and server.started is not None
    assert server.started.tzinfo is not None
    assert port.user(hub.prefix + "nobody") is None


def test_stop_is_true_once_then_false(hub: HubUsers, port: Hub) -> None:
    bob = hub.create_user("bob")
    hub.start_server(bob)
    assert port.stop_server(bob) is True
    _stopped(port, bob)
    assert port.stop_server(bob) is False
    assert port.stop_server(hub.prefix + "nobody") is False


def test_the_token_cannot_start_servers(hub: HubUsers, port: Hub) -> None:
    carol = hub.create_user("carol")
    with pytest.raises(ApiError) as err:
        port._call("POST", f"/users/{carol}/server", ok=(201, 202))
    assert err.value.status == 403


def test_a_wrong_token_is_refused(hub: HubUsers) -> None:
    with pytest.raises(ApiError) as err:
        list(Hub(hub.api_url, Secret("not-the-token")).users())
    assert err.value.status == 403 or err.value.status == 401


def test_the_executor_stops_a_server_once_and_never_logs_the_token(
        hub: HubUsers, port: Hub, kube: KubeFixture) -> None:
    dave = hub.create_user("dave")
    hub.start_server(dave)
    stream = io.StringIO()
    logger = logging.getLogger("classops.test.hub")
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger.handlers[:], logger.propagate = [handler], False
    logger.setLevel(logging.INFO)
    at = datetime(2026, 12, 19, 5, 0, tzinfo=UTC)
    executor = Executor(Ports(Kube(kube.api), hub=port), Metrics(), clock=lambda: at, log=logger)
    (first,) = executor.execute([StopServer(dave)], "term/end@2026-12-19T00:00:00-05:00")
    _stopped(port, dave)
    (second,) = executor.execute([StopServer(dave)], "term/end@2026-12-19T00:00:00-05:00")
    assert (first.outcome, second.outcome) == ("changed", "unchanged")
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [line["event_id"] for line in lines] == ["term/end@2026-12-19T00:00:00-05:00"] * 2
    assert hub.token not in stream.getvalue()
