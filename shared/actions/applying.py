"""How each Action is done through the ports: compute first, write once, "already so" is success.

Each applier returns a `Done`: `changed` (something was written), the object it touched (for the
Kubernetes Event) and a short detail. An applier is itself idempotent (it reads, then writes only
what differs), so the executor may retry it whole after a 409/429/5xx.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from cloudevents.core.v1.event import CloudEvent

from shared.actions.model import (
    Action,
    ApplyManifest,
    AwaitSnapshotsReady,
    AwaitUnmounted,
    CreateObject,
    CreateVolumeSnapshot,
    DeleteCopy,
    DeleteObject,
    DeletePVC,
    DeleteSnapshotContent,
    DeleteVolumeSnapshot,
    EmitEvent,
    FinalSnapshot,
    HoldPlaceholders,
    ReleaseForTeardown,
    RestoreDrill,
    RunArchiveJob,
    ScaleWorkload,
    SetFinalizer,
    StopServer,
)
from shared.backup import naming  # pure: the label and annotation keys of snapshots
from shared.events import KubeObject
from shared.ports.errors import ApiError
from shared.timestamps import kube_time

if TYPE_CHECKING:  # the client loads only where a Kube is made (`classops plan` never does)
    from shared.ports.kube import Kube


class HubWriter(Protocol):
    def stop_server(self, user: str, server: str = "") -> bool: ...


class Refused(Exception):
    """The action cannot be done as asked (not worth a retry), e.g. a uid precondition failed.
    `parts`: each student's own outcome when the action served several (a batch's copy)."""

    def __init__(self, message: str, parts: tuple[Part, ...] = ()) -> None:
        super().__init__(message)
        self.parts = parts


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
class Part:
    """One student's share of an action that serves several (a batch's copy Job): their own
    outcome (changed, unchanged, failed), detail and refs (names and keys only), so the ledger
    files a record per student instead of one for the whole batch."""

    user: str
    server: str
    outcome: str
    detail: str = ""
    target: str = ""
    refs: Mapping[str, str] = dataclasses.field(default_factory=dict)


@dataclass(frozen=True)
class Done:
    changed: bool
    touched: Ref | None = None
    detail: str = ""
    parts: tuple[Part, ...] = ()  # each student's outcome, for an action serving several


@dataclass
class Ports:
    kube: Kube
    hub: HubWriter | None = None
    emit: Callable[[CloudEvent], None] | None = None
    clock: Callable[[], Any] | None = None
    s3: Any = None  # the S3 port, when a bucket is configured (the ledger writes there)


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


# -- after term (issue 17): waits that order the term's end ------------------------------------
FINISHED = ("Succeeded", "Failed")


def _mounting(p: Ports, a: AwaitUnmounted) -> list[str]:
    wanted = set(a.claims)
    return [pod.name for pod in p.kube.list("v1", "Pod", a.namespace)
            if (pod.raw.get("status") or {}).get("phase") not in FINISHED
            and wanted & {v["persistentVolumeClaim"]["claimName"]
                          for v in (pod.raw.get("spec") or {}).get("volumes") or []
                          if v.get("persistentVolumeClaim")}]


def await_unmounted(p: Ports, a: AwaitUnmounted, interval: float = 1.0) -> Done:
    deadline = p.kube.monotonic() + a.timeout
    while found := _mounting(p, a):
        if p.kube.monotonic() >= deadline:
            raise TimeoutError(f"{len(found)} pod(s) still mount a claim after {a.timeout:g} s: "
                               f"{', '.join(sorted(found)[:5])}")
        p.kube.sleep(interval)
    return Done(False, None, "no pod mounts them")


def release(p: Ports, a: ReleaseForTeardown) -> Done:
    found = p.kube.get("v1", "PersistentVolumeClaim", a.name, a.namespace)
    if found is None:
        return Done(False, None, "already gone")
    if a.uid and found.uid != a.uid:
        raise Refused(f"persistentvolumeclaim {a.namespace}/{a.name} is another claim now")
    notes = dict(found.metadata.get("annotations") or {})
    held = list(found.metadata.get("finalizers") or [])
    if notes.get(a.annotation) == a.archive and a.finalizer not in held:
        return Done(False, Ref.of(found), "already released")
    meta = {**found.metadata, "annotations": {**notes, a.annotation: a.archive},
            "finalizers": [f for f in held if f != a.finalizer]}
    p.kube.replace({**found.raw, "metadata": meta})  # its resourceVersion: a race is a 409
    return Done(True, Ref.of(found), "released")


def delete_content(p: Ports, a: DeleteSnapshotContent) -> Done:
    """Policy `Delete` first (else the stored snapshot outlives the object), then the delete;
    each step on the content re-read, and only if it is still the one planned (`uid`).

    No Kubernetes Event (`touched` None): a cluster-scoped object's Events live in `default`,
    where classops holds no grant; the ledger files the deletion under the student."""
    found = p.kube.get(SNAPSHOTS, "VolumeSnapshotContent", a.name)
    if found is None:
        return Done(False, None, "already gone")
    if a.uid and found.uid != a.uid:
        raise Refused(f"volumesnapshotcontent {a.name} is another content now (uid "
                      f"{found.uid}, expected {a.uid})")
    if found.spec.get("deletionPolicy") != "Delete":
        try:  # the uid in the body: the API server takes it as a precondition
            p.kube.patch(SNAPSHOTS, "VolumeSnapshotContent", a.name, "",
                         {"metadata": {"uid": found.uid}, "spec": {"deletionPolicy": "Delete"}})
        except ApiError as err:
            if err.not_found:
                return Done(False, None, "already gone")
            raise
    if found.metadata.get("deletionTimestamp"):
        return Done(True, None, "already being deleted; its storage goes with it")
    try:
        p.kube.delete(SNAPSHOTS, "VolumeSnapshotContent", a.name, "", found.uid)
    except ApiError as err:
        if err.not_found:  # the snapshot controller deletes an orphaned Delete content itself
            return Done(True, None, "deleted (by the snapshot controller)")
        raise
    return Done(True, None, "deleted with its stored snapshot")


def await_snapshots(p: Ports, a: AwaitSnapshotsReady, interval: float = 1.0) -> Done:
    deadline, waiting = p.kube.monotonic() + a.timeout, set(a.names)
    while waiting:
        for name in sorted(waiting):
            found = p.kube.get("snapshot.storage.k8s.io/v1", "VolumeSnapshot", name, a.namespace)
            status = (found.raw.get("status") or {}) if found else {}
            if found is None:
                raise Refused(f"volumesnapshot {a.namespace}/{name} is gone")
            if status.get("error"):
                raise Refused(f"volumesnapshot {a.namespace}/{name} failed: "
                              f"{status['error'].get('message', status['error'])}")
            if status.get("readyToUse"):
                waiting.discard(name)
        if waiting and p.kube.monotonic() >= deadline:
            raise TimeoutError(f"{len(waiting)} snapshot(s) not ready after {a.timeout:g} s: "
                               f"{', '.join(sorted(waiting)[:5])}")
        if waiting:
            p.kube.sleep(interval)
    return Done(False, None, f"{len(a.names)} ready")
# -- warm-up (issue 14) ------------------------------------------------------------------------
def hold(p: Ports, a: HoldPlaceholders) -> Done:
    """Annotations first (the why is there before the count changes), then the scale."""
    found = p.kube.get(a.api_version, a.kind, a.name, a.namespace)
    if found is None:
        raise Refused(f"no {a.kind} {a.namespace}/{a.name} to hold placeholders in")
    ref = Ref.of(found)
    if any(found.annotations.get(k) != v for k, v in a.annotations.items()):
        p.kube.apply({"apiVersion": a.api_version, "kind": a.kind,
                      "metadata": {"name": a.name, "namespace": a.namespace,
                                   "annotations": dict(a.annotations)}}, a.field_manager)
    now = p.kube.scale(a.api_version, a.kind, a.name, a.namespace)
    if now == a.replicas:
        return Done(False, ref, f"already {now}")
    p.kube.set_scale(a.api_version, a.kind, a.name, a.namespace, a.replicas, a.field_manager)
    return Done(True, ref, f"{now} -> {a.replicas}")
# -- end warm-up ------------------------------------------------------------------------------


# -- backup (issue 15): snapshots awaited, finalizers, the last snapshot -----------------------
SNAPSHOTS = "snapshot.storage.k8s.io/v1"


def _snapshot_state(found: KubeObject | None) -> str:
    """"ready", "failed: <message>", "gone" or "" (still being cut)."""
    if found is None:
        return "gone"
    status = found.status
    if status.get("readyToUse") is True:
        return "ready"
    error = status.get("error")
    if isinstance(error, Mapping) and error.get("message"):
        return f"failed: {error['message']}"
    return ""


def snapshot(p: Ports, a: CreateVolumeSnapshot) -> Done:
    """Create, then watch it (one request for the whole wait) until ready or failed.

    Waiting lives here, not in a follow-up event, so that each PVC has one outcome (a usable
    snapshot, or why not) in the executor's Result, metric, Event and ledger line, and the CLI's
    exit code can say "every snapshot is usable"; the executor bounds how many wait at once.
    """
    made = create(p, a.manifest())
    if not a.ready_timeout:
        return made
    try:
        found = p.kube.watch_until(SNAPSHOTS, "VolumeSnapshot", a.name, a.namespace,
                                   lambda o: _snapshot_state(o) != "", a.ready_timeout)
    except TimeoutError:
        raise TimeoutError(f"volumesnapshot {a.namespace}/{a.name} not readyToUse after "
                           f"{a.ready_timeout:g} s") from None
    state = _snapshot_state(found)
    if state != "ready":
        raise Refused(f"volumesnapshot {a.namespace}/{a.name} {state}")
    size = (found.status.get("restoreSize") or "") if found else ""
    return Done(made.changed, made.touched or Ref(SNAPSHOTS, "VolumeSnapshot", a.name,
                                                  a.namespace),
                f"{made.detail}, ready{f' ({size})' if size else ''}")


def set_finalizer(p: Ports, a: SetFinalizer) -> Done:
    found = p.kube.get(a.api_version, a.kind, a.name, a.namespace)
    if found is None:
        return Done(False, None, "already gone")
    if a.uid and found.uid != a.uid:
        raise Refused(f"{a.kind} {a.namespace}/{a.name} is another object now")
    held = list(found.metadata.get("finalizers") or [])
    if (a.finalizer in held) == a.present:
        return Done(False, Ref.of(found), "already so")
    if a.present and found.metadata.get("deletionTimestamp"):
        return Done(False, Ref.of(found), "being deleted: no finalizer may be added")
    held = [*held, a.finalizer] if a.present else [f for f in held if f != a.finalizer]
    # resourceVersion stays in the body: a concurrent writer makes this a 409, retried whole
    p.kube.replace({**found.raw, "metadata": {**found.metadata, "finalizers": held}})
    return Done(True, Ref.of(found), "added" if a.present else "removed")


def retain_content(p: Ports, found: KubeObject) -> str:
    """Set the bound content's deletionPolicy to Retain; its name."""
    content = str(found.status.get("boundVolumeSnapshotContentName") or "")
    if not content:
        raise Refused(f"volumesnapshot {found.namespace}/{found.name} has no content yet")
    live = p.kube.get(SNAPSHOTS, "VolumeSnapshotContent", content)
    # the owner goes on the content too (one write): once the VolumeSnapshot is gone the
    # content is all that names whose files it holds, and teardown finds it by that
    labels = {k: v for k, v in (found.metadata.get("labels") or {}).items()
              if k in OWNER_LABELS}
    notes = {k: v for k, v in (found.metadata.get("annotations") or {}).items()
             if k in OWNER_NOTES}
    notes[RETAINED_FOR] = f"{found.namespace}/{found.name}"
    if live is not None and (live.spec.get("deletionPolicy") != "Retain" or any(
            (live.metadata.get("annotations") or {}).get(k) != v for k, v in notes.items())):
        p.kube.patch(SNAPSHOTS, "VolumeSnapshotContent", content, "",
                     {"metadata": {"labels": labels, "annotations": notes},
                      "spec": {"deletionPolicy": "Retain"}})
    return content


