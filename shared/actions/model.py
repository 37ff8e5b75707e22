"""Actions: what a handler decided, as data. The executor does them; the dry run prints them.

Each is a frozen dataclass whose names are deterministic (given by the handler from the event, e.g.
`snapshot_name("claim-alice", "nightly", at)`), so doing the same event twice names the same
objects and the second time finds them done. Each describes itself: `describe()` is one line for a
table, `as_dict()` is JSON. `destructive` marks the ones that lose data or interrupt a student;
the dry run flags them and a later `--confirm` gate can refuse them.

Manifests are JSON objects (dicts) held in frozen dataclasses: the dataclass is frozen, the dict is
the handler's to not mutate; actions are compared, never hashed.

Secrets never leave Secrets: an Action may carry a Secret's manifest (the stack's generated
tokens), but what it says about itself (`as_dict`, `describe`, its repr) names the Secret and its
keys only, with each value's length (`redacted`); the applier alone reads the values. A new
Action is `@dataclass(frozen=True, repr=False)`, so it keeps that repr (a test checks).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar

#: Field managers per purpose, so server-side apply keeps each owner's fields apart.
DEPLOY_MANAGER = "classops"
WARMUP_MANAGER = "classops-warmup"


def snapshot_name(claim: str, purpose: str, at: datetime) -> str:
    """`claim-alice-nightly-20261012t0200`: the claim, why, and when (UTC, to the minute)."""
    return f"{claim}-{purpose}-{at.astimezone(UTC):%Y%m%dt%H%M}"


@dataclass(frozen=True)
class Action:
    verb: ClassVar[str] = "act"
    destructive: ClassVar[bool] = False

    @property
    def target(self) -> str:
        """What the action touches, e.g. `statefulset cs101/user-placeholder`."""
        raise NotImplementedError

    def detail(self) -> str:
        return ""

    def describe(self) -> str:
        mark = "! " if self.destructive else ""
        text = f"{mark}{self.verb} {self.target}"
        return f"{text}: {self.detail()}" if self.detail() else text

    def as_dict(self) -> dict[str, Any]:
        """JSON for plans and outcome records, with every Secret's values `redacted`."""
        fields = {k: redacted(v) for k, v in dataclasses.asdict(self).items()}
        return {"action": type(self).__name__, "verb": self.verb, "target": self.target,
                "destructive": self.destructive, **fields}

    def __repr__(self) -> str:
        # The dataclass repr would print a Secret's values into any log line or traceback.
        fields = ", ".join(f"{f.name}={redacted(getattr(self, f.name))!r}"
                           for f in dataclasses.fields(self))
        return f"{type(self).__name__}({fields})"


def redacted(value: Any) -> Any:
    """`value` with each Secret manifest in it (at any depth) cut to its name and keys: every
    `data`/`stringData` value is replaced by `<secret, N chars>`."""
    if isinstance(value, Mapping):
        if value.get("kind") == "Secret":
            return {k: ({key: f"<secret, {len(str(v))} chars>" for key, v in value[k].items()}
                        if k in ("data", "stringData") and isinstance(value[k], Mapping)
                        else redacted(value[k]))
                    for k in value}
        return {k: redacted(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redacted(v) for v in value]
    return value


@dataclass(frozen=True, repr=False)  # Action's repr: redacted
class ScaleWorkload(Action):
    """Set replicas through the scale subresource (the rendered workload carries none)."""

    verb: ClassVar[str] = "scale"
    namespace: str
    name: str
    replicas: int
    kind: str = "StatefulSet"
    api_version: str = "apps/v1"
    field_manager: str = WARMUP_MANAGER

    @property
    def target(self) -> str:
        return f"{self.kind.lower()} {self.namespace}/{self.name}"

    def detail(self) -> str:
        return f"replicas={self.replicas}"


def _manifest_target(manifest: Mapping[str, Any]) -> str:
    meta = manifest.get("metadata") or {}
    where = f"{meta['namespace']}/" if meta.get("namespace") else ""
    return f"{str(manifest.get('kind', '?')).lower()} {where}{meta.get('name', '?')}"


@dataclass(frozen=True, repr=False)  # Action's repr: redacted
class ApplyManifest(Action):
    """Server-side apply of one object, owned by `field_manager`."""

    verb: ClassVar[str] = "apply"
    manifest: Mapping[str, Any]
    field_manager: str = DEPLOY_MANAGER
    force: bool = True

    @property
    def target(self) -> str:
        return _manifest_target(self.manifest)

    def detail(self) -> str:
        return f"as {self.field_manager}"


@dataclass(frozen=True, repr=False)  # Action's repr: redacted
class CreateObject(Action):
    """Create if absent; an existing object of that name is left as it is."""

    verb: ClassVar[str] = "create"
    manifest: Mapping[str, Any]

    @property
    def target(self) -> str:
        return _manifest_target(self.manifest)


@dataclass(frozen=True, repr=False)  # Action's repr: redacted
class DeleteObject(Action):
    """Delete if present; `uid` (if given) makes sure it is the object the handler saw."""

    verb: ClassVar[str] = "delete"
    destructive: ClassVar[bool] = True
    api_version: str
    kind: str
    name: str
    namespace: str = ""
    uid: str = ""

    @property
    def target(self) -> str:
        where = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind.lower()} {where}{self.name}"


