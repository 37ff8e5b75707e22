"""Why a workload is not ready: its blocking pods and the reason each one gives (pure).

`classops deploy` prints these while it waits and when it gives up, `classops status` for any
component not ready; both in `-o json` too. What is read, per pod of the workload (its
`spec.selector.matchLabels`) that is not Ready, in the order an operator acts on it:

- `PodScheduled=False` with its reason and message (the scheduler's `Unschedulable`:
  "0/3 nodes are available: 3 Insufficient cpu.");
- waiting containers (init containers first) with their reason and message: `ImagePullBackOff`,
  `ErrImagePull`, `CrashLoopBackOff` (with the last exit code), `CreateContainerConfigError`...;
- its PersistentVolumeClaims that are not `Bound` (an unbound claim keeps a pod Pending);
- Warning Events about the pod (`FailedScheduling`, `FailedMount`, `FailedAttachVolume`,
  `BackOff`, ...) and about the workload itself (`FailedCreate`: a quota, a refused pod), newest
  per reason, when the cluster records them (core `v1` Events).
A workload without pods yet says so. The I/O (one list each of pods, claims and Events for the
namespace) is `why` in `shared.stack.status`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

Obj = Mapping[str, Any]


@dataclass(frozen=True)
class Blocker:
    pod: str  # "" : the workload itself (no pods yet, or an Event about it)
    reason: str  # Unschedulable, ImagePullBackOff, CrashLoopBackOff, Unbound, FailedMount, ...
    message: str

    def line(self) -> str:
        where = f"pod/{self.pod}" if self.pod else "workload"
        return f"{where}: {self.reason}" + (f": {self.message}" if self.message else "")

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def _meta(obj: Obj) -> Obj:
    return obj.get("metadata") or {}


def selects(workload: Obj, pod: Obj) -> bool:
    spec = workload.get("spec") or {}
    wanted = ((spec.get("selector") or {}).get("matchLabels")
              or ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {})
    labels = _meta(pod).get("labels") or {}
    return bool(wanted) and all(labels.get(k) == v for k, v in wanted.items())


def pod_ready(pod: Obj) -> bool:
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def _warnings(events: Iterable[Obj], kind: str, name: str) -> list[Blocker]:
    """The newest Warning Event per reason about one object."""
    newest: dict[str, tuple[str, str]] = {}
    for e in events:
        about = e.get("involvedObject") or e.get("regarding") or {}
        if (about.get("kind"), about.get("name")) != (kind, name) or e.get("type") != "Warning":
            continue
        when = str(e.get("lastTimestamp") or e.get("eventTime") or
                   _meta(e).get("creationTimestamp") or "")
        reason = str(e.get("reason") or "")
        if reason not in newest or when >= newest[reason][0]:
            newest[reason] = (when, str(e.get("message") or e.get("note") or "").strip())
    return [Blocker(name if kind == "Pod" else "", reason, message)
            for reason, (_, message) in sorted(newest.items())]


def _containers(pod: Obj) -> list[Blocker]:
    status, name = pod.get("status") or {}, str(_meta(pod).get("name", ""))
    found = []
    for c in [*(status.get("initContainerStatuses") or []),
              *(status.get("containerStatuses") or [])]:
        waiting = (c.get("state") or {}).get("waiting")
        if not waiting or waiting.get("reason") in (None, "", "ContainerCreating",
                                                    "PodInitializing"):
            continue
        message = str(waiting.get("message") or "")
        last = ((c.get("lastState") or {}).get("terminated") or {})
        if waiting.get("reason") == "CrashLoopBackOff" and "exitCode" in last:
            message = (f"last exit code {last['exitCode']}"
                       + (f" ({last['reason']})" if last.get("reason") else "")
                       + (f"; {message}" if message else ""))
        found.append(Blocker(name, str(waiting["reason"]),
                             f"container {c.get('name')}: {message}".rstrip(": ")))
    return found


def _claims(pod: Obj, claims: Mapping[str, Obj]) -> list[Blocker]:
    found, name = [], str(_meta(pod).get("name", ""))
    for volume in (pod.get("spec") or {}).get("volumes") or []:
        claim = (volume.get("persistentVolumeClaim") or {}).get("claimName")
        if not claim:
            continue
        pvc = claims.get(claim)
        if pvc is None:
            found.append(Blocker(name, "MissingClaim", f"PersistentVolumeClaim {claim} does "
                                                       f"not exist"))
        elif (phase := (pvc.get("status") or {}).get("phase")) != "Bound":
            found.append(Blocker(name, "Unbound", f"PersistentVolumeClaim {claim} is "
                                                  f"{phase or 'Pending'}"))
    return found


def explain(workload: Obj, pods: Sequence[Obj], claims: Sequence[Obj],
            events: Sequence[Obj]) -> list[Blocker]:
    """Why `workload` is not ready (an empty list: nothing to say, e.g. it is rolling out)."""
    kind, name = str(workload.get("kind", "")), str(_meta(workload).get("name", ""))
    by_name = {str(_meta(c).get("name")): c for c in claims}
    mine = [p for p in pods if selects(workload, p) and not _meta(p).get("deletionTimestamp")]
    found = _warnings(events, kind, name)
    if not mine:
        return found or [Blocker("", "NoPods", "no pod exists yet")]
    for pod in sorted(mine, key=lambda p: str(_meta(p).get("name"))):
        if pod_ready(pod):
            continue
        pod_name = str(_meta(pod).get("name"))
        conditions = (pod.get("status") or {}).get("conditions") or []
        scheduled = next((c for c in conditions if c.get("type") == "PodScheduled"), None)
        if scheduled is not None and scheduled.get("status") == "False":
            found.append(Blocker(pod_name, str(scheduled.get("reason") or "NotScheduled"),
                                 str(scheduled.get("message") or "")))
        found += _containers(pod) + _claims(pod, by_name)
        said = {f.message for f in found}  # FailedScheduling repeats the condition's message
        found += [b for b in _warnings(events, "Pod", pod_name) if b.message not in said]
    return found
