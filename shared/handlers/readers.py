"""What a handler may read, as Protocols: the read-only side of each port, and the records it
returns. The context hands a handler these, never a client: a handler can look, not touch.

`EmptyCluster` and `EmptyHub` are the "no cluster" readers `classops plan` uses: nothing exists and
nobody is running, which is what the plan says it assumes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from shared.events import KubeObject

from .stored import StoredObject, StoredUpload

__all__ = ["StoredObject", "StoredUpload"]  # re-exported: what S3Reader returns


class KubeReader(Protocol):
    def get(self, api_version: str, kind: str, name: str,
            namespace: str = "") -> KubeObject | None: ...

    def list(self, api_version: str, kind: str, namespace: str = "", label_selector: str = "",
             field_selector: str = "") -> Iterator[KubeObject]: ...


@dataclass(frozen=True)
class HubServer:
    name: str  # "" is the default server
    ready: bool
    pending: str | None = None  # "spawn", "stop", ... while the hub is busy with it
    started: datetime | None = None
    last_activity: datetime | None = None


@dataclass(frozen=True)
class HubUser:
    name: str
    admin: bool = False
    servers: tuple[HubServer, ...] = field(default_factory=tuple)


class HubReader(Protocol):
    def users(self) -> Iterator[HubUser]: ...

    def user(self, name: str) -> HubUser | None: ...


class S3Reader(Protocol):
    def head(self, key: str) -> StoredObject | None: ...

    def objects(self, prefix: str = "") -> Iterator[StoredObject]: ...

    def get_bytes(self, key: str) -> bytes: ...

    def uploads(self, prefix: str = "") -> Iterator[StoredUpload]: ...


class EmptyCluster:
    """A cluster with nothing in it."""

    def get(self, api_version: str, kind: str, name: str,
            namespace: str = "") -> KubeObject | None:
        return None

    def list(self, api_version: str, kind: str, namespace: str = "", label_selector: str = "",
             field_selector: str = "") -> Iterator[KubeObject]:
        return iter(())


class EmptyHub:
    """A hub with no users, so nobody running."""

    def users(self) -> Iterator[HubUser]:
        return iter(())

    def user(self, name: str) -> HubUser | None:
        return None


class EmptyBucket:
    def head(self, key: str) -> StoredObject | None:
        return None

    def objects(self, prefix: str = "") -> Iterator[StoredObject]:
        return iter(())

    def get_bytes(self, key: str) -> bytes:
        raise KeyError(key)

    def uploads(self, prefix: str = "") -> Iterator[StoredUpload]:
        return iter(())
