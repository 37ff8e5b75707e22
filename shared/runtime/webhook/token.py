"""The webhook's bearer token, from the settings or from its Secret, read again every TTL."""

from __future__ import annotations

import base64
import logging
import threading
import time
from collections.abc import Callable

from shared.ports.errors import ApiError
from shared.ports.kube import Kube
from shared.settings import Settings


class NoToken(Exception):
    """Neither the settings nor the Secret give a token: `serve` cannot authenticate a POST."""


class WebhookToken:
    """The webhook's bearer token: `CLASSOPS_WEBHOOK_TOKEN` (fixed for the process), else the
    Secret's key `token`, read again when the last read is `ttl` seconds old, so a rotated
    Secret takes effect within `ttl` without a restart. A failed read keeps the last token (an
    API hiccup must not lock senders out); a deleted Secret or key gives none, so every POST is
    401 until it is back (revoking must not be undone by a cache)."""

    def __init__(self, settings: Settings, kube: Kube, namespace: str,
                 monotonic: Callable[[], float] = time.monotonic,
                 log: logging.Logger | None = None) -> None:
        self.fixed = settings.webhook_token.value if settings.webhook_token else None
        self.kube, self.namespace, self.name = kube, namespace, settings.webhook_secret
        self.ttl, self.monotonic = settings.webhook_token_ttl, monotonic
        self.log = log or logging.getLogger("classops.serve")
        self._lock = threading.Lock()
        self._token: str | None = None
        self._read_at = -float("inf")
        if self.fixed is None and self._read() is None:
            raise NoToken(f"no webhook token: set CLASSOPS_WEBHOOK_TOKEN or create Secret "
                             f"{namespace}/{self.name} with key 'token'")

    def __call__(self) -> str | None:
        if self.fixed is not None:
            return self.fixed
        with self._lock:
            if self.monotonic() - self._read_at >= self.ttl:
                try:
                    self._read()
                except ApiError as err:
                    self.log.warning("cannot read the webhook Secret, keeping the last token: "
                                     "%s", err)
            return self._token

    def _read(self) -> str | None:
        secret = self.kube.get("v1", "Secret", self.name, self.namespace)
        encoded = (secret.raw.get("data") or {}).get("token") if secret is not None else None
        token = base64.b64decode(encoded).decode().strip() if encoded else None
        if token != self._token and self._read_at > -float("inf"):
            self.log.info("the webhook token changed" if token else
                          "the webhook Secret or its key is gone: every POST is 401")
        self._token, self._read_at = token, self.monotonic()
        return token
