"""The CSI snapshot-controller and csi-snapshotter sidecar: VolumeSnapshots that copy folders.

What external-snapshotter v8 does (https://kubernetes.io/docs/concepts/storage/volume-snapshots/),
sized to classops:

- **Class.** At start a default VolumeSnapshotClass (`csi-hostpath-snapclass`, annotated
  `snapshot.storage.kubernetes.io/is-default-class: "true"`, driver `hostpath.csi.k8s.io`,
  `deletionPolicy: Delete`, settable) is made if the driver has no default. A snapshot naming no
  class gets the default one written into its spec; an unknown class is a `status.error`.
- **Taking it.** A snapshot of a Bound claim gets a VolumeSnapshotContent `snapcontent-<uid>`
  (deletionPolicy and driver from the class, `source.volumeHandle`, `volumeSnapshotRef`, the
  `volumesnapshotcontent-bound-protection` finalizer), bound both ways. The claim's folder is
  copied at that moment (a CSI snapshot is cut when it is taken): the content gets
  `snapshotHandle`, `creationTime` and `restoreSize`. It becomes `readyToUse: true` (content and
  snapshot, Events `SnapshotCreated` and `SnapshotReady`) `ready_seconds` later on the emulated
  clock. A claim waits while it is not Bound.
- **Failing it.** `fail(namespace, snapshot=..., claim=..., message=...)` makes matching snapshots
  not yet ready fail: `status.error` (message, time) on content and snapshot, no copy kept.
- **Finalizers**, as the controller puts them: every snapshot not being deleted has
  `snapshot.storage.kubernetes.io/volumesnapshot-as-source-protection` (dropped on deletion once
  no Pending claim restores from it), a snapshot bound to a `Delete` content has
  `...volumesnapshot-bound-protection`; a source claim has
  `snapshot.storage.kubernetes.io/pvc-as-source-protection` while a snapshot of it is not ready.
- **Deleting.** `Delete`: deleting the snapshot deletes its content and the copy. `Retain`: the
  content and the copy stay (the content still names the snapshot, as in a real cluster).
- **Restoring** (`restore_source`, used by `volumes.py`): a claim with `dataSource` kind
  VolumeSnapshot is provisioned with a copy of the snapshot's files once it is ready; until
  then it stays Pending with the external-provisioner's message.
"""

from __future__ import annotations

import shutil
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from ..clock import timestamp
from ..store import Obj
from .base import Controller, deep
from .disk import Disk, disk
from .notes import record
from .pods import quantity, spec, status, terminating
from .volumes import DRIVER

if TYPE_CHECKING:
    from ..emulator import Emulator

GROUP = "snapshot.storage.k8s.io"
AS_SOURCE = "snapshot.storage.kubernetes.io/volumesnapshot-as-source-protection"
BOUND = "snapshot.storage.kubernetes.io/volumesnapshot-bound-protection"
CONTENT_BOUND = "snapshot.storage.kubernetes.io/volumesnapshotcontent-bound-protection"
PVC_SOURCE = "snapshot.storage.kubernetes.io/pvc-as-source-protection"
DEFAULT_ANNOTATION = "snapshot.storage.kubernetes.io/is-default-class"
COMPONENT = "snapshot-controller"


@dataclass(frozen=True)
class Failure:
    namespace: str
    snapshot: str | None
    claim: str | None
    message: str


def size_text(size: Decimal) -> str:
    """Bytes as the quantity the controller writes (BinarySI)."""
    n = int(size)
    for suffix, unit in (("Ti", 2**40), ("Gi", 2**30), ("Mi", 2**20), ("Ki", 2**10)):
        if n and n % unit == 0:
            return f"{n // unit}{suffix}"
    return str(n)


def _handle_of(emu: Emulator, content: Obj | None) -> str:
    return str(status(content or {}).get("snapshotHandle") or "")


def restore_source(emu: Emulator, namespace: str, name: str) -> tuple[Path | None, str]:
    """The folder to restore a claim from, or None and the external-provisioner's reason."""
    head = f"error getting handle for DataSource Type VolumeSnapshot by Name {name}"
    vs = emu.store.get(f"volumesnapshots.{GROUP}", (namespace, name))
    if vs is None:
        return None, (f"{head}: error getting snapshot {name} from api server: "
                      f'volumesnapshots.{GROUP} "{name}" not found')
    if terminating(vs):
        return None, f"{head}: snapshot {name} is currently being deleted"
    content = emu.store.get(f"volumesnapshotcontents.{GROUP}",
                            ("", status(vs).get("boundVolumeSnapshotContentName") or ""))
    handle = _handle_of(emu, content)
    if not status(vs).get("readyToUse") or not handle:
        return None, f"{head}: snapshot {name} is not Ready"
    return disk(emu).snapshot(handle), ""


