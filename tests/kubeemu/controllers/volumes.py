"""StorageClasses, the PV controller and a CSI provisioner: claims bound to PVs backed by folders.

What kube-controller-manager's persistentvolume controllers and a CSI external-provisioner do
(https://kubernetes.io/docs/concepts/storage/persistent-volumes/), sized to what classops needs:

- **Classes.** At start a default StorageClass (`standard`, annotated
  `storageclass.kubernetes.io/is-default-class: "true"`, provisioner `hostpath.csi.k8s.io`,
  `reclaimPolicy: Delete`, `volumeBindingMode: WaitForFirstConsumer`, settable) is created if
  no default exists. Admission (the DefaultStorageClass and StorageObjectInUseProtection
  plugins): a claim without `storageClassName` gets the default class; every claim gets the
  `kubernetes.io/pvc-protection` finalizer and every PV `kubernetes.io/pv-protection`.
- **Binding.** A Pending claim first takes an Available PV of its class that fits (capacity,
  access modes; smallest first; `spec.volumeName` pre-binds). Otherwise, its class's provisioner
  makes one: `Immediate` at once, `WaitForFirstConsumer` once the scheduler has picked a node
  for a pod using it (the `volume.kubernetes.io/selected-node` annotation; Event
  `WaitForFirstConsumer` until then). The PV is `pvc-<claim uid>`, with claimRef, capacity,
  the class's reclaim policy, a `csi` source and `pv.kubernetes.io/provisioned-by`; the claim
  gets `spec.volumeName`, `pv.kubernetes.io/bind-completed` and
  `pv.kubernetes.io/bound-by-controller`, and status Bound with capacity and access modes.
  A claim of an unknown class stays Pending with the `ProvisioningFailed` Event
  `storageclass.storage.k8s.io "<name>" not found`.
- **Data.** Each PV is a folder (`disk.py`); a claim with `dataSource` kind VolumeSnapshot is
  provisioned with a copy of the snapshot's files once the snapshot is ready, and stays Pending
  with the external-provisioner's `ProvisioningFailed` message until then (`snapshots.py`), or
  while it asks for less than the snapshot's `restoreSize`; kind PersistentVolumeClaim clones a
  Bound claim's folder.
- **Release.** A PV whose claim is gone is `Released`; `Delete` removes the PV and its folder
  (the provisioner's finalizer is held until the folder is gone), `Retain` keeps both.
- **Protection.** A deleted claim keeps its finalizer while a pod that is not Succeeded or
  Failed uses it; a PV keeps `pv-protection` while Bound.
- **Scheduling** (`prefilter`, `prebind`, called by the scheduler when this controller runs): a
  pod whose claims are missing, being deleted or unbound with Immediate binding is
  unschedulable with the VolumeBinding plugin's reason; a pod's WaitForFirstConsumer claims get
  the chosen node as `selected-node` and the pod binds once they are Bound.
"""

from __future__ import annotations

import shutil
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..clock import timestamp
from ..resources import Resource
from ..store import Obj
from .base import Controller, deep
from .disk import Disk, disk
from .notes import record
from .pods import finished, quantity, spec, status, terminating

if TYPE_CHECKING:
    from ..emulator import Emulator

DRIVER = "hostpath.csi.k8s.io"
DEFAULT_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class"
SELECTED_NODE = "volume.kubernetes.io/selected-node"
PVC_PROTECTION, PV_PROTECTION = "kubernetes.io/pvc-protection", "kubernetes.io/pv-protection"
PROVISIONER_FINALIZER = "external-provisioner.volume.kubernetes.io/finalizer"
PV_CONTROLLER = "persistentvolume-controller"
SNAPSHOT_GROUP = "snapshot.storage.k8s.io"


def claim_names(pod: Obj) -> list[str]:
    return [v["persistentVolumeClaim"]["claimName"] for v in spec(pod).get("volumes") or []
            if (v.get("persistentVolumeClaim") or {}).get("claimName")]


def _size(obj: Obj, *path: str) -> Decimal:
    value: Any = obj
    for p in path:
        value = (value or {}).get(p)
    return quantity(value) if value is not None else Decimal(0)


def binding_of(emu: Emulator) -> Volumes | None:
    """The running `volumes` controller, whose prefilter/prebind the scheduler then calls."""
    return next((c for c in emu.controllers if isinstance(c, Volumes) and c.running), None)


def _annotations(obj: Obj) -> dict[str, str]:
    return obj["metadata"].get("annotations") or {}


