"""What a write means for each resource: the rules of the apiserver's generic registry.

`create`, `update`, `delete` and `read` apply, on top of the store, what kube-apiserver's
`genericregistry.Store` and the per-kind strategies do for the kinds classops touches:
uid/creationTimestamp/generation, `generateName`, optimistic concurrency on resourceVersion, the
status and scale subresources, no-op writes that keep the resourceVersion, and namespace
deletion (https://kubernetes.io/docs/reference/using-api/api-concepts/).
"""

from __future__ import annotations

import copy
import random
import uuid
from collections.abc import Callable
from typing import Any

from . import discovery, validation
from .apply import server_side_apply, track_update
from .clock import Clock, timestamp
from .defaults import apply_defaults, defaults_on_create
from .resources import Catalogue, Resource
from .store import ApiError, Key, Obj, Store

# DELETE answers with the deleted object for these (ReturnDeletedObject); with a Status otherwise.
RETURNS_DELETED_OBJECT = frozenset({
    "pods", "services", "persistentvolumeclaims", "persistentvolumes", "serviceaccounts",
    "storageclasses", "namespaces",
})
# Kinds whose create keeps `status` (the kubelet registers its Node with status; the node
# strategy's PrepareForCreate keeps every field). Every other kind with a status subresource
# drops it on create.
KEEPS_STATUS_ON_CREATE = frozenset({"nodes"})
_NAME_CHARS = "bcdfghjklmnpqrstvwxz2456789"  # apimachinery's utilrand alphabet
_OUTSIDE_SPEC = ("metadata", "status", "kind", "apiVersion")


def _details(res: Resource, name: str) -> dict[str, Any]:
    details = {"name": name, "group": res.group, "kind": res.plural}
    if not res.group:
        del details["group"]  # the core group is omitted, as metav1.StatusDetails omitempty
    return details


def not_found(res: Resource, name: str) -> ApiError:
    return ApiError(404, "NotFound", f'{res.key} "{name}" not found', _details(res, name))


def _spec_of(obj: Obj) -> Obj:
    return {k: v for k, v in obj.items() if k not in _OUTSIDE_SPEC}


def _same(a: Obj, b: Obj) -> bool:
    """Equal but for managedFields timestamps: such a write changes nothing."""
    def strip(o: Obj) -> Obj:
        fields = [{k: v for k, v in e.items() if k != "time"}
                  for e in o["metadata"].get("managedFields") or []]
        return {**o, "metadata": {**o["metadata"], "managedFields": fields}}
    return a == b or strip(a) == strip(b)


def _no_new_finalizers(res: Resource, old: Obj, new: Obj) -> None:
    """ValidateObjectMetaUpdate: once deletion is requested no finalizer may be added (422)."""
    if not old["metadata"].get("deletionTimestamp"):
        return
    had = set(old["metadata"].get("finalizers") or [])
    extra = sorted(set(new["metadata"].get("finalizers") or []) - had)
    if not extra:
        return
    name = old["metadata"]["name"]
    title = f"{res.kind}.{res.group}" if res.group else res.kind
    listed = "[]string{" + ", ".join(f'"{f}"' for f in extra) + "}"  # Go's %#v of a []string
    message = ("Forbidden: no new finalizers can be added if the object is being deleted, "
               f"found new finalizers {listed}")
    raise ApiError(422, "Invalid", f'{title} "{name}" is invalid: metadata.finalizers: {message}',
                   {"name": name, "group": res.group, "kind": res.kind, "causes": [{
                       "reason": "FieldValueForbidden", "message": message,
                       "field": "metadata.finalizers"}]})


def _stale(res: Resource, name: str) -> ApiError:
    return ApiError(409, "Conflict", f'Operation cannot be fulfilled on {res.key} "{name}": the '
                    "object has been modified; please apply your changes to the latest version "
                    "and try again", _details(res, name))


