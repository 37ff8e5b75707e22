"""Every trigger becomes a CloudEvent here, and every CloudEvent a typed event.

- `from_occurrence`: a timetable firing. Its id is the Occurrence's own (`<trigger>@<at>`), its
  source names the trigger (`/timetable/<trigger>`), its time is the firing's instant.
- `from_watch`: a list+watch change. Id `<uid>/<resourceVersion>`, source the object's API path,
  subject `namespace/name`, data the object; the time is the caller's clock (a watch event carries
  none), passed in.
- `typed`: a CloudEvent (from any of the above or from the webhook) to `ClassEvent`/`WatchEvent`,
  its data checked against the catalogue. The SDK fills a missing `time` with the wall clock; we
  always pass it, so nothing here reads a clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from cloudevents.core.base import BaseCloudEvent
from cloudevents.core.v1.event import CloudEvent

from shared.timetable.occurrences import Occurrence  # the module: the package imports us back

from .catalogue import SCHEMAS, WATCH_PREFIX, EventDataError, parse_watch_type, watch_type
from .model import ClassEvent, Event, KubeObject, WatchEvent

TIMETABLE_SOURCE = "/timetable/"


class UnknownEventType(ValueError):
    """A type outside the catalogue: nothing would handle it, so refuse it at the edge."""


def from_occurrence(occurrence: Occurrence) -> CloudEvent:
    return CloudEvent({
        "id": occurrence.id, "type": occurrence.type,
        "source": TIMETABLE_SOURCE + occurrence.trigger, "subject": occurrence.subject,
        "time": occurrence.at, "datacontenttype": "application/json",
    }, dict(occurrence.data))


def group_of(api_version: str) -> str:
    """`core` for the core API (`v1`), else the group (`apps/v1` -> `apps`)."""
    return api_version.rpartition("/")[0] or "core"


def api_path(api_version: str, plural: str, name: str, namespace: str = "") -> str:
    """The object's path on the API server, e.g. `/apis/apps/v1/namespaces/ns/statefulsets/x`."""
    root = f"/apis/{api_version}" if "/" in api_version else f"/api/{api_version}"
    scope = f"/namespaces/{namespace}" if namespace else ""
    return f"{root}{scope}/{plural}/{name}"


def from_watch(action: str, obj: Mapping[str, Any], plural: str, now: datetime) -> CloudEvent:
    """A watch event (`ADDED`, `MODIFIED`, `DELETED`) on `obj`, a resource named `plural`."""
    o = KubeObject(obj)
    if not (o.api_version and o.kind and o.name and o.uid and o.resource_version):
        raise ValueError("a watched object needs apiVersion, kind, name, uid and resourceVersion")
    return CloudEvent({
        "id": f"{o.uid}/{o.resource_version}",
        "type": watch_type(group_of(o.api_version), o.kind, action.lower()),
        "source": api_path(o.api_version, plural, o.name, o.namespace),
        "subject": f"{o.namespace}/{o.name}" if o.namespace else o.name,
        "time": now, "datacontenttype": "application/json",
    }, dict(obj))


def typed(event: BaseCloudEvent) -> Event:
    """The typed event for a CloudEvent; `EventDataError` or `UnknownEventType` at the edge."""
    kind, data = event.get_type(), event.get_data()
    time = event.get_time()
    if time is None:
        raise EventDataError(kind, ["the event has no time"])
    subject = event.get_subject() or ""
    if kind.startswith(WATCH_PREFIX):
        parse_watch_type(kind)
        if not isinstance(data, dict):
            raise EventDataError(kind, ["data must be the Kubernetes object"])
        return WatchEvent(event.get_id(), kind, event.get_source(), subject, time,
                          KubeObject(data))
    schema = SCHEMAS.get(kind)
    if schema is None:
        raise UnknownEventType(f"{kind!r} is not in the classops event catalogue")
    return ClassEvent(event.get_id(), kind, event.get_source(), subject, time,
                      schema.parse(kind, data))
