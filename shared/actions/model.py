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
    parallel: ClassVar[bool] = False  # may run beside its neighbours of the same kind
    ledger_kind: ClassVar[str] = ""  # the ledger's kind of this action ("": its verb)

    def regarding(self) -> tuple[str, str, str, str] | None:
        """(apiVersion, kind, name, namespace) a failure is reported on, as an Event."""
        return None

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


# -- warm-up (issue 14) ------------------------------------------------------------------------
@dataclass(frozen=True, repr=False)  # Action's repr: redacted
class HoldPlaceholders(Action):
    """Hold `replicas` placeholders, and say why: the warm state goes onto the workload as
    annotations (server-side apply as `classops-warmup`, so they survive a redeploy or a
    `helm upgrade`), the count through the scale subresource. Its Event carries `why`."""

    verb: ClassVar[str] = "hold"
    namespace: str
    name: str
    replicas: int
    why: str
    annotations: Mapping[str, str] = field(default_factory=dict)
    kind: str = "StatefulSet"
    api_version: str = "apps/v1"
    field_manager: str = WARMUP_MANAGER

    @property
    def target(self) -> str:
        return f"{self.kind.lower()} {self.namespace}/{self.name}"

    def detail(self) -> str:
        return f"replicas={self.replicas}: {self.why}"
# -- end warm-up ------------------------------------------------------------------------------


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
    """Create the snapshot (an existing one of that name is the same snapshot) and, with
    `ready_timeout`, wait until it is `readyToUse`: its outcome is then "a usable snapshot or a
    failure", one Result per PVC. Snapshots run `workers` at a time (`parallel`), which also
    bounds how many the storage backend cuts at once."""

    verb: ClassVar[str] = "snapshot"
    parallel: ClassVar[bool] = True
    ledger_kind: ClassVar[str] = "snapshot"
    namespace: str
    name: str  # deterministic: snapshot_name(claim, purpose, at)
    claim: str
    snapshot_class: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    ready_timeout: float = 0.0  # seconds to wait for readyToUse; 0: do not wait

    @property
    def target(self) -> str:
        return f"volumesnapshot {self.namespace}/{self.name}"

    def detail(self) -> str:
        wait = f", ready within {self.ready_timeout:g} s" if self.ready_timeout else ""
        return f"of pvc {self.claim}{wait}"

    def regarding(self) -> tuple[str, str, str, str] | None:
        return ("v1", "PersistentVolumeClaim", self.claim, self.namespace)

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
    user: str = ""  # the student's raw username (the ledger files the deletion under it)
    server: str = ""  # "" : the default server (or a snapshot of no student's)

    @property
    def target(self) -> str:
        return f"volumesnapshot {self.namespace}/{self.name}"


@dataclass(frozen=True, repr=False)  # Action's repr: redacted
class RunArchiveJob(Action):
    """Start the Job that copies snapshots to S3; a Job of that name already there is the same
    copy, not a new one. For a batch (issue 16, `shared.archive.copy_jobs`): `claims` are the
    scratch PVCs restored from the snapshots, made first and deleted once the Job has ended;
    with `wait_seconds` the applier waits for the end and reads each student's outcome from
    the worker's summary (the Job's log), and fails when any student's copy failed."""

    verb: ClassVar[str] = "run"
    parallel: ClassVar[bool] = True  # Jobs run beside each other, `workers` at a time
    ledger_kind: ClassVar[str] = "copy"
    job: Mapping[str, Any]
    user: str  # one student's Job; "" for a batch (`users`)
    snapshot: str
    key: str  # the archive's S3 key, or the course prefix for a batch
    claims: tuple[Mapping[str, Any], ...] = ()
    users: tuple[str, ...] = ()  # a batch's students (USER or USER/SERVER)
    wait_seconds: float = 0.0

    @property
    def target(self) -> str:
        return _manifest_target(self.job)

    def detail(self) -> str:
        if self.users:
            return (f"archive {len(self.users)} students ({', '.join(self.users[:3])}"
                    f"{', ...' if len(self.users) > 3 else ''}) from their newest snapshots "
                    f"to {self.key}/")
        return f"archive {self.user} from {self.snapshot} to {self.key}"


