"""Nodes as a kubelet registers them, and a node that vanishes with its pods.

- `node_body` is the Node a kubelet registers: labels (`kubernetes.io/hostname`, `os`, `arch`),
  taints, `status.capacity`/`allocatable` (cpu, memory, pods), a Ready (or NotReady) condition
  and addresses. Every address is loopback: the InternalIP of node index i is
  127.100.<i // 250>.<i % 250 + 1>, so nothing the emulator hands out leaves the machine.
- `add_nodes` registers N Ready nodes (`python -m tests.kubeemu --nodes N`).
- `vanish_node` is a machine that disappears (a spot VM reclaimed, a host that died): the Node
  and every pod bound to it go at once. The pods are force-deleted as PodGC does for pods of a
  Node that no longer exists (with the `DisruptionTarget` condition, reason `DeletionByPodGC`),
  and the node controller records `RemovingNode` on the Node, as kube-controller-manager does.
- `parse_labels` / `parse_taints` read the command line's `k=v,...` and `k=v:Effect,...`.
"""

from __future__ import annotations

import contextlib
import re
from typing import TYPE_CHECKING, Any

from .clock import timestamp
from .recorder import record_event
from .store import ApiError, Obj

if TYPE_CHECKING:
    from .emulator import Emulator

_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
_KEY = re.compile(r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")


def node_address(index: int) -> str:
    """The loopback InternalIP of the index-th node the emulator registers (0-based)."""
    return f"127.100.{index // 250}.{index % 250 + 1}"


def node_body(name: str, *, cpu: str = "8", memory: str = "32Gi", pods: int = 110,
              labels: dict[str, str] | None = None, taints: list[Obj] | None = None,
              address: str = "127.100.0.1", ready: bool = True, now: str = "",
              provider_id: str = "") -> Obj:
    capacity = {"cpu": str(cpu), "memory": str(memory), "pods": str(pods)}
    ready_condition: Obj = {
        "type": "Ready", "status": "True" if ready else "False",
        "reason": "KubeletReady" if ready else "KubeletNotReady",
        "message": "kubelet is posting ready status" if ready else
        "container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady",
        **({"lastHeartbeatTime": now, "lastTransitionTime": now} if now else {})}
    body: Obj = {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "labels": {
            "kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
            "kubernetes.io/arch": "amd64", **(labels or {})}},
        "spec": {"taints": list(taints or [])},
        "status": {"capacity": capacity, "allocatable": dict(capacity),
                   "conditions": [ready_condition],
                   "addresses": [{"type": "InternalIP", "address": address},
                                 {"type": "Hostname", "address": name}],
                   "nodeInfo": {"kubeletVersion": "v1.33.0", "containerRuntimeVersion":
                                "containerd://2.0.0", "operatingSystem": "linux",
                                "architecture": "amd64", "osImage": "kubeemu",
                                "kernelVersion": "", "kubeProxyVersion": "", "machineID": "",
                                "systemUUID": "", "bootID": ""}}}
    if provider_id:
        body["spec"]["providerID"] = provider_id
    return body


def _nodes(emu: Emulator) -> Any:
    res = emu.catalogue.find("", "v1", "nodes")
    assert res is not None
    return res


def add_nodes(emu: Emulator, count: int, prefix: str = "node", **shape: Any) -> list[str]:
    """Register `count` Ready nodes named <prefix>-1.. (skipping names taken)."""
    res, made = _nodes(emu), list[str]()
    index = sum(1 for _ in emu.store.items(res.key))
    n = 0
    while len(made) < count:
        n += 1
        name = f"{prefix}-{n}"
        if emu.store.get(res.key, ("", name)) is not None:
            continue
        emu.registry.create(res, "", node_body(
            name, address=node_address(index), now=timestamp(emu.clock.now()), **shape),
            manager="kubelet")
        index += 1
        made.append(name)
    return made


def vanish_node(emu: Emulator, name: str) -> list[str]:
    """Remove the Node `name` and force-delete every pod bound to it; the pods' names
    ("namespace/name"). 404 if there is no such node."""
    from .controllers.pods import disruption_target, spec, status, with_condition

    nodes = _nodes(emu)
    pods = emu.catalogue.find("", "v1", "pods")
    assert pods is not None
    now, gone = emu.clock.now(), []
    with emu.store.lock:  # one step for every controller: no pass sees the node without pods
        node = emu.registry.read(nodes, "", name)
        for (namespace, pod_name), pod in list(emu.store.items(pods.key)):
            if spec(pod).get("nodeName") != name:
                continue
            marked = {**pod, "status": with_condition(status(pod), disruption_target(
                "DeletionByPodGC", "PodGC: node no longer exists", now))}
            with contextlib.suppress(ApiError):  # written meanwhile: it goes anyway
                emu.registry.update(pods, namespace, pod_name, marked, "status", manager="pod-gc")
            try:
                emu.registry.delete(pods, namespace, pod_name, {"gracePeriodSeconds": 0})
                gone.append(f"{namespace}/{pod_name}")
            except ApiError:
                pass
        emu.registry.delete(nodes, "", name, {"gracePeriodSeconds": 0})
    record_event(emu, node, "RemovingNode", f"Node {name} event: Removing Node {name} from "
                 "Controller", component="node-controller")
    return gone


def parse_labels(text: str, what: str = "--node-labels") -> dict[str, str]:
    """`k=v,k2=v2` -> dict; ValueError naming the bad item and what was expected."""
    out: dict[str, str] = {}
    for item in filter(None, (t.strip() for t in text.split(","))):
        key, eq, value = item.partition("=")
        if not eq or not _KEY.match(key):
            raise ValueError(f"{what}: {item!r} is not key=value (e.g. "
                             "hub.jupyter.org/node-purpose=user)")
        out[key] = value
    return out


def parse_taints(text: str, what: str = "--node-taints") -> list[Obj]:
    """`k=v:Effect,...` (value optional: `k:Effect`) -> taints; ValueError on a bad one."""
    out = []
    for item in filter(None, (t.strip() for t in text.split(","))):
        pair, colon, effect = item.rpartition(":")
        key, _, value = pair.partition("=")
        if not colon or effect not in _EFFECTS or not _KEY.match(key):
            raise ValueError(f"{what}: {item!r} is not key=value:Effect with Effect one of "
                             f"{', '.join(_EFFECTS)} (e.g. hub.jupyter.org/dedicated=user:"
                             "NoSchedule)")
        taint: Obj = {"key": key, "effect": effect}
        if value:
            taint["value"] = value
        out.append(taint)
    return out