#: What of a final snapshot's labels and annotations its retained content carries (the keys
#: the backup's naming writes on the snapshot).
OWNER_LABELS = (naming.MANAGED_BY, naming.USERNAME, naming.SERVERNAME, naming.REASON,
                naming.COURSE, naming.TERM)
OWNER_NOTES = (naming.USERNAME, naming.SERVERNAME, naming.CLAIM, naming.CLAIM_UID)
RETAINED_FOR = "classops.edu/snapshot"  # NAMESPACE/NAME of the snapshot it was retained for


def final_snapshot(p: Ports, a: FinalSnapshot) -> Done:
    """Take (or find) the last snapshot, wait for it within the bound, retain its content,
    then remove the finalizer; past the bound, remove it anyway and fail loudly.

    The bound counts from the snapshot's own creation, i.e. from classops's first attempt, not
    from the deletion: a classops that was away finds the PVC, and its data, still there."""
    s = a.snapshot
    claim = p.kube.get("v1", "PersistentVolumeClaim", s.claim, s.namespace)
    if claim is None or claim.uid != a.uid or a.finalizer not in (
            claim.metadata.get("finalizers") or []):
        return Done(False, None, "released already")
    release = SetFinalizer(s.namespace, s.claim, a.finalizer, False, a.uid)
    problem, content, touched = "", "", None
    try:
        made = create(p, s.manifest())
        touched = made.touched
        found = p.kube.get(SNAPSHOTS, "VolumeSnapshot", s.name, s.namespace)
        now = p.clock() if p.clock is not None else datetime.now(UTC)
        created = kube_time((found.metadata if found else {}).get("creationTimestamp")) or now
        left = a.bound_seconds - (now - created).total_seconds()
        if _snapshot_state(found) != "ready":
            if left <= 0:
                raise TimeoutError(f"not ready {a.bound_seconds:g} s after it was taken")
            snapshot(p, dataclasses.replace(s, ready_timeout=left))
            found = p.kube.get(SNAPSHOTS, "VolumeSnapshot", s.name, s.namespace)
        if found is None:
            raise Refused(f"volumesnapshot {s.namespace}/{s.name} vanished")
        content = retain_content(p, found)
    except ApiError as err:
        if err.retryable:
            raise  # the executor tries the whole action again
        problem = str(err)
    except (Refused, TimeoutError) as err:
        problem = str(err)
    set_finalizer(p, release)
    if problem:
        raise Refused(f"finalizer removed WITHOUT a last snapshot: {problem}")
    return Done(True, touched, f"last snapshot {s.name} ready, content {content} retained; "
                               f"finalizer removed")