class Volumes(Controller):
    name = "volumes"

    def __init__(self, emu: Emulator, root: str | None = None, default_class: str = "standard",
                 binding_mode: str = "WaitForFirstConsumer", reclaim_policy: str = "Delete",
                 provisioner: str = DRIVER) -> None:
        super().__init__(emu)
        self.disk: Disk = disk(emu, root)
        self.default_class, self.binding_mode = default_class, binding_mode
        self.reclaim_policy, self.provisioner = reclaim_policy, provisioner
        self.pvcs, self.pvs = self.resource("", "persistentvolumeclaims"), self.resource(
            "", "persistentvolumes")
        self.pods = self.resource("", "pods")
        self.classes = self.resource("storage.k8s.io", "storageclasses")
        self._told: set[tuple[str, str, str]] = set()  # (uid, reason, message) already recorded

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> None:
        if self.admit not in self.registry.admission:
            self.registry.admission.append(self.admit)
        if self.default_class and not self._default():
            self.create(self.classes, "", {
                "metadata": {"name": self.default_class,
                             "annotations": {DEFAULT_CLASS_ANNOTATION: "true"}},
                "provisioner": self.provisioner, "reclaimPolicy": self.reclaim_policy,
                "volumeBindingMode": self.binding_mode, "allowVolumeExpansion": True})
        super().start()

    def stop(self) -> None:
        super().stop()
        if self.admit in self.registry.admission:
            self.registry.admission.remove(self.admit)
        self.disk.cleanup()

    def admit(self, res: Resource, old: Obj | None, new: Obj) -> Obj:
        if old is not None or res.key not in ("persistentvolumeclaims", "persistentvolumes"):
            return new
        meta = new["metadata"]
        guard = PVC_PROTECTION if res.key == "persistentvolumeclaims" else PV_PROTECTION
        if guard not in (meta.get("finalizers") or []):
            meta["finalizers"] = [*(meta.get("finalizers") or []), guard]
        if res.key == "persistentvolumeclaims" and new["spec"].get("storageClassName") is None:
            default = self._default()
            if default is not None:
                new["spec"]["storageClassName"] = default["metadata"]["name"]
        return new

    def _default(self) -> Obj | None:
        marked = [c for c in self.items(self.classes)
                  if _annotations(c).get(DEFAULT_CLASS_ANNOTATION) == "true"]
        # Several defaults: the newest wins, as since Kubernetes 1.26.
        return max(marked, key=lambda c: c["metadata"]["creationTimestamp"], default=None)

    # -- for tests and the other controllers ----------------------------------------------------
    def folder(self, namespace: str, claim: str) -> Path:
        """The folder behind a Bound claim (KeyError if it is not bound)."""
        pvc = self.store.get(self.pvcs.key, (namespace, claim))
        name = spec(pvc or {}).get("volumeName")
        if pvc is None or not name or status(pvc).get("phase") != "Bound":
            raise KeyError(f"claim {namespace}/{claim} is not bound")
        return self.disk.volume(name)

    def tell(self, obj: Obj, kind: str, reason: str, message: str, component: str,
             now: datetime) -> None:
        key = (obj["metadata"]["uid"], reason, message)
        if key not in self._told:
            self._told.add(key)
            record(self.emu, obj, kind, reason, message, component, now)

    # -- scheduling (the VolumeBinding plugin's PreFilter and PreBind) ---------------------------
    def prefilter(self, pod: Obj) -> str | None:
        ns = pod["metadata"]["namespace"]
        for name in claim_names(pod):
            pvc = self.store.get(self.pvcs.key, (ns, name))
            if pvc is None:
                return f'persistentvolumeclaim "{name}" not found'
            if terminating(pvc):
                return f'persistentvolumeclaim "{name}" is being deleted'
            if status(pvc).get("phase") == "Bound":
                continue
            sc = self.store.get(self.classes.key, ("", spec(pvc).get("storageClassName") or ""))
            if sc is None or sc.get("volumeBindingMode") != "WaitForFirstConsumer":
                return "pod has unbound immediate PersistentVolumeClaims"
        return None

    def prebind(self, pod: Obj, node: str) -> bool:
        """Annotate the pod's unbound claims with the chosen node; True once all are Bound."""
        ns, ready = pod["metadata"]["namespace"], True
        for name in claim_names(pod):
            pvc = self.store.get(self.pvcs.key, (ns, name))
            if pvc is None:
                return False
            if status(pvc).get("phase") == "Bound":
                continue
            ready = False
            if not _annotations(pvc).get(SELECTED_NODE):
                new = deep(pvc)
                new["metadata"].setdefault("annotations", {})[SELECTED_NODE] = node
                self.update(self.pvcs, new)
        return ready

    # -- the loop -------------------------------------------------------------------------------
    def reconcile(self, now: datetime) -> None:
        pvcs, pvs = self.items(self.pvcs), self.items(self.pvs)
        by_uid = {p["metadata"]["uid"]: p for p in pvcs}
        in_use = {(p["metadata"]["namespace"], n) for p in self.items(self.pods)
                  if not finished(p) for n in claim_names(p)}
        for pvc in pvcs:
            meta = pvc["metadata"]
            if terminating(pvc):
                if (meta["namespace"], meta["name"]) not in in_use:
                    self._drop_finalizer(self.pvcs, pvc, PVC_PROTECTION)
            elif status(pvc).get("phase", "Pending") == "Pending":
                self._bind(pvc, pvs, now)
        for pv in pvs:
            self._sync_pv(pv, by_uid, now)

    def _drop_finalizer(self, res: Resource, obj: Obj, finalizer: str) -> None:
        if finalizer in (obj["metadata"].get("finalizers") or []):
            new = deep(obj)
            new["metadata"]["finalizers"] = [f for f in new["metadata"]["finalizers"]
                                             if f != finalizer]
            self.update(res, new)

    def _bind(self, pvc: Obj, pvs: list[Obj], now: datetime) -> None:
        uid = pvc["metadata"]["uid"]
        mine = next((v for v in pvs if (spec(v).get("claimRef") or {}).get("uid") == uid), None)
        if mine is None:
            mine = self._static_match(pvc, pvs)
        if mine is None:
            mine = self._provision(pvc, now)
        if mine is not None:
            self._complete(pvc, mine, now)

    def _static_match(self, pvc: Obj, pvs: list[Obj]) -> Obj | None:
        wanted = spec(pvc).get("volumeName")
        want = _size(pvc, "spec", "resources", "requests", "storage")
        modes = set(spec(pvc).get("accessModes") or [])
        fits = [v for v in pvs if status(v).get("phase") in ("Available", None) and not spec(
                    v).get("claimRef") and not terminating(v)
                and (spec(v).get("storageClassName") or "") == (
                    spec(pvc).get("storageClassName") or "")
                and _size(v, "spec", "capacity", "storage") >= want
                and modes <= set(spec(v).get("accessModes") or [])
                and (not wanted or v["metadata"]["name"] == wanted)]
        if not fits:
            return None
        pv = deep(min(fits, key=lambda v: _size(v, "spec", "capacity", "storage")))
        pv["spec"]["claimRef"] = self._claim_ref(pvc)
        pv["metadata"].setdefault("annotations", {})["pv.kubernetes.io/bound-by-controller"] = (
            "yes")
        return self.update(self.pvs, pv)

    @staticmethod
    def _claim_ref(pvc: Obj) -> Obj:
        meta = pvc["metadata"]
        return {"kind": "PersistentVolumeClaim", "apiVersion": "v1",
                "namespace": meta["namespace"], "name": meta["name"], "uid": meta["uid"],
                "resourceVersion": meta["resourceVersion"]}

    def _provision(self, pvc: Obj, now: datetime) -> Obj | None:
        class_name = spec(pvc).get("storageClassName") or ""
        if not class_name:
            return None  # no class: only a pre-made PV will do
        sc = self.store.get(self.classes.key, ("", class_name))
        if sc is None:
            self.tell(pvc, "Warning", "ProvisioningFailed",
                      f'storageclass.storage.k8s.io "{class_name}" not found', PV_CONTROLLER, now)
            return None
        if sc.get("volumeBindingMode") == "WaitForFirstConsumer" and not _annotations(pvc).get(
                SELECTED_NODE):
            self.tell(pvc, "Normal", "WaitForFirstConsumer",
                      "waiting for first consumer to be created before binding", PV_CONTROLLER,
                      now)
            return None
        source: Path | None = None
        data_source = spec(pvc).get("dataSourceRef") or spec(pvc).get("dataSource")
        component = f"{sc['provisioner']}_kubeemu"
        if data_source and data_source.get("kind") in ("VolumeSnapshot",
                                                       "PersistentVolumeClaim"):
            source, problem = self._source(pvc, data_source)
            if source is None:
                self.tell(pvc, "Warning", "ProvisioningFailed",
                          f'failed to provision volume with StorageClass "{class_name}": '
                          f"{problem}", component, now)
                return None
        name = f"pvc-{pvc['metadata']['uid']}"
        folder = self.disk.volume(name)
        if source is not None and not any(folder.iterdir()):
            shutil.copytree(source, folder, dirs_exist_ok=True, symlinks=True)
        pv = self.create(self.pvs, "", {
            "metadata": {"name": name, "annotations": {
                "pv.kubernetes.io/provisioned-by": sc["provisioner"],
                "volume.kubernetes.io/provisioner-deletion-secret-name": "",
                "volume.kubernetes.io/provisioner-deletion-secret-namespace": ""},
                "finalizers": [PROVISIONER_FINALIZER]},
            "spec": {"accessModes": list(spec(pvc).get("accessModes") or ["ReadWriteOnce"]),
                     "capacity": {"storage": str(((spec(pvc).get("resources") or {}).get(
                         "requests") or {}).get("storage", "1Gi"))},
                     "claimRef": self._claim_ref(pvc),
                     "persistentVolumeReclaimPolicy": sc.get("reclaimPolicy") or "Delete",
                     "storageClassName": class_name, "volumeMode": "Filesystem",
                     "csi": {"driver": sc["provisioner"], "volumeHandle": pvc["metadata"]["uid"],
                             "fsType": "ext4", "volumeAttributes": {
                                 "storage.kubernetes.io/csiProvisionerIdentity": "kubeemu"}}}})
        if pv is not None:
            self.tell(pvc, "Normal", "ProvisioningSucceeded",
                      f"Successfully provisioned volume {name}", component, now)
        return pv

    def _source(self, pvc: Obj, data_source: Obj) -> tuple[Path | None, str]:
        """The folder a claim is provisioned from (a snapshot's copy, a cloned claim's folder),
        or None and the external-provisioner's reason."""
        ns, name = pvc["metadata"]["namespace"], data_source.get("name", "")
        want = _size(pvc, "spec", "resources", "requests", "storage")
        if data_source.get("kind") == "PersistentVolumeClaim":
            other = self.store.get(self.pvcs.key, (ns, name))
            if other is None or status(other).get("phase") != "Bound":
                return None, (f"error getting handle for DataSource Type PersistentVolumeClaim "
                              f"by Name {name}: claim in dataSource not bound or invalid")
            if _size(other, "status", "capacity", "storage") > want:
                return None, (f"error getting handle for DataSource Type PersistentVolumeClaim "
                              f"by Name {name}: requested volume size {int(want)} is less than "
                              "the size "
                              f"{int(_size(other, 'status', 'capacity', 'storage'))} for the "
                              "source PVC")
            return self.disk.volume(spec(other)["volumeName"]), ""
        from .snapshots import restore_source  # the snapshot module leans on this one

        source, problem = restore_source(self.emu, ns, name)
        vs = self.store.get(f"volumesnapshots.{SNAPSHOT_GROUP}", (ns, name))
        size = _size(vs or {}, "status", "restoreSize")
        if source is not None and size > want:
            return None, (f"requested volume size {int(want)} is less than the size "
                          f"{int(size)} for the source snapshot {name}")
        return source, problem

    def _complete(self, pvc: Obj, pv: Obj, now: datetime) -> None:
        if status(pv).get("phase") != "Bound":
            written = self._phase(pv, "Bound", now)
            if written is None:
                return
        if spec(pvc).get("volumeName") != pv["metadata"]["name"] or _annotations(pvc).get(
                "pv.kubernetes.io/bind-completed") != "yes":
            new = deep(pvc)
            new["spec"]["volumeName"] = pv["metadata"]["name"]
            notes = new["metadata"].setdefault("annotations", {})
            notes.update({"pv.kubernetes.io/bind-completed": "yes",
                          "pv.kubernetes.io/bound-by-controller": "yes"})
            if pv["metadata"].get("annotations", {}).get("pv.kubernetes.io/provisioned-by"):
                driver = pv["metadata"]["annotations"]["pv.kubernetes.io/provisioned-by"]
                notes["volume.beta.kubernetes.io/storage-provisioner"] = driver
                notes["volume.kubernetes.io/storage-provisioner"] = driver
            written = self.update(self.pvcs, new)
            if written is None:
                return
            pvc = written
        self.set_status(self.pvcs, pvc, {
            **status(pvc), "phase": "Bound", "accessModes": spec(pv).get("accessModes") or [],
            "capacity": dict(spec(pv).get("capacity") or {})})

    def _phase(self, pv: Obj, phase: str, now: datetime) -> Obj | None:
        return self.set_status(self.pvs, pv, {**status(pv), "phase": phase,
                                              "lastPhaseTransitionTime": timestamp(now)})

    def _sync_pv(self, pv: Obj, claims: dict[str, Obj], now: datetime) -> None:
        phase = status(pv).get("phase")
        ref = spec(pv).get("claimRef") or {}
        if terminating(pv):
            if phase != "Bound":
                self._drop_finalizer(self.pvs, pv, PV_PROTECTION)
            if PROVISIONER_FINALIZER in (pv["metadata"].get("finalizers") or []):
                self.disk.remove(self.disk.volume(pv["metadata"]["name"]))
                self.disk.full.discard(pv["metadata"]["name"])
                self._drop_finalizer(self.pvs, pv, PROVISIONER_FINALIZER)
            return
        if not phase or phase == "Pending":
            self._phase(pv, "Available", now)
        elif phase == "Bound" and ref.get("uid") and ref["uid"] not in claims:
            self._phase(pv, "Released", now)
        elif phase == "Released" and spec(pv).get("persistentVolumeReclaimPolicy") == "Delete":
            self.delete(self.pvs, pv)
