"""Build the live context and the executor's ports from the settings: the one place that turns
configuration into clients. The runtime and the CLI call it at start; nothing deeper connects.

A system that is not configured gets a reader that refuses (`NotConfigured`), never an empty one:
an empty hub would quietly read as "nobody running" and size a warm-up wrongly.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import NoReturn

from shared.actions.applying import Ports
from shared.handlers.context import Context
from shared.handlers.readers import (
    HubReader,
    HubUser,
    KubeReader,
    S3Reader,
    StoredObject,
    StoredUpload,
)
from shared.handlers.registry import PermanentError
from shared.logs import bind
from shared.ports.hub import Hub
from shared.ports.kube import Kube, connect
from shared.ports.s3 import S3
from shared.ports.s3 import connect as connect_s3
from shared.ports.sdk import client
from shared.settings import Settings


@dataclass(frozen=True)
class NotConfigured:
    what: str

    def _refuse(self) -> NoReturn:
        raise PermanentError(f"{self.what} is not configured")

    def users(self) -> Iterator[HubUser]:
        self._refuse()

    def user(self, name: str) -> HubUser | None:
        self._refuse()

    def head(self, key: str) -> StoredObject | None:
        self._refuse()

    def objects(self, prefix: str = "") -> Iterator[StoredObject]:
        self._refuse()

    def get_bytes(self, key: str) -> bytes:
        self._refuse()

    def uploads(self, prefix: str = "") -> Iterator[StoredUpload]:
        self._refuse()


@dataclass(frozen=True)
class Live:
    context: Context
    ports: Ports


def live(settings: Settings, clock: Callable[[], datetime],
         api: client.ApiClient | None = None, log: logging.Logger | None = None) -> Live:
    kube = Kube(api or connect(settings.kubeconfig))
    hub = (Hub(settings.hub_api_url, settings.hub_token)
           if settings.hub_api_url and settings.hub_token else None)
    s3 = (S3(connect_s3(settings.s3_endpoint, settings.s3_region), settings.s3_bucket)
          if settings.s3_bucket else None)
    kube_reader: KubeReader = kube
    hub_reader: HubReader = hub or NotConfigured("the hub (CLASSOPS_HUB_API_URL)")
    s3_reader: S3Reader = s3 or NotConfigured("S3 (CLASSOPS_S3_BUCKET)")
    context = Context(settings, kube_reader, hub_reader, s3_reader, clock,
                      bind(log or logging.getLogger("classops")))
    return Live(context, Ports(kube, hub, None, clock, s3))