# -- copies (issue 16): the restore drill --------------------------------------------------------
def restore_drill(p: Ports, a: RestoreDrill) -> Done:
    """Restore into a scratch folder (removed after), checked against the manifest; a copy that
    is missing or differs is `Refused` with the manifest's words (no retry would mend it)."""
    import shutil
    import tempfile
    from pathlib import Path

    from shared.archive.layout import Owner
    from shared.archive.restoring import RestoreError, find, restore

    if p.s3 is None:
        raise Refused("no S3 bucket is configured (CLASSOPS_S3_BUCKET)")
    scratch = Path(tempfile.mkdtemp(prefix="classops-drill-"))
    try:
        manifest = find(p.s3, a.prefix, Owner(a.user, a.server))
        checked = restore(p.s3, manifest, scratch / "home")
    except RestoreError as err:
        raise Refused(f"drill: {err}") from None
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if not checked.ok:
        raise Refused(f"drill: copy {manifest.timestamp} of {a.target} does not restore as "
                      f"its manifest says: {'; '.join(checked.problems[:5])}")
    return Done(False, None, f"copy {manifest.timestamp} restored and matches its manifest "
                             f"({checked.files} entries, {checked.bytes} bytes)")


# -- copies (issue 16): a batch's copy Job, its scratch PVCs, its outcome -------------------------
def _ended(found: KubeObject | None) -> bool:
    conditions = (found.status.get("conditions") or []) if found is not None else []
    return found is None or any(c.get("type") in ("Complete", "Failed") and
                                c.get("status") == "True" for c in conditions)


