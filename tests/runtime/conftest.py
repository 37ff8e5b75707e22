"""Fixtures of the runtime tests: settings with short leases, and in-process servers against the
emulator (over HTTP, as in production)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from shared.handlers.registry import Registry
from shared.runtime.server import Server
from shared.settings import Secret, Settings
from tests.conftest import Kube

TOKEN = "t0ken-for-tests"


def settings_for(kube: Kube, **changes: Any) -> Settings:
    base = Settings(namespace=kube.namespace, host="127.0.0.1", port=0,
                    webhook_token=Secret(TOKEN), lease_duration=2.0, renew_deadline=1.5,
                    retry_period=0.25, identity="replica-a")
    return dataclasses.replace(base, **changes)


@pytest.fixture
def start_server(kube: Kube) -> Iterator[Callable[..., Server]]:
    started: list[Server] = []

    def start(registry: Registry, clock: Callable[[], datetime] | None = None,
              **changes: Any) -> Server:
        server = Server(settings_for(kube, **changes), registry, api=kube.emu.api_client(),
                        clock=clock or (lambda: datetime.now(UTC)), drain_tick=0.2).start()
        started.append(server)
        return server

    yield start
    for server in started:
        if not server._stopping:
            server.stop()
