"""Fixtures of the runtime tests: settings, and in-process servers against the emulator (over
HTTP, as in production).

The Lease timings are client-go's defaults for duration and renew deadline (15 s / 10 s): a
busy CI machine may take seconds to answer a renewal, and a test that needs one leader must not
lose it to a slow request. The retry period stays short (0.25 s) so the first leader starts at
once; a test of takeover after expiry passes a short lease of its own."""

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
                    webhook_token=Secret(TOKEN), lease_duration=15.0, renew_deadline=10.0,
                    retry_period=0.25, identity="replica-a")
    return dataclasses.replace(base, **changes)


@pytest.fixture
def start_server(kube: Kube) -> Iterator[Callable[..., Server]]:
    started: list[Server] = []

    def start(registry: Registry, clock: Callable[[], datetime] | None = None,
              **changes: Any) -> Server:
        server = Server.open(settings_for(kube, **changes), registry, api=kube.emu.api_client(),
                             clock=clock or (lambda: datetime.now(UTC)), drain_tick=0.2).start()
        started.append(server)
        return server

    yield start
    for server in started:
        if not server._stopping:
            server.stop()