def _summary(p: Ports, job: str, namespace: str) -> dict[str, Any]:
    """The worker's JSON summary, the end of the newest finished pod's log ({} if none)."""
    import json

    pods = [o for o in p.kube.list("v1", "Pod", namespace, f"job-name={job}")
            if o.status.get("phase") in ("Succeeded", "Failed")]
    for pod in sorted(pods, key=lambda o: str(o.metadata.get("creationTimestamp", "")),
                      reverse=True):
        text = p.kube.log(pod.name, namespace)
        start = text.rfind("\n{\n") + 1 if not text.startswith("{") else 0
        try:
            found = json.loads(text[start:])
        except ValueError:
            continue
        if isinstance(found, dict):
            return found
    return {}


def _copy_parts(a: RunArchiveJob, name: str, namespace: str, summary: Mapping[str, Any],
                missing: str) -> tuple[Part, ...]:
    """Each student's outcome from the worker's summary; one it does not name failed with
    `missing` (the Job never reported on them). Refs: the archive's key (written, kept from
    an earlier copy when unchanged, or tried when failed), its manifest, snapshot and Job."""
    from shared.archive.layout import Owner, Place

    copies = {(str(c.get("user")), str(c.get("server") or "")): c
              for c in summary.get("copies") or [] if isinstance(c, Mapping)}
    snapshots = {}
    for claim in a.claims:
        notes = (claim.get("metadata") or {}).get("annotations") or {}
        who = Owner(str(notes.get("hub.jupyter.org/username", "?")),
                    str(notes.get("hub.jupyter.org/servername") or ""))
        snapshots[str(who)] = str(notes.get("classops.edu/snapshot", ""))
    parts = []
    for text in [t for t in a.users or (a.user,) if t]:
        owner = Owner.parse(text)
        copy = copies.get((owner.user, owner.server))
        refs = {k: v for k, v in (("job", name), ("namespace", namespace),
                                  ("snapshot", snapshots.get(text, a.snapshot))) if v}
        if copy is None:
            parts.append(Part(owner.user, owner.server, "failed", missing,
                              f"copy {Place(a.key, owner).folder}", refs))
            continue
        status, made = str(copy.get("status")), copy.get("timestamp")
        key, manifest = str(copy.get("archive") or ""), str(copy.get("manifest") or "")
        refs |= {k: v for k, v in (("key", key), ("manifest", manifest)) if v}
        if status == "archived":
            outcome, detail = "changed", (f"archived {copy.get('files')} entries, "
                                          f"{copy.get('size')} bytes ({copy.get('stored')} "
                                          "stored)")
        elif status == "unchanged" and made == summary.get("timestamp"):
            # this Job's own copy, made by an earlier try of its pod (retried after another
            # student's failure, it finds the copy there): this run made it
            outcome, detail = "changed", f"archived as {made} by an earlier try of the Job"
        elif status == "unchanged":
            outcome, detail = "unchanged", f"unchanged since {made}"
        else:
            outcome, detail = "failed", str(copy.get("error") or f"status {status!r}")
        parts.append(Part(owner.user, owner.server, outcome, detail,
                          f"copy {key or Place(a.key, owner).folder}", refs))
    return tuple(parts)