@dataclass(frozen=True, repr=False)  # Action's repr: redacted
class DeletePVC(Action):
    verb: ClassVar[str] = "delete"
    destructive: ClassVar[bool] = True
    namespace: str
    name: str
    uid: str = ""  # precondition: the claim that was verified, not a new one of the same name
    user: str = ""  # whose home it is: the ledger files the deletion under the student
    server: str = ""

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


# -- after term (issue 17): waits that order the term's end ------------------------------------
@dataclass(frozen=True, repr=False)  # Action's repr: redacted
class AwaitUnmounted(Action):
    """Wait until no running pod mounts any of `claims` (servers stopped, the hub scaled
    down), so a snapshot taken next is of files nobody is writing."""

    verb: ClassVar[str] = "await"
    namespace: str
    claims: tuple[str, ...]
    timeout: float = 600.0

    @property
    def target(self) -> str:
        return f"pods {self.namespace} (mounting {len(self.claims)} claim(s))"

    def detail(self) -> str:
        return f"none mounting, within {self.timeout:g} s"


@dataclass(frozen=True, repr=False)  # Action's repr: redacted
class ReleaseForTeardown(Action):
    """Before a teardown deletes a verified user's PVC: annotate it with its final archive and
    drop classops's own last-snapshot finalizer, in one write, so the deletion neither waits
    on nor makes another snapshot of files already archived and verified."""

    verb: ClassVar[str] = "release"
    namespace: str
    name: str
    uid: str
    archive: str  # the verified final archive's key
    annotation: str = "classops.edu/final-archive"
    finalizer: str = "classops.edu/last-snapshot"

    @property
    def target(self) -> str:
        return f"persistentvolumeclaim {self.namespace}/{self.name}"

    def detail(self) -> str:
        return f"archived as {self.archive}"


# -- after term (issue 17): retained snapshot contents ---------------------------------------
@dataclass(frozen=True, repr=False)  # Action's repr: redacted
class DeleteSnapshotContent(Action):
    """Delete a VolumeSnapshotContent (cluster-scoped) and the stored snapshot behind it.

    A `Retain` content outlives its VolumeSnapshot, and deleting the content alone leaves the
    stored snapshot too (the CSI sidecar deletes storage only for `Delete` contents): so its
    deletionPolicy is set to `Delete` first, then the content deleted (`uid`: only that very
    content, re-read before each step)."""

    verb: ClassVar[str] = "delete"
    destructive: ClassVar[bool] = True
    name: str
    uid: str
    user: str = ""  # the student's raw username (the ledger files the deletion under it)
    server: str = ""
    snapshot: str = ""  # NAMESPACE/NAME of the VolumeSnapshot it was taken for (for people)

    @property
    def target(self) -> str:
        return f"volumesnapshotcontent {self.name}"

    def detail(self) -> str:
        return f"retained for {self.snapshot}" if self.snapshot else ""
# -- end retained snapshot contents ----------------------------------------------------------


@dataclass(frozen=True, repr=False)  # Action's repr: redacted
class AwaitSnapshotsReady(Action):
    """Wait until every named VolumeSnapshot is `readyToUse`; one with `status.error` fails."""

    verb: ClassVar[str] = "await"
    namespace: str
    names: tuple[str, ...]
    timeout: float = 1800.0

    @property
    def target(self) -> str:
        return f"volumesnapshots {self.namespace} ({len(self.names)})"

    def detail(self) -> str:
        return f"ready to use, within {self.timeout:g} s"
# -- backup (issue 15): classops's finalizer on user PVCs and the last snapshot ---------------
@dataclass(frozen=True, repr=False)  # Action's repr: redacted
class SetFinalizer(Action):
    """Add (`present`) or remove a finalizer of classops's own on an object, by read and
    update with its resourceVersion (a 409 is retried whole); `uid` pins the object seen."""

    verb: ClassVar[str] = "finalize"
    namespace: str
    name: str
    finalizer: str
    present: bool = True
    uid: str = ""
    api_version: str = "v1"
    kind: str = "PersistentVolumeClaim"

    @property
    def target(self) -> str:
        return f"{self.kind.lower()} {self.namespace}/{self.name}"

    def detail(self) -> str:
        return f"{'add' if self.present else 'remove'} finalizer {self.finalizer}"