class Snapshots(Controller):
    name = "snapshots"

    def __init__(self, emu: Emulator, ready_seconds: float = 0.0,
                 default_class: str = "csi-hostpath-snapclass", deletion_policy: str = "Delete",
                 driver: str = DRIVER, root: str | None = None) -> None:
        super().__init__(emu)
        self.disk: Disk = disk(emu, root)
        self.ready_seconds = ready_seconds
        self.default_class, self.deletion_policy, self.driver = (default_class, deletion_policy,
                                                                 driver)
        self.failures: list[Failure] = []
        self.snaps = self.resource(GROUP, "volumesnapshots")
        self.contents = self.resource(GROUP, "volumesnapshotcontents")
        self.classes = self.resource(GROUP, "volumesnapshotclasses")
        self.pvcs, self.pvs = self.resource("", "persistentvolumeclaims"), self.resource(
            "", "persistentvolumes")
        self._told: set[tuple[str, str]] = set()

    def start(self) -> None:
        if self.default_class and self._default(self.driver) is None:
            self.create(self.classes, "", {
                "metadata": {"name": self.default_class,
                             "annotations": {DEFAULT_ANNOTATION: "true"}},
                "driver": self.driver, "deletionPolicy": self.deletion_policy})
        super().start()

    def stop(self) -> None:
        super().stop()
        self.disk.cleanup()

    def _default(self, driver: str) -> Obj | None:
        return next((c for c in self.items(self.classes) if c.get("driver") == driver and (
            c["metadata"].get("annotations") or {}).get(DEFAULT_ANNOTATION) == "true"), None)

    def fail(self, namespace: str, snapshot: str | None = None, claim: str | None = None,
             message: str = "") -> None:
        """Snapshots (by name, or of a claim) not yet ready fail with `status.error`."""
        self.failures.append(Failure(namespace, snapshot, claim, message))

    def folder(self, namespace: str, name: str) -> Path:
        """The copy behind a snapshot (KeyError while it has none)."""
        vs = self.store.get(self.snaps.key, (namespace, name))
        content = self.store.get(self.contents.key, (
            "", status(vs or {}).get("boundVolumeSnapshotContentName") or ""))
        handle = _handle_of(self.emu, content)
        if not handle:
            raise KeyError(f"snapshot {namespace}/{name} has no copy")
        return self.disk.snapshot(handle)

    def _tell(self, obj: Obj, kind: str, reason: str, message: str, now: datetime) -> None:
        if (obj["metadata"]["uid"], reason) not in self._told:
            self._told.add((obj["metadata"]["uid"], reason))
            record(self.emu, obj, kind, reason, message, COMPONENT, now)

    # -- the loop -------------------------------------------------------------------------------
    def reconcile(self, now: datetime) -> None:
        snaps, contents = self.items(self.snaps), self.items(self.contents)
        by_name = {c["metadata"]["name"]: c for c in contents}
        pvcs = self.items(self.pvcs)
        for vs in snaps:
            content = by_name.get(status(vs).get("boundVolumeSnapshotContentName") or "") or \
                by_name.get(f"snapcontent-{vs['metadata']['uid']}")
            if terminating(vs):
                self._deleting(vs, content, pvcs)
            else:
                self._sync(vs, content, now)
        live = {s["metadata"]["uid"]: s for s in snaps}
        for content in contents:
            self._sync_content(content, live)
        self._guard_sources(snaps, pvcs)

    def _finalizers(self, vs: Obj, content: Obj | None) -> Obj | None:
        want = [AS_SOURCE] + ([BOUND] if content is not None and spec(content).get(
            "deletionPolicy") == "Delete" else [])
        have = vs["metadata"].get("finalizers") or []
        if all(f in have for f in want):
            return vs
        new = deep(vs)
        new["metadata"]["finalizers"] = have + [f for f in want if f not in have]
        return self.update(self.snaps, new)

    def _error(self, vs: Obj, message: str, now: datetime) -> None:
        old = status(vs)
        if (old.get("error") or {}).get("message") == message:
            return
        self.set_status(self.snaps, vs, {**old, "readyToUse": False,
                                         "error": {"message": message, "time": timestamp(now)}})
        self._tell(vs, "Warning", "SnapshotCreationFailed", message, now)

    def _failure(self, vs: Obj) -> Failure | None:
        meta, source = vs["metadata"], spec(vs).get("source") or {}
        return next((f for f in reversed(self.failures) if f.namespace == meta["namespace"]
                     and (f.snapshot is None or f.snapshot == meta["name"])
                     and (f.claim is None or f.claim == source.get("persistentVolumeClaimName"))),
                    None)

    def _sync(self, vs: Obj, content: Obj | None, now: datetime) -> None:
        got = self._finalizers(vs, content)
        if got is None:
            return
        vs = got
        if content is None:
            self._take(vs, now)
            return
        cstat = status(content)
        failure = self._failure(vs) if not cstat.get("readyToUse") else None
        if failure is not None and not cstat.get("error"):
            message = failure.message or (
                "Failed to check and update snapshot content: failed to take snapshot of the "
                f"volume {(spec(content).get('source') or {}).get('volumeHandle')}: \"rpc "
                'error: code = Internal desc = injected by kubeemu"')
            if cstat.get("snapshotHandle"):
                self.disk.remove(self.disk.snapshot(cstat["snapshotHandle"]))
            error = {"message": message, "time": timestamp(now)}
            cstat = {k: v for k, v in cstat.items() if k != "snapshotHandle"}
            if self.set_status(self.contents, content, {**cstat, "readyToUse": False,
                                                        "error": error}) is None:
                return
            self._error(vs, message, now)
            return
        if cstat.get("error"):
            self._error(vs, cstat["error"]["message"], now)
            return
        if not cstat.get("creationTime"):
            return  # its status is written next
        cut = datetime.fromtimestamp(int(cstat.get("creationTime") or 0) / 1e9,
                                     tz=now.tzinfo)
        ready = now >= cut + timedelta(seconds=self.ready_seconds)
        if ready and not cstat.get("readyToUse"):
            if self.set_status(self.contents, content, {**cstat, "readyToUse": True}) is None:
                return
            self._tell(vs, "Normal", "SnapshotCreated", f"Snapshot {vs['metadata']['namespace']}/"
                       f"{vs['metadata']['name']} was successfully created by the CSI driver.",
                       now)
        self.set_status(self.snaps, vs, {
            "boundVolumeSnapshotContentName": content["metadata"]["name"],
            "creationTime": timestamp(cut), "readyToUse": ready,
            "restoreSize": size_text(Decimal(int(cstat.get("restoreSize") or 0)))})
        if ready:
            self._tell(vs, "Normal", "SnapshotReady", f"Snapshot {vs['metadata']['namespace']}/"
                       f"{vs['metadata']['name']} is ready to use.", now)

    def _take(self, vs: Obj, now: datetime) -> None:
        meta, source = vs["metadata"], spec(vs).get("source") or {}
        class_name = spec(vs).get("volumeSnapshotClassName")
        if not class_name:
            default = self._default(self.driver)
            if default is None:
                self._error(vs, "Failed to set default snapshot class with error cannot find "
                            "default snapshot class", now)
                return
            new = deep(vs)
            new["spec"]["volumeSnapshotClassName"] = default["metadata"]["name"]
            self.update(self.snaps, new)
            return
        vsc = self.store.get(self.classes.key, ("", class_name))
        if vsc is None:
            self._error(vs, f"Failed to get snapshot class with error volumesnapshotclass."
                        f'{GROUP} "{class_name}" not found', now)
            return
        claim = source.get("persistentVolumeClaimName")
        if not claim:
            return  # pre-provisioned contents are not modelled
        pvc = self.store.get(self.pvcs.key, (meta["namespace"], claim))
        if pvc is None:
            self._error(vs, f"Failed to create snapshot content with error failed to get input "
                        f"parameters to create snapshot {meta['name']}: failed to retrieve PVC "
                        f'{claim} from the lister: persistentvolumeclaim "{claim}" not found',
                        now)
            return
        pv = self.store.get(self.pvs.key, ("", spec(pvc).get("volumeName") or ""))
        if status(pvc).get("phase") != "Bound" or pv is None:
            return  # the controller waits for the claim to bind
        name = f"snapcontent-{meta['uid']}"
        handle = str(uuid.uuid4())
        copy = self.disk.snapshot(handle)
        failure = self._failure(vs)
        if failure is None:
            shutil.copytree(self.disk.volume(pv["metadata"]["name"]), copy, symlinks=True)
        content = self.create(self.contents, "", {
            "metadata": {"name": name, "finalizers": [CONTENT_BOUND]},
            "spec": {"deletionPolicy": vsc["deletionPolicy"], "driver": vsc["driver"],
                     "source": {"volumeHandle": (spec(pv).get("csi") or {}).get(
                         "volumeHandle", pv["metadata"]["name"])},
                     "sourceVolumeMode": "Filesystem", "volumeSnapshotClassName": class_name,
                     "volumeSnapshotRef": {"apiVersion": f"{GROUP}/v1", "kind": "VolumeSnapshot",
                                           "name": meta["name"], "namespace": meta["namespace"],
                                           "uid": meta["uid"],
                                           "resourceVersion": meta["resourceVersion"]}}})
        if content is None:
            self.disk.remove(copy)
            return
        restore = int(quantity(((spec(pvc).get("resources") or {}).get("requests") or {}).get(
            "storage", "0")))
        cstat: Obj = {"creationTime": int(now.timestamp() * 1e9), "readyToUse": False,
                      "restoreSize": restore}
        if failure is None:
            cstat["snapshotHandle"] = handle
        self.set_status(self.contents, content, cstat)

    def _deleting(self, vs: Obj, content: Obj | None, pvcs: list[Obj]) -> None:
        meta = vs["metadata"]
        restoring = any(status(p).get("phase") == "Pending" and (
            spec(p).get("dataSource") or {}).get("kind") == "VolumeSnapshot" and (
            spec(p).get("dataSource") or {}).get("name") == meta["name"]
            and p["metadata"]["namespace"] == meta["namespace"] for p in pvcs)
        drop = set() if restoring else {AS_SOURCE}
        if content is not None and spec(content).get("deletionPolicy") == "Delete":
            if not terminating(content):
                self.delete(self.contents, content)
            drop.add(BOUND)
        elif content is None or spec(content).get("deletionPolicy") == "Retain":
            drop.add(BOUND)
        have = meta.get("finalizers") or []
        if any(f in have for f in drop):
            new = deep(vs)
            new["metadata"]["finalizers"] = [f for f in have if f not in drop]
            self.update(self.snaps, new)

    def _sync_content(self, content: Obj, live: dict[str, Obj]) -> None:
        ref = spec(content).get("volumeSnapshotRef") or {}
        snapshot = live.get(ref.get("uid", ""))
        if terminating(content):
            if snapshot is not None and not terminating(snapshot):
                return  # still in use by its snapshot
            if spec(content).get("deletionPolicy") == "Delete" and _handle_of(self.emu, content):
                self.disk.remove(self.disk.snapshot(_handle_of(self.emu, content)))
            have = content["metadata"].get("finalizers") or []
            if CONTENT_BOUND in have:
                new = deep(content)
                new["metadata"]["finalizers"] = [f for f in have if f != CONTENT_BOUND]
                self.update(self.contents, new)
        elif snapshot is None and spec(content).get("deletionPolicy") == "Delete" and ref.get(
                "uid"):
            self.delete(self.contents, content)

    def _guard_sources(self, snaps: list[Obj], pvcs: list[Obj]) -> None:
        """A claim is held (pvc-as-source-protection) while a snapshot of it is not ready."""
        taking = {(s["metadata"]["namespace"], (spec(s).get("source") or {}).get(
            "persistentVolumeClaimName")) for s in snaps
            if not status(s).get("readyToUse") and not terminating(s)}
        for pvc in pvcs:
            key = (pvc["metadata"]["namespace"], pvc["metadata"]["name"])
            have = pvc["metadata"].get("finalizers") or []
            held = key in taking
            if held == (PVC_SOURCE in have) or (held and terminating(pvc)):
                continue
            new = deep(pvc)
            new["metadata"]["finalizers"] = [*have, PVC_SOURCE] if held else [
                f for f in have if f != PVC_SOURCE]
            self.update(self.pvcs, new)
