"""The secrets the stack generates: created once, read back from the cluster, never re-rendered.

A redeploy must log nobody out, so the cookie secret, the proxy's token, the hub's crypt key and
each hub service's token are generated only when their Secret does not exist, by a create that
treats "already exists" as done (`CreateObject`). They never enter the server-side-apply set and
never reach `classops render`'s output; pods read them through `secretKeyRef`, so the value that
counts is always the one in the cluster. One Secret per hub service (`hub-token-<service>`), so a
service added later gets its own Secret without touching the others.

The generator is injected (`token=`), so a test can give fixed values.
"""

from __future__ import annotations

import secrets as random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from shared.stack.config import HubSettings
from shared.stack.labels import labels

HUB = "hub"  # z2jh's Secret name
COOKIE_SECRET = "hub.config.JupyterHub.cookie_secret"
PROXY_TOKEN = "hub.config.ConfigurableHTTPProxy.auth_token"
CRYPT_KEY = "hub.config.CryptKeeper.keys"
TOKEN = "token"
SERVICES = ("classops",)


def service(name: str) -> str:
    return f"hub-token-{name}"


@dataclass(frozen=True)
class Generated:
    name: str
    keys: tuple[str, ...]

    def manifest(self, settings: HubSettings, token: Callable[[], str]) -> dict[str, Any]:
        meta = {"name": self.name, "namespace": settings.namespace,
                "labels": labels(settings, "hub"),
                "annotations": {"classops.edu/generated": "once; never re-rendered"}}
        return {"apiVersion": "v1", "kind": "Secret", "metadata": meta, "type": "Opaque",
                "stringData": {key: token() for key in self.keys}}

    def missing(self, data: Mapping[str, Any] | None) -> list[str]:
        """Keys an existing Secret lacks (they are reported: classops never overwrites one)."""
        return [k for k in self.keys if k not in (data or {})]


def wanted() -> list[Generated]:
    return [Generated(HUB, (COOKIE_SECRET, PROXY_TOKEN, CRYPT_KEY)),
            *(Generated(service(name), (TOKEN,)) for name in SERVICES)]


def new_token() -> str:
    return random.token_hex(32)  # 32 bytes: what the cookie secret and CryptKeeper ask for