class Registry:
    def __init__(self, store: Store, clock: Clock, catalogue: Catalogue) -> None:
        self.store, self.clock, self.catalogue = store, clock, catalogue
        # Admission: each may change or refuse (raise ApiError) an object about to be stored:
        # fn(res, old, new) -> new. Validation, defaults and controllers' admission plug in here.
        self.admission: list[Callable[[Resource, Obj | None, Obj], Obj]] = []
        # Graceful deletion: fn(res, obj, delete options) -> the object to keep (e.g. a pod with
        # deletionTimestamp set, for its kubelet to remove) or None to delete it now.
        self.graceful: list[Callable[[Resource, Obj, Obj], Obj | None]] = []

    # -- reads ----------------------------------------------------------------------------------
    def read(self, res: Resource, namespace: str, name: str) -> Obj:
        obj = self.store.get(res.key, (namespace if res.namespaced else "", name))
        if obj is None:
            raise not_found(res, name)
        return obj

    def _check_namespace(self, res: Resource, namespace: str, creating: bool) -> None:
        if not res.namespaced:
            return
        ns = self.store.get("namespaces", ("", namespace))
        if ns is None:
            raise ApiError(404, "NotFound", f'namespaces "{namespace}" not found',
                           {"name": namespace, "kind": "namespaces"})
        if creating and ns["status"].get("phase") == "Terminating":
            raise ApiError(403, "Forbidden",
                           f'{res.key} "" is forbidden: unable to create new content in namespace '
                           f"{namespace} because it is being terminated",
                           {"kind": res.plural, "group": res.group})

    # -- create ---------------------------------------------------------------------------------
    def schema(self, res: Resource) -> dict[str, Any]:
        return discovery.kind_schema(res.group, res.version, res.kind)

    def _validate(self, res: Resource, obj: Obj, old: Obj | None, mode: str,
                  warnings: list[str] | None) -> Obj:
        return validation.validate(res.key, res.plural, res.kind, res.group, obj, old,
                                   self.schema(res), mode, warnings if warnings is not None else [],
                                   res.custom)

    def _own(self, res: Resource, old: Obj | None, new: Obj, manager: str,
             subresource: str) -> Obj:
        return track_update(old, new, manager or "unknown", subresource, self.schema(res),
                            "status" in res.subresources, timestamp(self.clock.now()))

    def create(self, res: Resource, namespace: str, body: Obj, dry_run: bool = False, *,
               manager: str = "", field_validation: str = "Warn",
               warnings: list[str] | None = None, applied: bool = False) -> Obj:
        obj = copy.deepcopy(body)
        self._check_kind(res, obj)
        meta = obj.setdefault("metadata", {}) or {}
        obj["metadata"] = meta
        if res.namespaced:
            if meta.get("namespace") and meta["namespace"] != namespace:
                raise ApiError(400, "BadRequest", "the namespace of the provided object does not "
                               "match the namespace sent on the request")
            meta["namespace"] = namespace
        else:
            meta.pop("namespace", None)
        if not meta.get("name"):
            if not meta.get("generateName"):
                raise ApiError(422, "Invalid", f"{res.kind} \"\" is invalid: metadata.name: "
                               "Required value: name or generateName is required",
                               {"kind": res.kind, "group": res.group, "causes": [{
                                   "reason": "FieldValueRequired", "field": "metadata.name",
                                   "message": "Required value: name or generateName is required"}]})
            meta["name"] = meta["generateName"] + "".join(random.choices(_NAME_CHARS, k=5))
        name = meta["name"]
        if meta.get("resourceVersion"):
            # etcd3's storage refuses it with a plain error, which the apiserver answers as 500.
            raise ApiError(500, "InternalError", "Internal error occurred: resourceVersion "
                           "should not be set on objects to be created")
        for field in ("deletionTimestamp", "deletionGracePeriodSeconds"):
            meta.pop(field, None)
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = timestamp(self.clock.now())
        if res.has_generation:
            meta["generation"] = 1
        else:
            meta.pop("generation", None)
        if "status" in res.subresources and res.key not in KEEPS_STATUS_ON_CREATE:
            obj.pop("status", None)
        defaults_on_create(res.key, obj)
        apply_defaults(res.key, obj)
        with self.store.lock:
            self._check_namespace(res, namespace, creating=True)
            key = (namespace if res.namespaced else "", name)
            if self.store.get(res.key, key) is not None:
                raise ApiError(409, "AlreadyExists", f'{res.key} "{name}" already exists',
                               _details(res, name))
            for hook in self.admission:
                obj = hook(res, None, obj)
            obj = self._validate(res, obj, None, field_validation, warnings)
            if not applied:
                obj = self._own(res, None, obj, manager, "")
            if dry_run:
                return obj
            return self.store.commit(res.key, key, obj)

    def _check_kind(self, res: Resource, obj: Obj) -> None:
        kind, api_version = obj.get("kind"), obj.get("apiVersion")
        if kind and kind != res.kind:
            raise ApiError(400, "BadRequest", f"the kind in the body ({kind}) does not match the "
                           f"kind of the resource ({res.kind})")
        if api_version and api_version != res.api_version:
            raise ApiError(400, "BadRequest", f"the API version in the data ({api_version}) does "
                           f"not match the expected API version ({res.api_version})")
        obj["kind"], obj["apiVersion"] = res.kind, res.api_version

    # -- update ---------------------------------------------------------------------------------
    def update(self, res: Resource, namespace: str, name: str, body: Obj,
               subresource: str = "", dry_run: bool = False, *, manager: str = "",
               field_validation: str = "Warn", warnings: list[str] | None = None) -> Obj:
        obj = copy.deepcopy(body)
        self._check_kind(res, obj)
        meta = obj.get("metadata") or {}
        obj["metadata"] = meta
        if meta.get("name") and meta["name"] != name:
            raise ApiError(400, "BadRequest", f"the name of the object ({meta['name']}) does not "
                           f"match the name on the URL ({name})")
        if res.namespaced and meta.get("namespace") and meta["namespace"] != namespace:
            raise ApiError(400, "BadRequest", "the namespace of the provided object does not "
                           "match the namespace sent on the request")
        with self.store.lock:
            old = self.read(res, namespace, name)
            if meta.get("uid") and meta["uid"] != old["metadata"]["uid"]:
                raise ApiError(409, "Conflict", f"Operation cannot be fulfilled on {res.key} "
                               f'"{name}": Precondition failed: UID in precondition: '
                               f"{meta['uid']}, UID in object meta: {old['metadata']['uid']}",
                               _details(res, name))
            wanted_rv = meta.get("resourceVersion")
            if wanted_rv and wanted_rv != old["metadata"]["resourceVersion"]:
                raise _stale(res, name)
            new = self._merge_update(res, old, obj, subresource)
            return self._store_update(res, old, new, dry_run, subresource=subresource,
                                      manager=manager, field_validation=field_validation,
                                      warnings=warnings)

    def _merge_update(self, res: Resource, old: Obj, obj: Obj, subresource: str) -> Obj:
        if subresource == "status":
            # The status strategy keeps everything but status from the stored object.
            return {**old, "status": obj.get("status", {})}
        meta = {**obj["metadata"]}
        for field in ("uid", "creationTimestamp", "namespace", "name", "generation",
                      "deletionTimestamp", "deletionGracePeriodSeconds"):
            if field in old["metadata"]:
                meta[field] = old["metadata"][field]
            else:
                meta.pop(field, None)
        new = {**obj, "metadata": meta}
        if res.key == "services":
            # An update that leaves the allocated cluster IP out keeps it.
            for field in ("clusterIP", "clusterIPs"):
                if field in (old.get("spec") or {}) and field not in (new.get("spec") or {}):
                    new.setdefault("spec", {})[field] = old["spec"][field]
        apply_defaults(res.key, new)
        if "status" in res.subresources or res.plural == "namespaces":
            # Writes to the main resource ignore .status where a status subresource exists.
            if "status" in old:
                new["status"] = old["status"]
            else:
                new.pop("status", None)
        if res.has_generation and _spec_of(new) != _spec_of(old):
            meta["generation"] = old["metadata"].get("generation", 1) + 1
        return new

    def _store_update(self, res: Resource, old: Obj, new: Obj, dry_run: bool, *,
                      subresource: str = "", manager: str = "", field_validation: str = "Warn",
                      warnings: list[str] | None = None, applied: bool = False) -> Obj:
        _no_new_finalizers(res, old, new)
        for hook in self.admission:
            new = hook(res, old, new)
        new = self._validate(res, new, old, field_validation, warnings)
        if not applied:
            new = self._own(res, old, new, manager, subresource)
        new["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"]
        if _same(new, old):
            return old  # a write that changes nothing keeps the version
        if dry_run:
            return new
        meta = new["metadata"]
        key = (meta.get("namespace", "") if res.namespaced else "", meta["name"])
        if meta.get("deletionTimestamp") and not meta.get("finalizers") and not meta.get(
                "deletionGracePeriodSeconds"):
            # The last finalizer went and no grace period runs (a terminating pod's kubelet
            # still has to stop it): the object is gone now.
            return self.store.commit(res.key, key, None)
        return self.store.commit(res.key, key, new)

    def scale(self, res: Resource, obj: Obj) -> Obj:
        """The autoscaling/v1 Scale view of a workload."""
        meta = obj["metadata"]
        selector = ((obj.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
        return {
            "kind": "Scale", "apiVersion": "autoscaling/v1",
            "metadata": {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion",
                                              "creationTimestamp") if k in meta},
            "spec": {"replicas": (obj.get("spec") or {}).get("replicas", 1)},
            "status": {"replicas": (obj.get("status") or {}).get("replicas", 0),
                       "selector": ",".join(f"{k}={v}" for k, v in sorted(selector.items()))},
        }

    def update_scale(self, res: Resource, namespace: str, name: str, scale: Obj,
                     dry_run: bool = False, *, manager: str = "") -> Obj:
        replicas = (scale.get("spec") or {}).get("replicas")
        if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
            raise ApiError(422, "Invalid", f'Scale.autoscaling "{name}" is invalid: '
                           "spec.replicas: Invalid value: must be greater than or equal to 0",
                           {"name": name, "group": "autoscaling", "kind": "Scale"})
        with self.store.lock:
            old = self.read(res, namespace, name)
            wanted_rv = (scale.get("metadata") or {}).get("resourceVersion")
            if wanted_rv and wanted_rv != old["metadata"]["resourceVersion"]:
                raise _stale(res, name)
            new = copy.deepcopy(old)
            new.setdefault("spec", {})["replicas"] = replicas
            if new != old:
                new["metadata"]["generation"] = old["metadata"].get("generation", 1) + 1
            return self.scale(res, self._store_update(res, old, new, dry_run,
                                                      subresource="scale", manager=manager))

    # -- server-side apply ----------------------------------------------------------------------
    def apply(self, res: Resource, namespace: str, name: str, body: Obj, *, manager: str,
              force: bool = False, dry_run: bool = False, field_validation: str = "Strict",
              warnings: list[str] | None = None) -> tuple[Obj, bool]:
        """Server-side apply; returns (the object, whether it was created)."""
        if not body.get("apiVersion") or not body.get("kind"):
            raise ApiError(400, "BadRequest", "apiVersion and kind must be set in an applied "
                           "configuration")
        obj = copy.deepcopy(body)
        self._check_kind(res, obj)
        meta = obj.setdefault("metadata", {}) or {}
        obj["metadata"] = meta
        if meta.get("name") and meta["name"] != name:
            raise ApiError(400, "BadRequest", f"the name of the object ({meta['name']}) does not "
                           f"match the name on the URL ({name})")
        meta["name"] = name
        with self.store.lock:
            live = self.store.get(res.key, (namespace if res.namespaced else "", name))
            merged = server_side_apply(live, obj, manager, force, self.schema(res),
                                       "status" in res.subresources,
                                       timestamp(self.clock.now()))
            if live is None:
                return self.create(res, namespace, merged, dry_run, manager=manager,
                                   field_validation=field_validation, warnings=warnings,
                                   applied=True), True
            new = self._merge_update(res, live, merged, "")
            return self._store_update(res, live, new, dry_run, field_validation=field_validation,
                                      warnings=warnings, applied=True), False

    # -- delete ---------------------------------------------------------------------------------
    def delete(self, res: Resource, namespace: str, name: str, options: Obj,
               dry_run: bool = False) -> tuple[Obj, bool]:
        """Returns (answer body, whether it is the object itself)."""
        with self.store.lock:
            old = self.read(res, namespace, name)
            pre = options.get("preconditions") or {}
            meta = old["metadata"]
            for field, label in (("uid", "UID"), ("resourceVersion", "ResourceVersion")):
                if pre.get(field) and pre[field] != meta.get(field):
                    raise ApiError(409, "Conflict", f"Operation cannot be fulfilled on {res.key} "
                                   f'"{name}": Precondition failed: {label} in precondition: '
                                   f"{pre[field]}, {label} in object meta: {meta.get(field)}",
                                   _details(res, name))
            key: Key = (namespace if res.namespaced else "", name)
            if res.plural == "namespaces" and name in ("default", "kube-system", "kube-public"):
                raise ApiError(403, "Forbidden", f'namespaces "{name}" is forbidden: this '
                               "namespace may not be deleted", _details(res, name))
            if dry_run:
                return old, True
            if res.plural == "namespaces":
                return self._delete_namespace(old), True
            policy = options.get("propagationPolicy") or (
                "Orphan" if options.get("orphanDependents") or res.key == "jobs.batch"
                else "Background")
            if policy not in ("Background", "Foreground", "Orphan"):
                raise ApiError(422, "Invalid", f"propagationPolicy: Unsupported value: "
                               f'"{policy}": supported values: "Background", "Foreground", '
                               '"Orphan"', _details(res, name))
            finalizers = list(meta.get("finalizers") or [])
            # The garbage collector (lifecycle.py) finishes what these finalizers start.
            extra = {"Foreground": "foregroundDeletion", "Orphan": "orphan"}.get(policy)
            if extra and self._has_dependents(meta["uid"]) and extra not in finalizers:
                finalizers.append(extra)
            if finalizers:
                if meta.get("deletionTimestamp"):
                    return old, True
                new = copy.deepcopy(old)
                new["metadata"]["finalizers"] = finalizers
                new["metadata"]["deletionTimestamp"] = timestamp(self.clock.now())
                new["metadata"]["deletionGracePeriodSeconds"] = 0
                return self.store.commit(res.key, key, new), True
            for hook in self.graceful:
                kept = hook(res, old, options)
                if kept is not None:
                    return self.store.commit(res.key, key, kept), True
            gone = self.store.commit(res.key, key, None)
        if res.plural in RETURNS_DELETED_OBJECT:
            return gone, True
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                "details": {**_details(res, name), "uid": meta["uid"]}}, False

    def _has_dependents(self, uid: str) -> bool:
        return any(ref.get("uid") == uid
                   for res in self.catalogue.resources for _, obj in self.store.items(res.key)
                   for ref in obj["metadata"].get("ownerReferences") or [])

    def _delete_namespace(self, ns: Obj) -> Obj:
        """Terminating now; the namespace controller (lifecycle.py) empties and removes it."""
        if ns["metadata"].get("deletionTimestamp"):
            return ns
        name = ns["metadata"]["name"]
        terminating = copy.deepcopy(ns)
        terminating["metadata"]["deletionTimestamp"] = timestamp(self.clock.now())
        terminating["metadata"]["deletionGracePeriodSeconds"] = 0
        terminating["status"] = {"phase": "Terminating"}
        return self.store.commit("namespaces", ("", name), terminating)
