"""pytest fixtures for the real test servers: `s3` (a fresh bucket) and `hub` (fresh hub users).

Load with `pytest_plugins = ["tests.servers.fixtures"]`. Each server starts once per test run, on
first use (`seaweed_server`, `hub_server`, session scope), so a run that needs neither pays for
neither; each test gets its own bucket or username prefix, removed afterwards. The terminal
summary reports each server's startup time and memory, to keep an eye on the suite's budget.

Once a server runs, SIGTERM to the test process (a CI timeout, `kill`) is turned into a
KeyboardInterrupt, as Ctrl-C is: pytest then tears the fixtures down and the servers stop, where
Python's default would exit at once and leave the cleanup to the parent-death signal.
"""

from __future__ import annotations

import contextlib
import re
import secrets
import signal
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import FrameType
from typing import Any, Protocol, TypeVar

import pytest
from botocore.client import BaseClient
from botocore.exceptions import ClientError

from .jupyterhub import HubAPI, HubEndpoint, JupyterHubServer
from .seaweed import S3Endpoint, SeaweedS3, delete_bucket

_stats: dict[str, str] = {}


def _mb(size: int) -> str:
    return f"{size / 2**20:.0f} MB"


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def _stop_servers_on_sigterm() -> None:
    # Only where nobody chose a handler, and only the main thread may set one.
    if (
        threading.current_thread() is threading.main_thread()
        and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    ):
        signal.signal(signal.SIGTERM, _interrupt)


class _Server(Protocol):
    def start(self) -> object: ...
    def stop(self, keep_workdir: bool = False) -> None: ...


T = TypeVar("T", bound=_Server)


@contextlib.contextmanager
def _running(server: T) -> Iterator[T]:
    """Start a server for the run; on a failed start keep its files (the error names its log)."""
    _stop_servers_on_sigterm()
    try:
        server.start()
    except BaseException:
        server.stop(keep_workdir=True)  # the next run sweeps it
        raise
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def seaweed_server() -> Iterator[SeaweedS3]:
    with _running(SeaweedS3()) as server:
        _stats["seaweedfs"] = (
            f"up in {server.startup_seconds:.1f} s (first PUT {server.first_put_seconds:.1f} s), "
            f"RSS {_mb(server.rss_bytes())}"
        )
        yield server
        _stats["seaweedfs"] += f", {_mb(server.rss_bytes())} at the end"


@dataclass(frozen=True)
class S3Bucket:
    """A test's own empty bucket, a client for it, and the endpoint as data."""

    name: str
    client: BaseClient
    endpoint: S3Endpoint

    def settings(self) -> dict[str, str]:
        """How classops is pointed at this bucket: its environment, or its `classops-s3`
        Secret's keys."""
        return {"CLASSOPS_S3_BUCKET": self.name,
                "CLASSOPS_S3_ENDPOINT": self.endpoint.endpoint_url,
                "AWS_ACCESS_KEY_ID": self.endpoint.access_key,
                "AWS_SECRET_ACCESS_KEY": self.endpoint.secret_key,
                "AWS_DEFAULT_REGION": self.endpoint.region}


def _slug(text: str, limit: int) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:limit].strip("-") or "t"


@pytest.fixture
def s3(seaweed_server: SeaweedS3, request: pytest.FixtureRequest) -> Iterator[S3Bucket]:
    assert seaweed_server.endpoint is not None
    endpoint = seaweed_server.endpoint
    client = endpoint.client()
    # Bucket names: 3-63 of [a-z0-9-]; the test's name helps when reading the server's log.
    name = f"{_slug(request.node.name, 40)}-{secrets.token_hex(5)}"
    client.create_bucket(Bucket=name)
    yield S3Bucket(name=name, client=client, endpoint=endpoint)
    try:
        delete_bucket(client, name)
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "NoSuchBucket":  # the test may drop it itself
            raise


@pytest.fixture(scope="session")
def hub_server() -> Iterator[JupyterHubServer]:
    with _running(JupyterHubServer()) as server:
        rss = server.rss_bytes()
        _stats["jupyterhub"] = (
            f"up in {server.startup_seconds:.1f} s, RSS hub {_mb(rss['jupyterhub'])} "
            f"+ proxy {_mb(rss['configurable-http-proxy'])}"
        )
        yield server


@dataclass
class HubUsers:
    """A test's slice of the shared hub: every user it makes starts with `prefix`.

    `api` speaks with the `classops` service token (what the code under test gets); `admin` is the
    fixture's own hand, for arranging state that classops may not create itself.
    """

    endpoint: HubEndpoint
    admin: HubAPI
    prefix: str
    api: HubAPI = field(init=False)
    created: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.api = HubAPI(self.endpoint.api_url, self.endpoint.token)

    @property
    def api_url(self) -> str:
        return self.endpoint.api_url

    @property
    def token(self) -> str:
        return self.endpoint.token

    def create_user(self, suffix: str = "student") -> str:
        name = self.prefix + suffix
        self.admin.create_user(name)
        self.created.append(name)
        return name

    def start_server(self, user: str, server: str = "") -> dict[str, Any]:
        """Start `user`'s server (a real process) and return its model once it is ready."""
        return self.admin.start_server(user, server)

    def cleanup(self) -> None:
        for user in self.admin.users():
            name = user["name"]
            if not name.startswith(self.prefix):
                continue
            for server in self.admin.user(name).get("servers", {}):
                self.admin.stop_server(name, server)
            self.admin.delete_user(name)


@pytest.fixture
def hub(hub_server: JupyterHubServer) -> Iterator[HubUsers]:
    assert hub_server.endpoint is not None and hub_server.admin is not None
    users = HubUsers(
        endpoint=hub_server.endpoint,
        admin=hub_server.admin,
        prefix=f"t{secrets.token_hex(4)}-",
    )
    yield users
    users.cleanup()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _stats:
        terminalreporter.section("test servers")
        for name, line in _stats.items():
            terminalreporter.write_line(f"{name}: {line}")
