"""The JupyterHub port: its REST API with the classops service token (`requests`).

The token's role needs `list:users`, `read:users`, `read:servers` and `delete:servers` (stop),
nothing more; classops never starts servers. Lists follow the hub's pagination (JupyterHub 2+,
asked for with `Accept: application/jupyterhub-pagination+json`). The session ignores the
machine's proxy settings: the hub is a Service next to classops, never behind an HTTP proxy.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any
from urllib.parse import quote

import requests

from shared.handlers.readers import HubServer, HubUser
from shared.settings import Secret

from .errors import ApiError, retry_after

PAGINATED = "application/jupyterhub-pagination+json"


def _time(value: object) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


def _user(model: dict[str, Any]) -> HubUser:
    servers = tuple(
        HubServer(name=name, ready=bool(s.get("ready")), pending=s.get("pending"),
                  started=_time(s.get("started")), last_activity=_time(s.get("last_activity")))
        for name, s in sorted((model.get("servers") or {}).items()))
    return HubUser(model["name"], bool(model.get("admin")), servers)


class Hub:
    def __init__(self, api_url: str, token: Secret, session: requests.Session | None = None,
                 timeout: float = 10.0, page: int = 200) -> None:
        self.api_url, self.timeout, self.page = api_url.rstrip("/"), timeout, page
        self.http = session or requests.Session()
        self.http.trust_env = False
        self.http.headers["Authorization"] = f"token {token.value}"

    def _call(self, method: str, path: str, ok: tuple[int, ...] = (200,),
              **kwargs: Any) -> requests.Response:
        try:
            response = self.http.request(method, self.api_url + path, timeout=self.timeout,
                                         **kwargs)
        except requests.RequestException as err:
            raise ApiError("hub", 0, "Unreachable", type(err).__name__) from err
        if response.status_code not in ok:
            try:
                message = str(response.json().get("message", ""))
            except ValueError:
                message = response.text[:200]
            raise ApiError("hub", response.status_code, response.reason or "", message,
                           retry_after(response.headers.get("Retry-After")))
        return response

    def users(self) -> Iterator[HubUser]:
        offset = 0
        while True:
            page = self._call("GET", "/users", params={"offset": offset, "limit": self.page},
                              headers={"Accept": PAGINATED}).json()
            yield from (_user(model) for model in page["items"])
            following = (page.get("_pagination") or {}).get("next")
            if not following:
                return
            offset = following["offset"]

    def token_owner(self) -> dict[str, Any]:
        """The token's own model (GET /user): its owner's `kind` and `name`, and `scopes`, the
        token's scopes as the hub expanded them (JupyterHub 2+)."""
        answer: dict[str, Any] = self._call("GET", "/user").json()
        return answer

    def user(self, name: str) -> HubUser | None:
        try:
            return _user(self._call("GET", f"/users/{quote(name, safe='')}").json())
        except ApiError as err:
            if err.not_found:
                return None
            raise

    def stop_server(self, user: str, server: str = "") -> bool:
        """Stop it if it runs (or is starting): True if a stop was asked for, False if there
        was nothing to stop.

        The hub answers a stop of a stopped server with 204 as well, so the answer cannot tell;
        the user's model (the servers that are running or pending) is read first.
        """
        found = self.user(user)
        running = {s.name: s for s in found.servers} if found else {}
        if server not in running or running[server].pending == "stop":
            return False
        path = f"/users/{quote(user, safe='')}/server"
        if server:
            path += f"s/{quote(server, safe='')}"
        try:
            self._call("DELETE", path, ok=(202, 204))
        except ApiError as err:
            if err.not_found:  # deleted meanwhile
                return False
            raise
        return True