def run_archive_job(p: Ports, a: RunArchiveJob) -> Done:
    """Scratch PVCs, then the Job; with `wait_seconds`, its end, each student's outcome from
    its summary (one `Part` each, kept by the ledger per student), and the scratch PVCs
    deleted whatever happened."""
    if not a.claims and not a.wait_seconds:
        return create(p, a.job)
    meta = a.job.get("metadata") or {}
    name, namespace = str(meta.get("name", "")), str(meta.get("namespace", ""))
    try:
        if p.kube.get("batch/v1", "Job", name, namespace) is None:  # else: the same copy
            for claim in a.claims:
                create(p, claim)
        made = create(p, a.job)
        if not a.wait_seconds:
            return made
        try:
            found = p.kube.wait_until("batch/v1", "Job", name, namespace, _ended,
                                      a.wait_seconds, interval=2.0)
        except TimeoutError:
            why = f"job {namespace}/{name} had not ended after {a.wait_seconds:g} s"
            raise Refused(why, _copy_parts(a, name, namespace, {}, why)) from None
        summary = _summary(p, name, namespace)
    finally:
        if a.wait_seconds:
            for claim in a.claims:
                cm = claim.get("metadata") or {}
                delete(p, "v1", "PersistentVolumeClaim", str(cm.get("name", "")), namespace)
    job_failed = found is None or not any(c.get("type") == "Complete" and
                                          c.get("status") == "True"
                                          for c in found.status.get("conditions") or [])
    parts = _copy_parts(a, name, namespace, summary,
                        f"job {namespace}/{name} {'failed' if job_failed else 'completed'} "
                        "without an outcome for this student")
    copies = summary.get("copies") or []
    failed = [f"{c.get('user')}{'/' + c['server'] if c.get('server') else ''}: {c.get('error')}"
              for c in copies if c.get("status") == "failed"]
    counts = ", ".join(f"{sum(c.get('status') == s for c in copies)} {s}"
                       for s in ("archived", "unchanged", "failed"))
    if failed or job_failed or len(copies) != len(a.users or [a.user]):
        why = "; ".join(failed[:5]) or f"job {namespace}/{name} did not complete"
        raise Refused(f"copies: {counts} of {len(a.users or [a.user])}: {why}", parts)
    return Done(True, Ref.of(found) if found else None, f"copies: {counts}", parts)