@dataclass(frozen=True, repr=False)  # Action's repr: redacted
class CreateVolumeSnapshot(Action):
    verb: ClassVar[str] = "snapshot"
    namespace: str
    name: str  # deterministic: snapshot_name(claim, purpose, at)
    claim: str
    snapshot_class: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)

    @property
    def target(self) -> str:
        return f"volumesnapshot {self.namespace}/{self.name}"

    def detail(self) -> str:
        return f"of pvc {self.claim}"

    def manifest(self) -> dict[str, Any]:
        spec: dict[str, Any] = {"source": {"persistentVolumeClaimName": self.claim}}
        if self.snapshot_class:
            spec["volumeSnapshotClassName"] = self.snapshot_class
        return {"apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshot",
                "metadata": {"name": self.name, "namespace": self.namespace,
                             "labels": dict(self.labels), "annotations": dict(self.annotations)},
                "spec": spec}


@dataclass(frozen=True, repr=False)  # Action's repr: redacted
class DeleteVolumeSnapshot(Action):
    verb: ClassVar[str] = "delete"
    destructive: ClassVar[bool] = True
    namespace: str
    name: str

    @property
    def target(self) -> str:
        return f"volumesnapshot {self.namespace}/{self.name}"


@dataclass(frozen=True, repr=False)  # Action's repr: redacted
class RunArchiveJob(Action):
    """Start the Job that copies one user's snapshot to S3 (its manifest, rendered by the
    backup capability); a Job of that name already there is the same copy, not a new one."""

    verb: ClassVar[str] = "run"
    job: Mapping[str, Any]
    user: str
    snapshot: str
    key: str  # the archive's S3 key

    @property
    def target(self) -> str:
        return _manifest_target(self.job)

    def detail(self) -> str:
        return f"archive {self.user} from {self.snapshot} to {self.key}"


@dataclass(frozen=True, repr=False)  # Action's repr: redacted
class DeletePVC(Action):
    verb: ClassVar[str] = "delete"
    destructive: ClassVar[bool] = True
    namespace: str
    name: str
    uid: str = ""  # precondition: the claim that was verified, not a new one of the same name

    @property
    def target(self) -> str:
        return f"persistentvolumeclaim {self.namespace}/{self.name}"


@dataclass(frozen=True, repr=False)  # Action's repr: redacted
class StopServer(Action):
    """Stop a user's server through the hub's API (its home directory stays)."""

    verb: ClassVar[str] = "stop"
    destructive: ClassVar[bool] = True  # the student's running kernels are lost
    user: str
    server: str = ""  # "" is the default server

    @property
    def target(self) -> str:
        return f"server {self.user}/{self.server}" if self.server else f"server {self.user}"


@dataclass(frozen=True, repr=False)  # Action's repr: redacted
class EmitEvent(Action):
    """Emit a follow-up CloudEvent (e.g. `backup.copy` after the snapshots are ready)."""

    verb: ClassVar[str] = "emit"
    type: str
    id: str
    subject: str
    data: Mapping[str, Any] = field(default_factory=dict)
    source: str = "/classops/functions"

    @property
    def target(self) -> str:
        return f"event {self.type.removeprefix('edu.classops.')}"

    def detail(self) -> str:
        return f"{self.subject} ({self.id})"
