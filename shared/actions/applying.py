"""How each Action is done through the ports: compute first, write once, "already so" is success.

Each applier returns a `Done`: `changed` (something was written), the object it touched (for the
Kubernetes Event) and a short detail. An applier is itself idempotent (it reads, then writes only
what differs), so the executor may retry it whole after a 409/429/5xx.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from cloudevents.core.v1.event import CloudEvent

from shared.actions.model import (
    Action,
    ApplyManifest,
    CreateObject,
    CreateVolumeSnapshot,
    DeleteObject,
    DeletePVC,
    DeleteVolumeSnapshot,
    EmitEvent,
    RunArchiveJob,
    ScaleWorkload,
    StopServer,
)
from shared.events import KubeObject
from shared.ports.errors import ApiError

if TYPE_CHECKING:  # the client loads only where a Kube is made (`classops plan` never does)
    from shared.ports.kube import Kube


class HubWriter(Protocol):
    def stop_server(self, user: str, server: str = "") -> bool: ...


class Refused(Exception):
    """The action cannot be done as asked (not worth a retry), e.g. a uid precondition failed."""


@dataclass(frozen=True)
class Ref:
    api_version: str
    kind: str
    name: str
    namespace: str = ""
    uid: str = ""

    @classmethod
    def of(cls, obj: KubeObject) -> Ref:
        return cls(obj.api_version, obj.kind, obj.name, obj.namespace, obj.uid)

    def as_dict(self) -> dict[str, str]:
        found = {"apiVersion": self.api_version, "kind": self.kind, "name": self.name,
                 "namespace": self.namespace, "uid": self.uid}
        return {k: v for k, v in found.items() if v}


@dataclass(frozen=True)
class Done:
    changed: bool
    touched: Ref | None = None
    detail: str = ""


@dataclass
class Ports:
    kube: Kube
    hub: HubWriter | None = None
    emit: Callable[[CloudEvent], None] | None = None
    clock: Callable[[], Any] | None = None


def _ref(manifest: Mapping[str, Any], uid: str = "") -> Ref:
    meta = manifest.get("metadata") or {}
    return Ref(manifest["apiVersion"], manifest["kind"], meta.get("name", ""),
               meta.get("namespace", ""), uid)


def scale(p: Ports, a: ScaleWorkload) -> Done:
    ref = Ref(a.api_version, a.kind, a.name, a.namespace)
    now = p.kube.scale(a.api_version, a.kind, a.name, a.namespace)
    if now == a.replicas:
        return Done(False, ref, f"already {now}")
    p.kube.set_scale(a.api_version, a.kind, a.name, a.namespace, a.replicas, a.field_manager)
    return Done(True, ref, f"{now} -> {a.replicas}")


def apply(p: Ports, a: ApplyManifest) -> Done:
    m, meta = a.manifest, a.manifest.get("metadata") or {}
    before = p.kube.get(m["apiVersion"], m["kind"], meta["name"], meta.get("namespace", ""))
    after = p.kube.apply(m, a.field_manager, a.force)
    if before is None:
        return Done(True, Ref.of(after), "created")
    changed = after.resource_version != before.resource_version
    return Done(changed, Ref.of(after), "updated" if changed else "unchanged")


def create(p: Ports, manifest: Mapping[str, Any]) -> Done:
    try:
        made = p.kube.create(manifest)
    except ApiError as err:
        if err.already_exists:
            return Done(False, _ref(manifest), "exists")
        raise
    return Done(True, Ref.of(made), "created")


def delete(p: Ports, api_version: str, kind: str, name: str, namespace: str,
           uid: str = "") -> Done:
    found = p.kube.get(api_version, kind, name, namespace)
    if found is None:
        return Done(False, None, "already gone")
    if uid and found.uid != uid:
        raise Refused(f"{kind} {namespace}/{name} is another object now (uid {found.uid}, "
                      f"expected {uid})")
    if found.metadata.get("deletionTimestamp"):
        return Done(False, Ref.of(found), "already being deleted")
    try:
        p.kube.delete(api_version, kind, name, namespace, uid or found.uid)
    except ApiError as err:
        if err.not_found:
            return Done(False, None, "already gone")
        raise
    return Done(True, Ref.of(found), "deleted")


def stop(p: Ports, a: StopServer) -> Done:
    if p.hub is None:
        raise Refused("no hub is configured (CLASSOPS_HUB_API_URL)")
    stopped = p.hub.stop_server(a.user, a.server)
    return Done(stopped, None, "stopping" if stopped else "not running")


def emit(p: Ports, a: EmitEvent) -> Done:
    if p.emit is None or p.clock is None:
        raise Refused("no event sink is configured")
    p.emit(CloudEvent({"id": a.id, "type": a.type, "source": a.source, "subject": a.subject,
                       "time": p.clock(), "datacontenttype": "application/json"},
                      dict(a.data)))
    return Done(True, None, "emitted")


def do(ports: Ports, action: Action) -> Done:
    """Apply one action with its applier (one `case` per Action type)."""
    match action:
        case ScaleWorkload():
            return scale(ports, action)
        case ApplyManifest():
            return apply(ports, action)
        case CreateObject():
            return create(ports, action.manifest)
        case CreateVolumeSnapshot():
            return create(ports, action.manifest())
        case RunArchiveJob():
            return create(ports, action.job)
        case DeleteVolumeSnapshot():
            return delete(ports, "snapshot.storage.k8s.io/v1", "VolumeSnapshot", action.name,
                          action.namespace)
        case DeletePVC():
            return delete(ports, "v1", "PersistentVolumeClaim", action.name, action.namespace,
                          action.uid)
        case DeleteObject():
            return delete(ports, action.api_version, action.kind, action.name, action.namespace,
                          action.uid)
        case StopServer():
            return stop(ports, action)
        case EmitEvent():
            return emit(ports, action)
    raise Refused(f"no applier for {type(action).__name__}")