# -- copies retention (issue 16): older copies and garbage deleted from S3 ---------------------
def delete_copy(p: Ports, a: DeleteCopy) -> Done:
    """Check the plan still holds, then delete `keys` in their order (see DeleteCopy)."""
    if p.s3 is None:
        raise Refused("no S3 bucket is configured (CLASSOPS_S3_BUCKET)")
    if a.upload:
        if not any(u.upload_id == a.upload for u in p.s3.uploads(a.key)):
            return Done(False, None, "already gone")
        p.s3.abort_upload(a.key, a.upload)
        return Done(True, None, f"aborted, its parts freed: {a.why}")
    if appeared := [k for k in a.absent if p.s3.head(k) is not None]:
        raise Refused(f"{appeared[0]} was written since the plan: the copy was finished, "
                      f"nothing deleted")
    seen = datetime.fromisoformat(a.seen) if a.seen else None
    found = {k: o for k in a.keys if (o := p.s3.head(k)) is not None}
    newer = [k for k, o in found.items() if seen and o.modified and o.modified > seen]
    if newer:
        raise Refused(f"{newer[0]} was written again since the plan: nothing deleted")
    for key in a.keys:
        if key in found:
            p.s3.delete(key)
    if not found:
        return Done(False, None, "already gone")
    return Done(True, None, f"deleted {len(found)} of {len(a.keys)}: {a.why}")
# -- end copies retention ----------------------------------------------------------------------


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
            return snapshot(ports, action)
        case SetFinalizer():
            return set_finalizer(ports, action)
        case FinalSnapshot():
            return final_snapshot(ports, action)
        case RunArchiveJob():
            return run_archive_job(ports, action)
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
        case AwaitUnmounted():  # after term (issue 17)
            return await_unmounted(ports, action)
        case AwaitSnapshotsReady():  # after term (issue 17)
            return await_snapshots(ports, action)
        case ReleaseForTeardown():  # after term (issue 17)
            return release(ports, action)
        case DeleteSnapshotContent():  # after term (issue 17): retained contents
            return delete_content(ports, action)
        case HoldPlaceholders():  # warm-up (issue 14)
            return hold(ports, action)
        case RestoreDrill():
            return restore_drill(ports, action)
        case DeleteCopy():  # copies retention (issue 16)
            return delete_copy(ports, action)
    raise Refused(f"no applier for {type(action).__name__}")
