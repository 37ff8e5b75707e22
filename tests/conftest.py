"""Fixtures shared by the whole suite: the Kubernetes API emulator, started once per test run.

Each test that takes `kube` gets its own namespace, a configured official client and a kubeconfig
for kubectl; faults, latency and the clock's rate are reset after it.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from kubernetes import client

from tests.kubeemu import Emulator

# The real S3 (SeaweedFS) and JupyterHub servers: fixtures `s3` and `hub`, started on first use;
# the course's hub spawning into an emulator with KubeSpawner: `kube_hub` and `hub_storm`.
pytest_plugins = ["tests.servers.fixtures", "tests.servers.kube_fixtures"]

HISTORY_WINDOW = 100_000


@dataclass
class Kube:
    api: client.ApiClient
    kubeconfig: Path
    emu: Emulator
    namespace: str

    @property
    def core(self) -> client.CoreV1Api:
        return client.CoreV1Api(self.api)

    @property
    def apps(self) -> client.AppsV1Api:
        return client.AppsV1Api(self.api)


@pytest.fixture(scope="session")
def emulator() -> Iterator[Emulator]:
    emu = Emulator(bookmark_interval=0.3, history_window=HISTORY_WINDOW).start()
    yield emu
    emu.stop()


def new_kube(emu: Emulator, tmp_path: Path) -> Kube:
    """A namespace of the test's own on `emu`, with a client and a kubeconfig for it."""
    namespace = f"t-{uuid.uuid4().hex[:10]}"
    api = emu.api_client()
    client.CoreV1Api(api).create_namespace({"metadata": {"name": namespace}})
    return Kube(api, emu.write_kubeconfig(tmp_path / "kubeconfig", namespace), emu, namespace)


@pytest.fixture
def kube(emulator: Emulator, tmp_path: Path) -> Iterator[Kube]:
    """The shared emulator, with a namespace of the test's own."""
    k = new_kube(emulator, tmp_path)
    yield k
    emulator.clear_faults()
    emulator.set_history_window(HISTORY_WINDOW)
    emulator.clock.set_rate(1.0)
    k.api.close()


@pytest.fixture
def lone_kube(tmp_path: Path) -> Iterator[Kube]:
    """An emulator of the test's own, for tests that compact history or cut every watch."""
    emu = Emulator(bookmark_interval=0.2).start()
    k = new_kube(emu, tmp_path)
    yield k
    k.api.close()
    emu.stop()


@pytest.fixture
def kubectl() -> str:
    path = shutil.which("kubectl")
    if path is None:
        pytest.skip("kubectl is not on PATH")
    return path