@dataclass(frozen=True, repr=False)  # Action's repr: redacted
class FinalSnapshot(Action):
    """The last snapshot of a PVC being deleted, then its finalizer removed.

    The snapshot is taken and awaited (`snapshot.ready_timeout`), its content's deletionPolicy
    set to `Retain` (the files outlive the snapshot object), and only then the finalizer goes.
    A PVC never waits on classops forever: once `bound_seconds` have passed since the snapshot
    was taken without it being ready, the finalizer is removed anyway and the action fails (a
    Warning Event, `classops_actions_total{action="FinalSnapshot",outcome="failed"}`, a ledger
    line and the failure webhook), so the operator hears of the one volume not kept."""

    verb: ClassVar[str] = "keep"
    ledger_kind: ClassVar[str] = "snapshot"
    snapshot: CreateVolumeSnapshot
    uid: str  # the claim's uid: a new claim of the same name is not released
    finalizer: str
    bound_seconds: float = 600.0

    @property
    def target(self) -> str:
        return f"persistentvolumeclaim {self.snapshot.namespace}/{self.snapshot.claim}"

    @property
    def user(self) -> str:
        return str(self.snapshot.annotations.get("hub.jupyter.org/username", ""))

    @property
    def server(self) -> str:
        return str(self.snapshot.annotations.get("hub.jupyter.org/servername", ""))

    @property
    def name(self) -> str:
        return self.snapshot.name

    @property
    def claim(self) -> str:
        return self.snapshot.claim

    def detail(self) -> str:
        return (f"last snapshot {self.snapshot.name} (content Retain), then remove "
                f"{self.finalizer}; waits at most {self.bound_seconds:g} s")

    def regarding(self) -> tuple[str, str, str, str] | None:
        return ("v1", "PersistentVolumeClaim", self.snapshot.claim, self.snapshot.namespace)


# -- copies (issue 16): the restore drill ----------------------------------------------------
@dataclass(frozen=True, repr=False)  # Action's repr: redacted
class RestoreDrill(Action):
    """Restore one student's newest copy (`prefix/user[/server]` in the configured bucket) to a
    scratch folder, compare every byte with its manifest, remove the folder. A copy that does
    not restore as its manifest says fails the action: a failed outcome in the ledger and to
    the failure webhook. `seed` (the drill event's id) is how the student was chosen."""

    verb: ClassVar[str] = "drill"
    ledger_kind: ClassVar[str] = "drill"
    prefix: str  # COURSE/TERM
    user: str
    server: str = ""
    seed: str = ""

    @property
    def target(self) -> str:
        who = f"{self.user}/{self.server}" if self.server else self.user
        return f"copy {self.prefix}/{who}"

    def detail(self) -> str:
        return "restore the newest copy to a scratch folder and compare it with its manifest"


# -- copies retention (issue 16): older copies and garbage deleted from S3 ---------------------
@dataclass(frozen=True, repr=False)  # Action's repr: redacted
class DeleteCopy(Action):
    """Delete one student's copy from S3, or what a failed copy left (an archive without a
    manifest, a stray marker): `keys` in their order, the marker first, then the manifest (the
    copy stops being committed), the archive last, so a crash halfway leaves an archive without
    a manifest (garbage, swept later), never a manifest without its archive.

    The plan is checked again just before: none of `absent` (a garbage archive's manifest) may
    have appeared, and no key may have been written after `seen` (the newest write the plan
    saw): a copy re-run since then is left alone. With `upload`, the unfinished multipart
    upload of `key` is aborted instead (its parts freed). Recorded in the ledger as a `delete` (its
    verb), not a `copy`: a copy record that succeeded moves the student's newest copy."""

    verb: ClassVar[str] = "delete"
    destructive: ClassVar[bool] = True
    user: str
    server: str
    timestamp: str
    kind: str  # copy | garbage | marker (copies_policy.CopyDecision.kind)
    key: str  # the one that names it: the archive (or the manifest, the marker)
    keys: tuple[str, ...]
    why: str
    absent: tuple[str, ...] = ()
    seen: str = ""  # ISO 8601
    upload: str = ""  # kind "parts": abort this unfinished multipart upload of `key` instead

    @property
    def target(self) -> str:
        return f"{self.kind} {self.key}"

    def detail(self) -> str:
        return f"{self.why} ({len(self.keys)} object{'s' if len(self.keys) != 1 else ''})"
# -- end copies retention ----------------------------------------------------------------------
