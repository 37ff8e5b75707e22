"""What a handler receives: typed events, never raw dicts or client model objects.

`ClassEvent[D]` is an `edu.classops.*` event (a timetable firing, or the same type POSTed by the
calendar) whose `data` is the type's schema `D`; `WatchEvent` is an `io.k8s.*` event whose
`object` is a `KubeObject`. Both keep the CloudEvents attributes (`id`, `source`, ...), and
`to_cloudevent()` gives the SDK's object back for transport.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from cloudevents.core.v1.event import CloudEvent

from .catalogue import Schema, parse_watch_type

S = TypeVar("S", bound=Schema)


def _cloudevent(id: str, type: str, source: str, subject: str, time: datetime,
                data: dict[str, Any]) -> CloudEvent:
    return CloudEvent({"id": id, "type": type, "source": source, "subject": subject,
                       "time": time, "datacontenttype": "application/json"}, data)


@dataclass(frozen=True)
class ClassEvent(Generic[S]):
    id: str
    type: str
    source: str
    subject: str
    time: datetime
    data: S

    @property
    def key(self) -> tuple[str, str]:
        """What dedupe compares: (source, id), as CloudEvents defines uniqueness."""
        return (self.source, self.id)

    def to_cloudevent(self) -> CloudEvent:
        return _cloudevent(self.id, self.type, self.source, self.subject, self.time,
                           self.data.to_data())


@dataclass(frozen=True)
class KubeObject:
    """A Kubernetes object as read from the API, with the metadata handlers ask for typed."""

    raw: Mapping[str, Any]

    @property
    def api_version(self) -> str:
        return str(self.raw.get("apiVersion", ""))

    @property
    def kind(self) -> str:
        return str(self.raw.get("kind", ""))

    @property
    def metadata(self) -> Mapping[str, Any]:
        meta = self.raw.get("metadata")
        return meta if isinstance(meta, Mapping) else {}

    @property
    def name(self) -> str:
        return str(self.metadata.get("name", ""))

    @property
    def namespace(self) -> str:
        return str(self.metadata.get("namespace", ""))

    @property
    def uid(self) -> str:
        return str(self.metadata.get("uid", ""))

    @property
    def resource_version(self) -> str:
        return str(self.metadata.get("resourceVersion", ""))

    @property
    def labels(self) -> Mapping[str, str]:
        return self.metadata.get("labels") or {}

    @property
    def annotations(self) -> Mapping[str, str]:
        return self.metadata.get("annotations") or {}

    @property
    def spec(self) -> Mapping[str, Any]:
        return self.raw.get("spec") or {}

    @property
    def status(self) -> Mapping[str, Any]:
        return self.raw.get("status") or {}


@dataclass(frozen=True)
class WatchEvent:
    id: str  # <uid>/<resourceVersion>
    type: str  # io.k8s.<group>.<kind>.added|modified|deleted
    source: str  # the object's API path
    subject: str  # namespace/name, or name for a cluster-scoped object
    time: datetime
    object: KubeObject

    @property
    def key(self) -> tuple[str, str]:
        return (self.source, self.id)

    @property
    def group(self) -> str:
        return parse_watch_type(self.type)[0]

    @property
    def kind(self) -> str:
        """The kind in lower case, as in the type."""
        return parse_watch_type(self.type)[1]

    @property
    def action(self) -> str:
        return parse_watch_type(self.type)[2]

    def to_cloudevent(self) -> CloudEvent:
        return _cloudevent(self.id, self.type, self.source, self.subject, self.time,
                           dict(self.object.raw))


Event = ClassEvent[Any] | WatchEvent
