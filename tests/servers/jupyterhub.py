"""A real JupyterHub for tests: `jupyterhub -f hub_config.py` behind configurable-http-proxy.

Three processes, all on 127.0.0.1 free ports, in a temp dir of their own:
- configurable-http-proxy from npm (pinned in `tests/servers/package.json`, installed by
  `.ci/setup` with `npm ci --prefix tests/servers`), started here first, as in Zero-to-JupyterHub;
- the hub (`python -m jupyterhub`), with the dummy authenticator and SimpleLocalProcessSpawner;
- per started user, `singleuser.py`, a tiny HTTP server that the spawner really starts and stops.

Two services get random tokens at start: `classops`, whose role holds only what classops uses in
production (`CLASSOPS_SCOPES`), and `classops-test-admin`, the fixtures' own hand for creating
users and starting servers, which classops itself must never need.
"""

from __future__ import annotations

import os
import re
import secrets
import signal
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests

from .process import LocalServer, ServerError, ServerProcess, free_ports

HERE = Path(__file__).resolve().parent
CHP_BINARY = HERE / "node_modules" / ".bin" / "configurable-http-proxy"

# A port taken between free_ports() and the bind: fail the wait at once, then retry.
_FATAL = re.compile(r"^.*(EADDRINUSE|address already in use).*$", re.MULTILINE | re.IGNORECASE)

#: The classops service's role: see users, see their servers, stop them (JupyterHub 6 scopes;
#: `delete:servers` is "stop and delete users' servers", `start:servers` is deliberately absent).
CLASSOPS_SCOPES = ("list:users", "read:users", "read:servers", "delete:servers")


@dataclass(frozen=True)
class HubEndpoint:
    """How classops reaches the hub, as data: its REST API and the `classops` service token."""

    api_url: str  # the hub's own API, as a service in the cluster calls it: http://hub:8081/hub/api
    public_url: str  # through the proxy, as a browser sees it
    token: str

    def session(self) -> requests.Session:
        return _session(self.token)


def _session(token: str) -> requests.Session:
    session = requests.Session()
    session.headers["Authorization"] = f"token {token}"
    # The machine's proxy settings must not reroute 127.0.0.1.
    session.trust_env = False
    return session


class HubAPI:
    """A few REST calls the fixtures need, with one token; raises on unexpected statuses."""

    def __init__(self, api_url: str, token: str, timeout: float = 30.0) -> None:
        self.api_url = api_url.rstrip("/")
        self.timeout = timeout
        self.http = _session(token)

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self.timeout)
        return self.http.request(method, self.api_url + path, **kwargs)

    def _ok(self, response: requests.Response, *codes: int) -> requests.Response:
        if response.status_code not in codes:
            raise ServerError(
                f"hub {response.request.method} {response.url} answered "
                f"{response.status_code}: {response.text[:500]}"
            )
        return response

    def users(self) -> list[dict[str, Any]]:
        # Paginated since JupyterHub 2: follow `next` so teardown sees every user.
        users: list[dict[str, Any]] = []
        offset = 0
        while True:
            page = self._ok(
                self.request(
                    "GET",
                    "/users",
                    params={"offset": offset, "limit": 200},
                    headers={"Accept": "application/jupyterhub-pagination+json"},
                ),
                200,
            ).json()
            users.extend(page["items"])
            following = page["_pagination"].get("next")
            if not following:
                return users
            offset = following["offset"]

    def user(self, name: str) -> dict[str, Any]:
        result: dict[str, Any] = self._ok(
            self.request("GET", f"/users/{quote(name, safe='')}"), 200
        ).json()
        return result

    def create_user(self, name: str) -> dict[str, Any]:
        result: dict[str, Any] = self._ok(
            self.request("POST", f"/users/{quote(name, safe='')}"), 201
        ).json()
        return result

    def delete_user(self, name: str) -> None:
        self._ok(self.request("DELETE", f"/users/{quote(name, safe='')}"), 204, 404)

    def _server_path(self, user: str, server: str) -> str:
        path = f"/users/{quote(user, safe='')}/server"
        return path + f"s/{quote(server, safe='')}" if server else path

    def server(self, user: str, server: str = "") -> dict[str, Any] | None:
        """The server's model while it is pending or running, else None."""
        found: dict[str, Any] | None = self.user(user).get("servers", {}).get(server)
        return found

    def start_server(self, user: str, server: str = "", timeout: float = 60.0) -> dict[str, Any]:
        self._ok(self.request("POST", self._server_path(user, server)), 201, 202)
        return self._wait(user, server, timeout, lambda model: bool(model and model["ready"]))

    def stop_server(self, user: str, server: str = "", timeout: float = 60.0) -> None:
        self._ok(self.request("DELETE", self._server_path(user, server)), 202, 204, 404)
        self._wait(user, server, timeout, lambda model: model is None)

    def _wait(self, user: str, server: str, timeout: float, done: Any) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            model = self.server(user, server)
            if done(model):
                return model or {}
            if time.monotonic() > deadline:
                raise ServerError(f"server {user!r}/{server!r} still {model} after {timeout} s")
            time.sleep(0.1)


def _answers(url: str, headers: Mapping[str, str] | None = None) -> bool:
    session = requests.Session()
    session.trust_env = False
    try:
        response = session.get(url, headers=dict(headers or {}), timeout=2)
    except requests.RequestException:
        return False
    return response.status_code == 200


