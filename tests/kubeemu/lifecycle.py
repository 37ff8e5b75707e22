"""What kube-controller-manager does to every object's lifecycle: the garbage collector and the
namespace controller. Always on, like those controllers in a real cluster.

- Owners and dependents (https://kubernetes.io/docs/concepts/architecture/garbage-collection/):
  an object whose owners (`metadata.ownerReferences`, by uid) are all gone is deleted
  (Background); a reference to a gone owner is dropped while another owner remains. An owner
  deleted with `propagationPolicy: Foreground` waits, with `deletionTimestamp` and the
  `foregroundDeletion` finalizer, until its dependents are gone; with `Orphan` (the `orphan`
  finalizer) its dependents lose their reference to it and stay.
- Namespaces (https://kubernetes.io/docs/concepts/overview/working-with-objects/namespaces/):
  a deleted namespace is Terminating; everything in it is deleted (each object's own finalizers
  and graceful deletion apply), then the namespace's `kubernetes` finalizer is removed and it goes.

It works level-triggered off the store, as the controllers of Test bed 3 do, through the registry.
"""

from __future__ import annotations

import copy
from datetime import datetime
from typing import TYPE_CHECKING

from .controllers.base import Controller
from .crds import CLEANUP, CRD_KEY
from .resources import Resource
from .store import ApiError, Obj

if TYPE_CHECKING:
    from .emulator import Emulator

FOREGROUND, ORPHAN = "foregroundDeletion", "orphan"


class Lifecycle(Controller):
    name = "lifecycle"

    def __init__(self, emu: Emulator) -> None:
        super().__init__(emu)
        self.tick = 0.2
        self._seen = 0
        self._pending = True  # work left from the last pass (a terminating namespace, ...)
        self._live: set[str] = set()  # the uids the last scan saw

    def _woken(self) -> bool:
        """Only changes that can start or finish a deletion are worth a scan of everything: a
        deletion, or an owner reference to a uid neither the last scan nor these changes saw
        alive. (Every other change to an object with owners, such as a placeholder pod's status
        in a storm, used to start a scan of every object, Events included.)"""
        try:
            changes = self.store.changes_after(self._seen)
        except ApiError:  # history compacted past us: look at everything
            changes, self._pending = [], True
        self._seen = self.store.revision
        if self._pending or any(c.type == "DELETED" or c.obj["metadata"].get("deletionTimestamp")
                                for c in changes):
            return True
        fresh = {c.obj["metadata"].get("uid") for c in changes}
        return any(ref.get("uid") not in self._live and ref.get("uid") not in fresh
                   for c in changes for ref in c.obj["metadata"].get("ownerReferences") or [])

    def _all(self) -> list[tuple[Resource, Obj]]:
        out = []
        for res in self.emu.catalogue.resources:
            out += [(res, obj) for _, obj in self.store.items(res.key)]
        return out

    def reconcile(self, now: datetime) -> None:
        if not self._woken():
            return
        objects = self._all()
        self._pending = any(o["metadata"].get("deletionTimestamp") for _, o in objects)
        live = {obj["metadata"]["uid"]: (res, obj) for res, obj in objects}
        self._live = set(live)
        dependents: dict[str, list[tuple[Resource, Obj]]] = {}
        for res, obj in objects:
            for ref in obj["metadata"].get("ownerReferences") or []:
                dependents.setdefault(ref.get("uid", ""), []).append((res, obj))
        for res, obj in objects:
            self._collect(res, obj, live)
        for uid, (res, owner) in live.items():
            finalizers = owner["metadata"].get("finalizers") or []
            if not owner["metadata"].get("deletionTimestamp"):
                continue
            if ORPHAN in finalizers:
                for dep_res, dep in dependents.get(uid, []):
                    self._drop_refs(dep_res, dep, {uid})
                self._drop_finalizer(res, owner, ORPHAN)
            elif FOREGROUND in finalizers:
                remaining = [d for d in dependents.get(uid, [])
                             if d[1]["metadata"]["uid"] in live]
                for dep_res, dep in remaining:
                    if not dep["metadata"].get("deletionTimestamp"):
                        self.delete(dep_res, dep)
                if not remaining:
                    self._drop_finalizer(res, owner, FOREGROUND)
        for res, obj in objects:
            if not obj["metadata"].get("deletionTimestamp"):
                continue
            if res.plural == "namespaces":
                self._drain(obj)
            elif res.key == CRD_KEY and CLEANUP in (obj["metadata"].get("finalizers") or []):
                self._drop_crd(res, obj)

    def _collect(self, res: Resource, obj: Obj, live: dict[str, tuple[Resource, Obj]]) -> None:
        refs = obj["metadata"].get("ownerReferences") or []
        if not refs:
            return
        gone = {r.get("uid", "") for r in refs if r.get("uid") not in live}
        if not gone:
            return
        if len(gone) == len(refs):
            if not obj["metadata"].get("deletionTimestamp"):
                self.delete(res, obj)
        else:
            self._drop_refs(res, obj, gone)

    def _drop_refs(self, res: Resource, obj: Obj, uids: set[str]) -> None:
        new = copy.deepcopy(obj)
        refs = [r for r in new["metadata"].get("ownerReferences") or []
                if r.get("uid") not in uids]
        if refs:
            new["metadata"]["ownerReferences"] = refs
        else:
            new["metadata"].pop("ownerReferences", None)
        self.update(res, new)

    def _drop_finalizer(self, res: Resource, obj: Obj, finalizer: str) -> None:
        new = copy.deepcopy(obj)
        new["metadata"]["finalizers"] = [f for f in new["metadata"].get("finalizers") or []
                                         if f != finalizer]
        self.update(res, new)

    def _drop_crd(self, crd_res: Resource, crd: Obj) -> None:
        """A deleted CRD stops being served once its objects are gone."""
        served = [r for r in self.emu.catalogue.resources if r.custom and
                  (r.group, r.plural) == (crd["spec"]["group"], crd["spec"]["names"]["plural"])]
        left = [(res, obj) for res in served for _, obj in self.store.items(res.key)]
        for res, obj in left:
            if not obj["metadata"].get("deletionTimestamp"):
                self.delete(res, obj)
        if not left:
            self.emu.custom_resources.remove(crd)
            self._drop_finalizer(crd_res, crd, CLEANUP)

    def _drain(self, ns: Obj) -> None:
        name = ns["metadata"]["name"]
        left = [(res, obj) for res in self.emu.catalogue.resources if res.namespaced
                for _, obj in self.store.items(res.key, name)]
        for res, obj in left:
            if not obj["metadata"].get("deletionTimestamp"):
                self.delete(res, obj)
        if left:
            return
        namespaces = self.resource("", "namespaces")
        with self.store.lock:
            current = self.store.get("namespaces", ("", name))
            if current is not None and current["metadata"]["uid"] == ns["metadata"]["uid"]:
                self.store.commit(namespaces.key, ("", name), None)
