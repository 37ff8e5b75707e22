"""Server-side printing: the meta.k8s.io/v1 Table that `kubectl get` asks for (`as=Table`).

Columns follow the apiserver's printers for the kinds an operator looks at most
(pkg/printers/internalversion); every other kind gets Name and Age, as CRDs without
additionalPrinterColumns do.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

Obj = dict[str, Any]


def _age(obj: Obj, now: datetime) -> str:
    created = obj["metadata"].get("creationTimestamp")
    if not created:
        return "<unknown>"
    seconds = int((now - datetime.fromisoformat(created.replace("Z", "+00:00"))).total_seconds())
    seconds = max(seconds, 0)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= 2 * size or (unit == "m" and seconds >= 60):
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _pod_cells(o: Obj) -> list[Any]:
    spec, status = o.get("spec") or {}, o.get("status") or {}
    statuses = status.get("containerStatuses") or []
    ready = sum(1 for c in statuses if c.get("ready"))
    restarts = sum(c.get("restartCount", 0) for c in statuses)
    phase = "Terminating" if o["metadata"].get("deletionTimestamp") else status.get("phase", "")
    for c in statuses:
        state = c.get("state") or {}
        reason = (state.get("waiting") or state.get("terminated") or {}).get("reason")
        if reason and not o["metadata"].get("deletionTimestamp"):
            phase = reason  # a waiting or ended container's reason (Completed, Error)
    return [f"{ready}/{len(spec.get('containers') or [])}", phase, restarts]


def _workload_cells(o: Obj) -> list[Any]:
    spec, status = o.get("spec") or {}, o.get("status") or {}
    return [f"{status.get('readyReplicas', 0)}/{spec.get('replicas', 1)}"]


_COLUMNS: dict[str, tuple[list[str], Callable[[Obj], list[Any]]]] = {
    "pods": (["Ready", "Status", "Restarts"], _pod_cells),
    "deployments.apps": (["Ready"], _workload_cells),
    "statefulsets.apps": (["Ready"], _workload_cells),
    "namespaces": (["Status"], lambda o: [(o.get("status") or {}).get("phase", "")]),
    "persistentvolumeclaims": (["Status", "Volume"], lambda o: [
        (o.get("status") or {}).get("phase", "Pending"),
        (o.get("spec") or {}).get("volumeName", "")]),
    "configmaps": (["Data"], lambda o: [
        len(o.get("data") or {}) + len(o.get("binaryData") or {})]),
    "services": (["Type", "Cluster-IP"], lambda o: [
        (o.get("spec") or {}).get("type", "ClusterIP"),
        (o.get("spec") or {}).get("clusterIP", "")]),
    "volumesnapshots.snapshot.storage.k8s.io": (["ReadyToUse", "SourcePVC"], lambda o: [
        (o.get("status") or {}).get("readyToUse", False),
        ((o.get("spec") or {}).get("source") or {}).get("persistentVolumeClaimName", "")]),
}


# -- storage and batch (the volumes, snapshots and jobs controllers) ----------------------------
_MODES = {"ReadWriteOnce": "RWO", "ReadOnlyMany": "ROX", "ReadWriteMany": "RWX",
          "ReadWriteOncePod": "RWOP"}


def _modes(modes: list[str] | None) -> str:
    return ",".join(_MODES.get(m, m) for m in modes or [])


def _pvc_cells(o: Obj) -> list[Any]:
    spec, status = o.get("spec") or {}, o.get("status") or {}
    return [status.get("phase", "Pending"), spec.get("volumeName", ""),
            (status.get("capacity") or {}).get("storage", ""), _modes(status.get("accessModes")),
            spec.get("storageClassName") or "", "<unset>"]


def _pv_cells(o: Obj) -> list[Any]:
    spec, status = o.get("spec") or {}, o.get("status") or {}
    ref = spec.get("claimRef") or {}
    return [(spec.get("capacity") or {}).get("storage", ""), _modes(spec.get("accessModes")),
            spec.get("persistentVolumeReclaimPolicy", ""), status.get("phase", ""),
            f"{ref['namespace']}/{ref['name']}" if ref.get("name") else "",
            spec.get("storageClassName") or "", "<unset>", status.get("reason", "")]


def _job_cells(o: Obj) -> list[Any]:
    spec, status = o.get("spec") or {}, o.get("status") or {}
    done = {c.get("type") for c in status.get("conditions") or [] if c.get("status") == "True"}
    state = "Complete" if "Complete" in done else "Failed" if "Failed" in done else (
        "Suspended" if spec.get("suspend") else "Running")
    duration = ""
    if status.get("startTime") and status.get("completionTime"):
        start, end = (datetime.fromisoformat(status[k].replace("Z", "+00:00"))
                      for k in ("startTime", "completionTime"))
        duration = f"{int((end - start).total_seconds())}s"
    return [state, f"{status.get('succeeded', 0)}/{spec.get('completions', 1)}", duration]


def _class_cells(o: Obj) -> list[Any]:
    return [o.get("provisioner", ""), o.get("reclaimPolicy", "Delete"),
            o.get("volumeBindingMode", "Immediate"), bool(o.get("allowVolumeExpansion"))]


_COLUMNS.update({
    "persistentvolumeclaims": (["Status", "Volume", "Capacity", "Access Modes", "StorageClass",
                                "VolumeAttributesClass"], _pvc_cells),
    "persistentvolumes": (["Capacity", "Access Modes", "Reclaim Policy", "Status", "Claim",
                           "StorageClass", "VolumeAttributesClass", "Reason"], _pv_cells),
    "jobs.batch": (["Status", "Completions", "Duration"], _job_cells),
    "storageclasses.storage.k8s.io": (["Provisioner", "ReclaimPolicy", "VolumeBindingMode",
                                       "AllowVolumeExpansion"], _class_cells),
    "volumesnapshotcontents.snapshot.storage.k8s.io": (
        ["ReadyToUse", "RestoreSize", "DeletionPolicy", "Driver", "VolumeSnapshot"], lambda o: [
            (o.get("status") or {}).get("readyToUse", False),
            (o.get("status") or {}).get("restoreSize", ""),
            (o.get("spec") or {}).get("deletionPolicy", ""),
            (o.get("spec") or {}).get("driver", ""),
            ((o.get("spec") or {}).get("volumeSnapshotRef") or {}).get("name", "")]),
})


def _row_object(obj: Obj, include: str) -> Obj | None:
    if include == "None":
        return None
    if include == "Object":
        return obj
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
            "metadata": obj["metadata"]}


def table(resource_key: str, objects: list[Obj], list_meta: Obj, now: datetime,
          include: str = "Metadata") -> Obj:
    if resource_key == "events":
        return event_table(objects, list_meta, now, include)
    if resource_key == "nodes":
        return node_table(objects, list_meta, now, include)
    extra_names, cells = _COLUMNS.get(resource_key, ([], lambda o: []))
    columns = [{"name": "Name", "type": "string", "format": "name", "priority": 0,
                "description": "Name must be unique within a namespace."}]
    columns += [{"name": n, "type": "string", "format": "", "priority": 0, "description": n}
                for n in extra_names]
    columns.append({"name": "Age", "type": "string", "format": "", "priority": 0,
                    "description": "CreationTimestamp is a timestamp representing the server time "
                                   "when this object was created."})
    rows = []
    for o in objects:
        row: Obj = {"cells": [o["metadata"]["name"], *cells(o), _age(o, now)]}
        obj = _row_object(o, include)
        if obj is not None:
            row["object"] = obj
        rows.append(row)
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": list_meta,
            "columnDefinitions": columns, "rows": rows}


# -- core Events: the apiserver's printEvent (pkg/printers/internalversion) ------------------------
_EVENT_COLUMNS = (("Last Seen", 0), ("Type", 0), ("Reason", 0), ("Object", 0), ("Subobject", 1),
                  ("Source", 1), ("Message", 0), ("First Seen", 1), ("Count", 1), ("Name", 1))


def _since(value: str | None, now: datetime) -> str:
    if not value:
        return "<unknown>"
    return _age({"metadata": {"creationTimestamp": value}}, now)


def _event_cells(o: Obj, now: datetime) -> list[Any]:
    first = _since(o.get("firstTimestamp") or o.get("eventTime"), now)
    last = _since(o["lastTimestamp"], now) if o.get("lastTimestamp") else first
    count = o.get("count") or 1
    if o.get("series"):
        last = _since(o["series"].get("lastObservedTime"), now)
        count = o["series"].get("count", count)
    involved = o.get("involvedObject") or {}
    kind = str(involved.get("kind", "")).lower()
    target = f"{kind}/{involved['name']}" if involved.get("name") else kind
    source = o.get("source") or {}
    component = source.get("component") or o.get("reportingComponent") or ""
    instance = source.get("host") or o.get("reportingInstance") or ""
    return [last, o.get("type", ""), o.get("reason", ""), target, involved.get("fieldPath", ""),
            f"{component}, {instance}" if instance else component,
            str(o.get("message", "")).strip(), first, count, o["metadata"]["name"]]


def event_table(objects: list[Obj], list_meta: Obj, now: datetime, include: str) -> Obj:
    columns = [{"name": name, "type": "integer" if name == "Count" else "string",
                "format": "name" if name == "Name" else "", "priority": priority,
                "description": name} for name, priority in _EVENT_COLUMNS]
    rows = []
    for o in objects:
        row: Obj = {"cells": _event_cells(o, now)}
        obj = _row_object(o, include)
        if obj is not None:
            row["object"] = obj
        rows.append(row)
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": list_meta,
            "columnDefinitions": columns, "rows": rows}


# -- Nodes: printNode (Name, Status, Roles, Age, Version; wide: Internal-IP, OS image, ...) -------
_NODE_COLUMNS = (("Name", 0), ("Status", 0), ("Roles", 0), ("Age", 0), ("Version", 0),
                 ("Internal-IP", 1), ("External-IP", 1), ("OS-Image", 1), ("Kernel-Version", 1),
                 ("Container-Runtime", 1))


def _node_cells(o: Obj, now: datetime) -> list[Any]:
    status, spec = o.get("status") or {}, o.get("spec") or {}
    ready = next((c for c in status.get("conditions") or [] if c.get("type") == "Ready"), None)
    state = "Unknown" if ready is None else "Ready" if ready.get("status") == "True" else "NotReady"
    if spec.get("unschedulable"):
        state += ",SchedulingDisabled"
    roles = sorted(k.split("/", 1)[1] for k in (o["metadata"].get("labels") or {})
                   if k.startswith("node-role.kubernetes.io/"))
    addresses = {a.get("type"): a.get("address") for a in status.get("addresses") or []}
    info = status.get("nodeInfo") or {}
    return [o["metadata"]["name"], state, ",".join(roles) or "<none>", _age(o, now),
            info.get("kubeletVersion", ""), addresses.get("InternalIP", "<none>"),
            addresses.get("ExternalIP", "<none>"), info.get("osImage", "<unknown>"),
            info.get("kernelVersion", "<unknown>"), info.get("containerRuntimeVersion", "")]


def node_table(objects: list[Obj], list_meta: Obj, now: datetime, include: str) -> Obj:
    columns = [{"name": name, "type": "string", "format": "name" if name == "Name" else "",
                "priority": priority, "description": name} for name, priority in _NODE_COLUMNS]
    rows = []
    for o in objects:
        row: Obj = {"cells": _node_cells(o, now)}
        obj = _row_object(o, include)
        if obj is not None:
            row["object"] = obj
        rows.append(row)
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": list_meta,
            "columnDefinitions": columns, "rows": rows}