class JupyterHubServer(LocalServer):
    """The proxy and the hub; `start()` returns once `/hub/api` answers through the proxy."""

    workdir_prefix = "classops-hub-"
    config_file = HERE / "hub_config.py"  # `jupyterhub -f` this (kubehub.py has another)

    def __init__(
        self, workdir: Path | None = None, pick_ports: Callable[[int], list[int]] = free_ports
    ) -> None:
        super().__init__(workdir, pick_ports)
        self.endpoint: HubEndpoint | None = None
        self.admin: HubAPI | None = None
        self._proxy: ServerProcess | None = None
        self._hub: ServerProcess | None = None

    def start(self, timeout: float = 60.0, attempts: int = 3) -> HubEndpoint:
        if not CHP_BINARY.exists():
            raise ServerError(
                f"{CHP_BINARY} is missing: run `npm ci --prefix tests/servers` (.ci/setup does)"
            )
        self._start_with_retries(timeout, attempts)
        assert self.endpoint is not None
        return self.endpoint

    def _lost_port_race(self) -> bool:
        return any(process.logged(_FATAL) for process in (self._proxy, self._hub) if process)

    def _start_once(self, timeout: float) -> None:
        hub_port, proxy_port, proxy_api_port = self._pick_ports(3)
        proxy_token = secrets.token_hex(32)
        classops_token = secrets.token_hex(32)
        admin_token = secrets.token_hex(32)
        (self.workdir / "home").mkdir(exist_ok=True)

        proxy_env = {"CONFIGPROXY_AUTH_TOKEN": proxy_token}
        self._proxy = ServerProcess(
            "configurable-http-proxy",
            [
                str(CHP_BINARY),
                "--ip=127.0.0.1",
                f"--port={proxy_port}",
                "--api-ip=127.0.0.1",
                f"--api-port={proxy_api_port}",
                f"--default-target=http://127.0.0.1:{hub_port}",
                f"--error-target=http://127.0.0.1:{hub_port}/hub/error",
                "--log-level=info",
            ],
            cwd=self.workdir,
            log_path=self.workdir / "proxy.log",
            env={**_base_env(), **proxy_env},
            fatal=_FATAL,
        )
        self._proxy.start()
        self._proxy.wait_until(
            lambda: _answers(
                f"http://127.0.0.1:{proxy_api_port}/api/routes",
                {"Authorization": f"token {proxy_token}"},
            ),
            what="its API answers",
            timeout=timeout,
        )

        hub_env = {
            "CLASSOPS_TEST_HUB_DIR": str(self.workdir),
            "CLASSOPS_TEST_HUB_PORT": str(hub_port),
            "CLASSOPS_TEST_HUB_PROXY_PORT": str(proxy_port),
            "CLASSOPS_TEST_HUB_PROXY_API_PORT": str(proxy_api_port),
            "CLASSOPS_TEST_HUB_PROXY_TOKEN": proxy_token,
            "CLASSOPS_TEST_HUB_CLASSOPS_TOKEN": classops_token,
            "CLASSOPS_TEST_HUB_ADMIN_TOKEN": admin_token,
            "CLASSOPS_TEST_HUB_CLASSOPS_SCOPES": " ".join(CLASSOPS_SCOPES),
            "CLASSOPS_TEST_HUB_SINGLEUSER": str(HERE / "singleuser.py"),
        }
        hub_env.update(self._more_env(hub_env))
        self._hub = ServerProcess(
            "jupyterhub",
            [sys.executable, "-m", "jupyterhub", "-f", str(self.config_file)],
            cwd=self.workdir,
            log_path=self.workdir / "jupyterhub.log",
            env={**_base_env(), **hub_env},
            # On SIGTERM the hub stops its users' servers; give it the time to.
            death_signal=signal.SIGTERM,
            stop_signal=signal.SIGTERM,
            stop_grace=15.0,
            fatal=_FATAL,
        )
        self._hub.start()
        api_url = f"http://127.0.0.1:{hub_port}/hub/api"
        public_url = f"http://127.0.0.1:{proxy_port}/"
        self._hub.wait_until(lambda: _answers(api_url), what="/hub/api answers", timeout=timeout)
        self._hub.wait_until(
            lambda: _answers(public_url + "hub/api"),
            what="/hub/api answers through the proxy",
            timeout=timeout,
        )
        self.endpoint = HubEndpoint(api_url=api_url, public_url=public_url, token=classops_token)
        self.admin = HubAPI(api_url, admin_token)

    def _more_env(self, hub_env: Mapping[str, str]) -> dict[str, str]:
        """More environment for the hub, from what it already gets (a subclass's hook)."""
        return {}

    @property
    def log_path(self) -> Path:
        return self.workdir / "jupyterhub.log"

    def rss_bytes(self) -> dict[str, int]:
        """Resident memory of the hub and of the proxy (users' servers not included)."""
        return {
            "jupyterhub": self._hub.rss_bytes() if self._hub else 0,
            "configurable-http-proxy": self._proxy.rss_bytes() if self._proxy else 0,
        }

    def _kill(self) -> None:
        # The hub first, so that it stops its users' servers while the proxy still answers it.
        for process in (self._hub, self._proxy):
            if process is not None:
                process.stop()
        self._hub = self._proxy = None


def _base_env() -> dict[str, str]:
    env = dict(os.environ)
    # Nothing of an outer JupyterHub (if the suite runs inside one) may leak into ours.
    for key in [key for key in env if key.startswith(("JUPYTERHUB_", "CONFIGPROXY_"))]:
        del env[key]
    # Nor may a proxy setting reroute the hub's calls to 127.0.0.1, nor (KubeSpawner tries the
    # in-cluster config first) the cluster that this suite may itself run in stand in for ours.
    for key in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY",
                "KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT", "KUBECONFIG"):
        env.pop(key, None)
    return env
