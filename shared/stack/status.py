"""`classops status`: one screen on the hub stack, from a stack classops deployed or from a
Zero to JupyterHub Helm release alike.

Components are recognised by z2jh's `component` label (never by classops's tracking labels), so
a Helm release reads the same. z2jh publishes its resolved names in its hub ConfigMap (the
`jupyterhub.name-templates` keys: `hub`, `proxy`, `user-placeholder`, `user-scheduler-deploy`,
`continuous-image-puller`, `hub-pvc`, ... beside `checksum_hook-image-puller` and the globbed hub
files), which says whose stack it is and which StatefulSet holds the placeholders; classops's own
hub ConfigMap carries `values.json` and its tracking label instead.

`read()` does the I/O (through the ports); everything else is pure: `build()` turns what was
read into a `Status`, `table()` and `as_dict()` show it. `now` is always passed in.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from shared.events import WARMUP
from shared.ports.errors import ApiError
from shared.ports.hub import Hub
from shared.ports.kube import Kube
from shared.stack.blockers import Blocker, explain
from shared.stack.labels import MANAGED_BY
from shared.timestamps import kube_time
from shared.timetable import Occurrence, Timetable, expand
from shared.warmup.holding import TARGET as WARM_TARGET
from shared.warmup.holding import WHY as WARM_WHY
from shared.warmup.knobs import LEAD_TIMES, learned

WORKLOADS = (("apps/v1", "Deployment"), ("apps/v1", "StatefulSet"), ("apps/v1", "DaemonSet"))
Z2JH_NAME_KEYS = ("user-placeholder", "user-scheduler-deploy", "continuous-image-puller")
NEXT = 5
_UNITS = {"": 1, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15,
          "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "m": 0.001}


def quantity(text: str) -> float:
    """A Kubernetes quantity ("10Gi", "500M", "1.5") in plain units."""
    found = re.fullmatch(r"([0-9.]+(?:e[0-9]+)?)([a-zA-Z]*)", text.strip())
    if not found or found.group(2) not in _UNITS:
        raise ValueError(f"not a quantity: {text!r}")
    return float(found.group(1)) * _UNITS[found.group(2)]


def _meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    return obj.get("metadata") or {}


@dataclass(frozen=True)
class Component:
    component: str  # z2jh's label: hub, proxy, user-scheduler, ...
    kind: str
    name: str
    desired: int
    ready: int
    images: tuple[str, ...]
    age: timedelta | None


@dataclass(frozen=True)
class Status:
    namespace: str
    source: str  # "classops", "z2jh (Helm)" or "unknown"
    components: tuple[Component, ...]
    placeholders: tuple[int, int]  # (desired, ready)
    servers: int | None  # user servers running; None: could not tell
    servers_from: str  # "hub" or "pods"
    pvcs: int
    pvc_bytes: float
    newest_snapshot: timedelta | None  # its age; None: none yet (or snapshots unavailable)
    snapshots: str  # "", or why snapshots could not be read
    next_actions: tuple[tuple[datetime, str, str], ...]  # (at, type, subject)
    warm: tuple[Warm, ...] = ()  # the warm-up's holds (issue 14), one per placeholder set
    next_warmup: tuple[datetime, str] | None = None  # (at, subject)
    # for each component not ready ("kind/name"), why: as `classops deploy` says it
    blockers: tuple[tuple[str, tuple[Blocker, ...]], ...] = ()


@dataclass(frozen=True)
class Warm:
    """What the warm-up holds in one placeholder set: its count, its target and why."""

    name: str
    held: int  # spec.replicas now
    ready: int
    target: int | None  # what the warm-up last set (None: never warmed)
    why: str


def warm_of(obj: Mapping[str, Any]) -> Warm | None:
    annotations = _meta(obj).get("annotations") or {}
    target = annotations.get(WARM_TARGET)
    if target is None:
        return None
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    return Warm(str(_meta(obj).get("name")), int(spec.get("replicas") or 0),
                int(status.get("readyReplicas") or 0),
                int(target) if str(target).isdigit() else None,
                str(annotations.get(WARM_WHY, "")))


def component_of(obj: Mapping[str, Any], now: datetime) -> Component:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    if obj.get("kind") == "DaemonSet":
        desired, ready = status.get("desiredNumberScheduled", 0), status.get("numberReady", 0)
    else:
        desired, ready = spec.get("replicas", 1), status.get("readyReplicas", 0)
    pod = (spec.get("template") or {}).get("spec") or {}
    images = tuple(c.get("image", "") for c in pod.get("containers") or [])
    created = kube_time(_meta(obj).get("creationTimestamp"))
    return Component(str((_meta(obj).get("labels") or {}).get("component", "")),
                     str(obj.get("kind")), str(_meta(obj).get("name")), int(desired or 0),
                     int(ready or 0), images, now - created if created else None)


def source_of(hub_config: Mapping[str, Any] | None) -> tuple[str, dict[str, str]]:
    """Whose stack it is, and the names z2jh published (empty for classops's own)."""
    if hub_config is None:
        return "unknown", {}
    data = hub_config.get("data") or {}
    if any(k in data for k in Z2JH_NAME_KEYS) or "checksum_hook-image-puller" in data:
        return "z2jh (Helm)", {k: str(v) for k, v in data.items() if k in Z2JH_NAME_KEYS}
    if (_meta(hub_config).get("labels") or {}).get(MANAGED_BY) == "classops":
        return "classops", {}
    return "unknown", {}


def next_actions(timetable: Timetable | None, now: datetime,
                 count: int = NEXT) -> tuple[tuple[datetime, str, str], ...]:
    """The next `count` firings after `now`, up to the day after the term's end."""
    if timetable is None:
        return ()
    term = timetable.term
    end = datetime.combine(term.end + timedelta(days=2), datetime.min.time(), term.timezone)
    if end <= now:
        return ()
    found: Sequence[Occurrence] = [o for o in expand(timetable, now, end) if o.at > now]
    chosen = list(found[:count])
    warm = next((o for o in found if o.type == WARMUP), None)
    if warm is not None and warm not in chosen:  # the next warm-up, however far
        chosen.append(warm)
    return tuple((o.at, o.type, o.subject) for o in chosen)


def build(namespace: str, hub_config: Mapping[str, Any] | None,
          workloads: Iterable[Mapping[str, Any]], pvcs: Iterable[Mapping[str, Any]],
          snapshots: Iterable[Mapping[str, Any]] | None, servers: int | None,
          servers_from: str, actions: tuple[tuple[datetime, str, str], ...],
          now: datetime, snapshots_error: str = "",
          blockers: Mapping[str, Sequence[Blocker]] | None = None) -> Status:
    source, names = source_of(hub_config)
    workloads_seen = list(workloads)
    components = tuple(sorted((component_of(w, now) for w in workloads_seen),
                              key=lambda c: (c.component, c.name)))
    placeholder_name = names.get("user-placeholder")
    held = [c for c in components if c.component == "user-placeholder"
            and (placeholder_name is None or c.name == placeholder_name)]
    placeholders = (sum(c.desired for c in held), sum(c.ready for c in held))
    sizes = []
    for pvc in pvcs:
        capacity = ((pvc.get("status") or {}).get("capacity") or {}).get("storage") or \
            (((pvc.get("spec") or {}).get("resources") or {}).get("requests") or {}).get(
                "storage") or "0"
        sizes.append(quantity(str(capacity)))
    made = [t for s in snapshots or ()
            if (t := kube_time((s.get("status") or {}).get("creationTime")
                               or _meta(s).get("creationTimestamp")))]
    newest = now - max(made) if made else None
    warm = tuple(w for obj in workloads_seen if (_meta(obj).get("labels") or {}).get(
        "component") == "user-placeholder" and (w := warm_of(obj)) is not None)
    upcoming = next(((at, subject) for at, kind, subject in actions if kind == WARMUP), None)
    return Status(namespace, source, components, placeholders, servers, servers_from,
                  len(sizes), sum(sizes), newest, snapshots_error, actions, warm, upcoming,
                  tuple((k, tuple(v)) for k, v in sorted((blockers or {}).items()) if v))


def _age(age: timedelta | None) -> str:
    if age is None:
        return "-"
    seconds = max(0, int(age.total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def table(s: Status) -> str:
    rows = [("COMPONENT", "KIND/NAME", "READY", "AGE", "IMAGE")] + [
        (c.component, f"{c.kind.lower()}/{c.name}", f"{c.ready}/{c.desired}", _age(c.age),
         ", ".join(c.images)) for c in s.components]
    width = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = [f"{s.namespace}: {s.source} stack"]
    lines += ["  ".join(f"{v:<{width[i]}}" if i < 4 else v for i, v in enumerate(r)).rstrip()
              for r in rows]
    if s.blockers:
        lines += ["", "not ready:"] + [f"  {name}: {b.line()}" for name, found in s.blockers
                                       for b in found]
    servers = "unknown" if s.servers is None else str(s.servers)
    snapshot = s.snapshots or (f"{_age(s.newest_snapshot)} ago" if s.newest_snapshot
                               is not None else "none yet")
    lines += ["",
              f"placeholders held:    {s.placeholders[1]} ready of {s.placeholders[0]}",
              f"user servers running: {servers} (from the {s.servers_from})",
              f"user PVCs:            {s.pvcs}, {s.pvc_bytes / 2**30:.1f} GiB",
              f"newest snapshot:      {snapshot}",
              *[f"warm-up:              {w.name} holds {w.held} ({w.ready} ready), target "
                f"{w.target}: {w.why}" for w in s.warm],
              *([f"next warm-up:         {s.next_warmup[0].isoformat(timespec='minutes')}  "
                 f"{s.next_warmup[1]}"] if s.next_warmup else []),
              "next actions:" if s.next_actions else "next actions:         none scheduled"]
    lines += [f"  {at.isoformat(timespec='minutes')}  {kind}  {subject}"
              for at, kind, subject in s.next_actions]
    return "\n".join(lines)


def as_dict(s: Status) -> dict[str, Any]:
    found = asdict(s)
    found["components"] = [{**asdict(c), "images": list(c.images),
                            "age_seconds": c.age.total_seconds() if c.age else None}
                           for c in s.components]
    for c in found["components"]:
        del c["age"]
    found["placeholders"] = {"desired": s.placeholders[0], "ready": s.placeholders[1]}
    found["newest_snapshot_age_seconds"] = s.newest_snapshot.total_seconds() \
        if s.newest_snapshot is not None else None
    del found["newest_snapshot"]
    found["next_actions"] = [{"at": at.isoformat(), "type": t, "subject": subject}
                             for at, t, subject in s.next_actions]
    found["warm"] = [asdict(w) for w in s.warm]
    found["next_warmup"] = ({"at": s.next_warmup[0].isoformat(), "subject": s.next_warmup[1]}
                            if s.next_warmup else None)
    found["blockers"] = {name: [b.as_dict() for b in bs] for name, bs in s.blockers}
    return found


# -- I/O ---------------------------------------------------------------------------------------
def why(kube: Kube, namespace: str, workloads: Sequence[Mapping[str, Any]]
        ) -> dict[str, list[Blocker]]:
    """Why each of `workloads` (as read) is not ready: one list each of the namespace's pods,
    claims and core Events (Events are optional: a cluster or a Role without them says less)."""
    if not workloads:
        return {}
    pods = [o.raw for o in kube.list("v1", "Pod", namespace)]
    claims = [o.raw for o in kube.list("v1", "PersistentVolumeClaim", namespace)]
    try:
        events = [o.raw for o in kube.list("v1", "Event", namespace)]
    except ApiError:
        events = []
    return {f"{str(w.get('kind', '')).lower()}/{_meta(w).get('name')}":
            explain(w, pods, claims, events) for w in workloads}


def _running_servers(kube: Kube, hub: Hub | None, namespace: str) -> tuple[int, str]:
    if hub is not None:
        try:
            return sum(1 for u in hub.users() for srv in u.servers if srv.ready), "hub"
        except ApiError:
            pass  # the hub is down or unreachable: the pods still tell
    pods = kube.list("v1", "Pod", namespace, "component=singleuser-server")
    return sum(1 for p in pods if (p.raw.get("status") or {}).get("phase") == "Running"), "pods"


def read(kube: Kube, namespace: str, now: datetime, hub: Hub | None = None,
         timetable: Timetable | None = None) -> Status:
    configs = list(kube.list("v1", "ConfigMap", namespace, "component=hub"))
    hub_config = next((c.raw for c in configs if c.name == "hub"),
                      configs[0].raw if configs else None)
    workloads = [o.raw for api_version, kind in WORKLOADS
                 for o in kube.list(api_version, kind, namespace, "component")]
    pvcs = [o.raw for o in kube.list("v1", "PersistentVolumeClaim", namespace,
                                     "component=singleuser-storage")]
    snapshots: list[Mapping[str, Any]] | None = None
    error = ""
    try:
        snapshots = [o.raw for o in kube.list("snapshot.storage.k8s.io/v1", "VolumeSnapshot",
                                              namespace, "component=singleuser-storage")]
    except ApiError as err:
        error = "unavailable (no snapshot CRDs)" if err.not_found else f"unreadable: {err}"
    servers, servers_from = _running_servers(kube, hub, namespace)
    if timetable is not None:  # warm-ups fire the lead time this cluster measured (issue 14)
        samples = kube.get("v1", "ConfigMap", LEAD_TIMES, namespace)
        timetable = learned(timetable, (samples.raw.get("data") or {}).get("samples")
                            if samples else None)[0]
    not_ready = [w for w in workloads if (c := component_of(w, now)).ready < c.desired]
    return build(namespace, hub_config, workloads, pvcs, snapshots, servers, servers_from,
                 next_actions(timetable, now), now, error, why(kube, namespace, not_ready))
