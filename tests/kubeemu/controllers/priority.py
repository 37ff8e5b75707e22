"""The Priority admission plugin: a new pod's `spec.priority` from its `priorityClassName`.

As https://kubernetes.io/docs/concepts/scheduling-eviction/pod-priority-preemption/ describes:
the named scheduling.k8s.io/v1 PriorityClass gives `value` (and `preemptionPolicy`); without a
name, the class with `globalDefault: true` does, else priority 0. The two built-in classes
`system-cluster-critical` and `system-node-critical` always exist. An unknown name is refused with
403 Forbidden "no PriorityClass with name X was found", and a pod that brings its own
`spec.priority` different from the computed one is refused too. Only creation is admitted: priority
is immutable afterwards.
"""

from __future__ import annotations

from ..resources import Resource
from ..store import ApiError, Obj, Store

BUILTIN = {"system-cluster-critical": 2_000_000_000, "system-node-critical": 2_000_001_000}


def _forbidden(pod: Obj, why: str) -> ApiError:
    name = pod["metadata"].get("name", "")
    return ApiError(403, "Forbidden", f'pods "{name}" is forbidden: {why}',
                    {"name": name, "kind": "pods"})


class PriorityAdmission:
    """fn(res, old, new) -> new, for `registry.admission`."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def __call__(self, res: Resource, old: Obj | None, new: Obj) -> Obj:
        if res.key != "pods" or old is not None:
            return new
        spec = new.setdefault("spec", {})
        name = spec.get("priorityClassName") or ""
        value, policy = 0, "PreemptLowerPriority"
        if name in BUILTIN:
            value = BUILTIN[name]
        elif name:
            pc = self.store.get("priorityclasses.scheduling.k8s.io", ("", name))
            if pc is None:
                raise _forbidden(new, f"no PriorityClass with name {name} was found")
            value, policy = int(pc.get("value", 0)), pc.get("preemptionPolicy") or policy
        else:
            default = next((pc for _, pc in self.store.items("priorityclasses.scheduling.k8s.io")
                            if pc.get("globalDefault")), None)
            if default is not None:
                spec["priorityClassName"] = default["metadata"]["name"]
                value = int(default.get("value", 0))
                policy = default.get("preemptionPolicy") or policy
        if spec.get("priority") is not None and spec["priority"] != value:
            raise _forbidden(new, "the integer value of priority "
                             f"({spec['priority']}) must not be provided in pod spec; priority "
                             f"admission controller computed {value} from the given "
                             "PriorityClass name")
        spec["priority"] = value
        spec.setdefault("preemptionPolicy", policy)
        return new
