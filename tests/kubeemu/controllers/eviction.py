"""The Eviction API: `POST .../pods/{name}/eviction`, a delete that honours PodDisruptionBudgets.

Served by the apiserver itself (always on, controllers or not), beside the disruption controller
whose PDB status it reads and spends. As https://kubernetes.io/docs/concepts/scheduling-eviction/
api-eviction/ and kube-apiserver's `pkg/registry/core/pod/storage/eviction.go` have it:

- The body is a policy/v1 (or v1beta1) Eviction naming the pod (else 400 "name in URL does not
  match name in Eviction object"); its `deleteOptions` (grace period, preconditions, dryRun) are
  those of the delete that follows.
- A pod that is Pending, Succeeded, Failed or already terminating is deleted without looking at
  budgets. Otherwise the PDBs of its namespace selecting it are found: none, the pod is deleted;
  more than one, 500 "This pod has more than one PodDisruptionBudget, which the eviction
  subresource does not support."; one, then:
  - a PDB whose `status.observedGeneration` is behind its generation (the controller has not
    seen it) is 429 with `Retry-After: 10`, cause "The disruption budget X is still being
    processed by the server.";
  - a pod that is not Ready is deleted without spending the budget when
    `unhealthyPodEvictionPolicy` is `AlwaysAllow`, or (default `IfHealthyBudget`) when
    currentHealthy >= desiredHealthy > 0;
  - otherwise `disruptionsAllowed` 0 is 429 TooManyRequests "Cannot evict pod as it would violate
    the pod's disruption budget." with the cause (type `DisruptionBudget`) "The disruption budget
    X needs D healthy pods and has C currently" (or the SyncFailed message); above 0 it is
    decremented and the pod put in `disruptedPods` (both in the PDB's status) in the same atomic
    step as the delete, so concurrent evictions cannot overspend.
- The pod then gets the `DisruptionTarget` condition (reason `EvictionByEvictionAPI`, message
  "Eviction API: evicting") and is deleted gracefully; the answer is 201 with a Success Status.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING

from ..clock import timestamp
from ..registry import Registry
from ..store import ApiError, Obj
from .disruption import covered
from .pods import disruption_target, ready, status, terminating, with_condition

if TYPE_CHECKING:
    from ..emulator import Emulator

_REFUSED = "Cannot evict pod as it would violate the pod's disruption budget."
_MORE_THAN_ONE = ("This pod has more than one PodDisruptionBudget, which the eviction subresource "
                  "does not support.")


def _too_many(cause: str, retry_after: int = 0) -> ApiError:
    details: Obj = {"causes": [{"reason": "DisruptionBudget", "message": cause}]}
    headers = {}
    if retry_after:
        details["retryAfterSeconds"] = retry_after
        headers["Retry-After"] = str(retry_after)
    return ApiError(429, "TooManyRequests", _REFUSED, details, headers)


def _can_ignore_budgets(pod: Obj) -> bool:
    return status(pod).get("phase") in ("Pending", "Succeeded", "Failed") or terminating(pod)


def _refusal(pdb: Obj) -> ApiError:
    name, st = pdb["metadata"]["name"], status(pdb)
    failed = next((c for c in st.get("conditions") or [] if c.get("type") == "DisruptionAllowed"
                   and c.get("status") == "False" and c.get("message")), None)
    if failed is not None and failed.get("reason") == "SyncFailed":
        return _too_many(f"The disruption budget {name} does not allow evicting pods currently "
                         f"because it failed sync: {failed['message']}")
    return _too_many(f"The disruption budget {name} needs {st.get('desiredHealthy', 0)} healthy "
                     f"pods and has {st.get('currentHealthy', 0)} currently")


def _spend(registry: Registry, emu: Emulator, pdb: Obj, pod: Obj, dry_run: bool) -> None:
    """checkAndDecrement: refuse, or take one allowed disruption and note the pod."""
    st = status(pdb)
    if st.get("observedGeneration", 0) < pdb["metadata"].get("generation", 1):
        raise _too_many(f"The disruption budget {pdb['metadata']['name']} is still being "
                        "processed by the server.", retry_after=10)
    if st.get("disruptionsAllowed", 0) <= 0:
        raise _refusal(pdb)
    if dry_run:
        return
    new = copy.deepcopy(st)
    new["disruptionsAllowed"] -= 1
    new.setdefault("disruptedPods", {})[pod["metadata"]["name"]] = timestamp(emu.clock.now())
    res = emu.catalogue.find("policy", "v1", "poddisruptionbudgets")
    assert res is not None
    meta = pdb["metadata"]
    registry.update(res, meta["namespace"], meta["name"], {**pdb, "status": new}, "status",
                    manager="kube-apiserver")


def evict(emu: Emulator, namespace: str, name: str, body: Obj, dry_run: bool) -> tuple[int, Obj]:
    """The answer (code, body) to an Eviction of pod `name`; raises ApiError for refusals."""
    meta = body.get("metadata") or {}
    if body.get("kind") not in (None, "Eviction") or body.get("apiVersion") not in (
            None, "policy/v1", "policy/v1beta1"):
        raise ApiError(400, "BadRequest", f"the kind in the body ({body.get('kind')}) does not "
                       "match the kind of the resource (Eviction)")
    if meta.get("name") != name:
        raise ApiError(400, "BadRequest", "name in URL does not match name in Eviction object")
    if meta.get("namespace") and meta["namespace"] != namespace:
        raise ApiError(400, "BadRequest", "the namespace of the provided object does not match "
                       "the namespace sent on the request")
    options: Obj = dict(body.get("deleteOptions") or {})
    dry_run = dry_run or "All" in (options.pop("dryRun", None) or [])
    registry, pods = emu.registry, emu.catalogue.find("", "v1", "pods")
    pdbs = emu.catalogue.find("policy", "v1", "poddisruptionbudgets")
    assert pods is not None and pdbs is not None
    with emu.store.lock:  # one eviction at a time: a budget is never spent twice
        pod = registry.read(pods, namespace, name)
        if not _can_ignore_budgets(pod):
            budgets = [b for _, b in emu.store.items(pdbs.key, namespace) if covered(b, [pod])]
            if len(budgets) > 1:
                return 500, {"kind": "Status", "apiVersion": "v1", "metadata": {},
                             "status": "Failure", "message": _MORE_THAN_ONE, "code": 500}
            if budgets:
                pdb, st = budgets[0], status(budgets[0])
                policy = (pdb.get("spec") or {}).get("unhealthyPodEvictionPolicy")
                unhealthy_goes = not ready(pod) and (policy == "AlwaysAllow" or (
                    st.get("currentHealthy", 0) >= st.get("desiredHealthy", 0) > 0))
                if not unhealthy_goes:
                    _spend(registry, emu, pdb, pod, dry_run)
        wanted = options.get("preconditions") or {}
        for field in ("uid", "resourceVersion"):
            if wanted.get(field) and wanted[field] != pod["metadata"].get(field):
                raise ApiError(409, "Conflict", f'Operation cannot be fulfilled on Pod "{name}": '
                               f"the {field} in the precondition ({wanted[field]}) does not "
                               f"match the {field} in record ({pod['metadata'].get(field)}). "
                               "The object might have been modified", {"name": name,
                                                                       "kind": "Pod"})
        if not dry_run:
            marked = with_condition(status(pod), disruption_target(
                "EvictionByEvictionAPI", "Eviction API: evicting", emu.clock.now()))
            pod = registry.update(pods, namespace, name, {**pod, "status": marked}, "status",
                                  manager="kube-apiserver")
            if wanted.get("resourceVersion"):  # we wrote it ourselves just now
                options["preconditions"] = {**wanted,
                                            "resourceVersion": pod["metadata"]["resourceVersion"]}
        registry.delete(pods, namespace, name, options, dry_run)
    return 201, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                 "code": 201}
