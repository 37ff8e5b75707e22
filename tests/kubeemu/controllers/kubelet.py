"""The kubelet of every node: start bound pods on the emulated clock, and end deleted ones.

A model of https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/ sized to the hub:

- **Start.** A pod bound to a node is taken by the kubelet at that moment (`startTime`). Each of
  its images is pulled once per node: the first pod to need an image on a node waits
  `pull_seconds` for it (a pod needing an image whose pull is under way waits for that pull), later
  pods find it in the node's image cache (which is why a DaemonSet image puller helps). Init
  containers run in order, each taking `start_seconds` once its image is there; then the
  containers start together, `start_seconds` after the last init container and their images.
  Until then the pod is Pending with its containers waiting (`ContainerCreating`, or
  `PodInitializing` behind init containers); then Running, Ready (no probes are modelled), with
  `podIP`, `hostIP`, the conditions PodScheduled, Initialized, ContainersReady, Ready and
  `containerStatuses`. Every time in the status is derived from the pod's timeline, so a pass
  that finds nothing new writes nothing.
- **Graceful deletion** (https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/
  #pod-termination): deleting a pod bound to a node keeps it with `deletionTimestamp` = now +
  grace (the delete options' `gracePeriodSeconds`, else the pod's
  `terminationGracePeriodSeconds`, default 30) and `deletionGracePeriodSeconds`; the kubelet
  removes it (a delete with grace 0) once that time has come on the clock (kept exact in
  memory: deletionTimestamp itself has whole seconds only). A grace of 0, or a pod not
  bound to a node, is deleted at once, as the apiserver does.
- **Pod garbage collection** (https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/
  #pod-garbage-collection): a pod bound to a Node that no longer exists is deleted at once (the
  real PodGC waits out a short quarantine first).
"""

from __future__ import annotations

import hashlib
import threading
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from ..clock import timestamp
from ..recorder import record_event
from ..resources import Resource
from ..store import Obj
from .base import Controller, deep
from .pods import finished, spec, status, terminating

if TYPE_CHECKING:
    from ..emulator import Emulator

DEFAULT_GRACE = 30
# The conditions the kubelet writes; others (PodScheduled, DisruptionTarget) are kept as found.
_OWN_CONDITIONS = frozenset({"PodReadyToStartContainers", "Initialized", "Ready",
                             "ContainersReady"})


def image_id(image: str) -> str:
    digest = hashlib.sha256(image.encode()).hexdigest()
    repo = image.rsplit(":", 1)[0] if ":" in image.rsplit("/", 1)[-1] else image
    return f"{repo}@sha256:{digest}"


class Kubelet(Controller):
    name = "kubelet"

    def __init__(self, emu: Emulator, start_seconds: float = 1.0,
                 pull_seconds: float = 5.0) -> None:
        super().__init__(emu)
        self.start_seconds, self.pull_seconds = start_seconds, pull_seconds
        self.pods, self.nodes = self.resource("", "pods"), self.resource("", "nodes")
        self.images: dict[str, dict[str, datetime]] = {}  # node -> image -> there from
        self._taken: dict[str, datetime] = {}  # pod uid -> when its kubelet took it
        self._nodes: dict[str, int] = {}  # node -> index, for addresses
        self._ips: dict[str, str] = {}  # pod uid -> pod IP
        self._ending: dict[str, datetime] = {}  # pod uid -> when its grace period ends
        self._lock = threading.Lock()  # _ending is written by the graceful hook too
        self._settled: dict[str, str] = {}  # pod uid -> resourceVersion it was Running at
        self._said: dict[str, set[str]] = {}  # pod uid -> the Events already recorded for it
        self._telling: list[tuple[Obj, str, str, str, str, datetime]] = []  # to record
        self._pulls: dict[str, dict[str, tuple[datetime, bool]]] = {}  # uid -> image -> (there,
        # whether it had to wait for a pull)

    def start(self) -> None:
        if self.graceful not in self.registry.graceful:
            self.registry.graceful.append(self.graceful)
        super().start()

    def stop(self) -> None:
        super().stop()
        if self.graceful in self.registry.graceful:
            self.registry.graceful.remove(self.graceful)

    # -- deletion -------------------------------------------------------------------------------
    def graceful(self, res: Resource, obj: Obj, options: Obj) -> Obj | None:
        if res.key != "pods" or not spec(obj).get("nodeName") or finished(obj):
            return None
        grace = options.get("gracePeriodSeconds")
        if grace is None:
            grace = spec(obj).get("terminationGracePeriodSeconds", DEFAULT_GRACE)
        grace = int(grace)
        meta = obj["metadata"]
        if grace <= 0:
            return None
        now = self.emu.clock.now()
        deadline = now + timedelta(seconds=grace)
        if meta.get("deletionTimestamp") and _parse(meta["deletionTimestamp"]) <= deadline:
            return obj  # already terminating sooner; a longer grace never extends it
        with self._lock:  # the exact end, for the kubelet: deletionTimestamp has whole seconds
            self._ending[meta["uid"]] = deadline
        kept = deep(obj)
        kept["metadata"]["deletionTimestamp"] = timestamp(deadline)
        kept["metadata"]["deletionGracePeriodSeconds"] = grace
        return kept

    # -- the loop -------------------------------------------------------------------------------
    def reconcile(self, now: datetime) -> None:
        nodes = {n["metadata"]["name"]: n for n in self.items(self.nodes)}
        present = set()
        for pod in self.items(self.pods):
            node = spec(pod).get("nodeName")
            if not node:
                continue
            present.add(pod["metadata"]["uid"])
            if node not in nodes:
                self.delete(self.pods, pod, grace=0)
            elif terminating(pod):
                self._say_killing(pod, nodes[node])
                with self._lock:
                    end = self._ending.setdefault(pod["metadata"]["uid"], _parse(
                        pod["metadata"]["deletionTimestamp"]))
                if now >= end:
                    self.delete(self.pods, pod, grace=0)
            elif not finished(pod):
                self._sync(pod, nodes[node], now)
        with self._lock:
            for uid in (set(self._taken) | set(self._ending) | set(self._settled)
                        | set(self._said)) - present:
                self._said.pop(uid, None)
                self._pulls.pop(uid, None)
                self._taken.pop(uid, None)
                self._ips.pop(uid, None)
                self._ending.pop(uid, None)
                self._settled.pop(uid, None)
        self._tell()

    def _image_there(self, node: str, image: str, taken: datetime) -> datetime:
        cache = self.images.setdefault(node, {})
        return cache.setdefault(image, taken + timedelta(seconds=self.pull_seconds))

    def _sync(self, pod: Obj, node: Obj, now: datetime) -> None:
        uid, node_name = pod["metadata"]["uid"], node["metadata"]["name"]
        if self._settled.get(uid) == pod["metadata"]["resourceVersion"]:
            return  # running, and nobody has written it since
        taken = self._taken.setdefault(uid, now)
        step = timedelta(seconds=self.start_seconds)
        inits = spec(pod).get("initContainers") or []
        containers = spec(pod).get("containers") or []
        images = {c.get("image", ""): self._image_there(node_name, c.get("image", ""), taken)
                  for c in [*inits, *containers]}
        pulls = self._pulls.setdefault(uid, {})
        for image, there in images.items():
            pulls.setdefault(image, (there, there > taken))
        done, t = [], taken
        for c in inits:
            t = max(t, images[c.get("image", "")]) + step
            done.append(t)
        running = max([t] + [images[c.get("image", "")] for c in containers]) + step
        initialized = not inits or now >= done[-1]
        up = now >= running
        old = status(pod)
        new = {**old, "phase": "Running" if up else "Pending", "startTime": timestamp(taken),
               "hostIP": self._host_ip(node), "hostIPs": [{"ip": self._host_ip(node)}]}
        ip = old.get("podIP") or self._ips.get(uid) or self._pod_ip(node_name)
        self._ips[uid] = ip
        new["podIP"], new["podIPs"] = ip, [{"ip": ip}]
        others = [c for c in old.get("conditions") or [] if c.get("type") not in _OWN_CONDITIONS]
        ready_at = running if up else taken

        def cond(kind: str, ok: bool, at: datetime, reason: str = "") -> Obj:
            out: Obj = {"type": kind, "status": "True" if ok else "False", "lastProbeTime": None,
                        "lastTransitionTime": timestamp(at)}
            if not ok and reason:
                out["reason"] = reason
            return out

        new["conditions"] = [
            cond("PodReadyToStartContainers", True, taken),
            cond("Initialized", initialized, done[-1] if inits and initialized else taken,
                 "ContainersNotInitialized"),
            cond("Ready", up, ready_at, "ContainersNotReady"),
            cond("ContainersReady", up, ready_at, "ContainersNotReady"),
            *others]
        if inits:
            new["initContainerStatuses"] = [
                self._init_status(c, now, done[i]) for i, c in enumerate(inits)]
        waiting = "ContainerCreating" if initialized else "PodInitializing"
        new["containerStatuses"] = [self._container_status(c, up, running, waiting)
                                    for c in containers]
        written = self.set_status(self.pods, pod, new)
        if written is not None:
            self._say_progress(written, node_name, now, taken, done, running)
        if up and written is not None:
            self._settled[uid] = written["metadata"]["resourceVersion"]

    # -- Events (recorder.py), as the kubelet records them ---------------------------------------
    def _say(self, pod: Obj, node: str, key: str, reason: str, message: str, field_path: str,
             when: datetime) -> None:
        said = self._said.setdefault(pod["metadata"]["uid"], set())
        if key in said:
            return
        said.add(key)
        # Written once the pass's status writes are done, so those stay as close together as
        # a kubelet's sync of its pods.
        self._telling.append((pod, reason, message, node, field_path, when))

    def _tell(self) -> None:
        telling, self._telling = self._telling, []
        for pod, reason, message, node, field_path, when in telling:
            record_event(self.emu, pod, reason, message, component="kubelet", host=node,
                         field_path=field_path, when=when)

    def _say_progress(self, pod: Obj, node: str, now: datetime, taken: datetime,
                      done: list[datetime], running: datetime) -> None:
        """Pulling/Pulled per container image, Created and Started per container, each once its
        time has come on the clock (stamped with that time)."""
        uid = pod["metadata"]["uid"]
        inits = spec(pod).get("initContainers") or []
        containers = spec(pod).get("containers") or []
        started = [*done, *([running] * len(containers))]
        for i, c in enumerate([*inits, *containers]):
            name, image = c.get("name", ""), c.get("image", "")
            path = (f"spec.initContainers{{{name}}}" if i < len(inits)
                    else f"spec.containers{{{name}}}")
            there, pulled = self._pulls[uid].get(image, (taken, False))
            if pulled:
                self._say(pod, node, f"pulling/{name}", "Pulling", f'Pulling image "{image}"',
                          path, taken)
                if now >= there:
                    took = go_duration((there - taken).total_seconds())
                    self._say(pod, node, f"pulled/{name}", "Pulled",
                              f'Successfully pulled image "{image}" in {took} ({took} including '
                              f"waiting). Image size: {image_size(image)} bytes.", path, there)
            else:
                self._say(pod, node, f"pulled/{name}", "Pulled",
                          f'Container image "{image}" already present on machine', path, taken)
            start = started[i]
            if now >= start:
                self._say(pod, node, f"created/{name}", "Created", f"Created container: {name}",
                          path, start)
                self._say(pod, node, f"started/{name}", "Started", f"Started container {name}",
                          path, start)

    def _say_killing(self, pod: Obj, node: Obj) -> None:
        for c in spec(pod).get("containers") or []:
            name = c.get("name", "")
            self._say(pod, node["metadata"]["name"], f"killing/{name}", "Killing",
                      f"Stopping container {name}", f"spec.containers{{{name}}}",
                      self.emu.clock.now())

    def _container_status(self, c: Obj, up: bool, at: datetime, waiting: str) -> Obj:
        image = c.get("image", "")
        out: Obj = {"name": c.get("name", ""), "image": image, "restartCount": 0,
                    "ready": up, "started": up, "lastState": {}}
        if up:
            out["imageID"] = image_id(image)
            out["containerID"] = "containerd://" + hashlib.sha256(
                f"{c.get('name')}/{at.isoformat()}/{image}".encode()).hexdigest()
            out["state"] = {"running": {"startedAt": timestamp(at)}}
        else:
            out["imageID"] = ""
            out["state"] = {"waiting": {"reason": waiting}}
        return out

    def _init_status(self, c: Obj, now: datetime, done: datetime) -> Obj:
        image = c.get("image", "")
        out: Obj = {"name": c.get("name", ""), "image": image, "restartCount": 0,
                    "ready": now >= done, "started": False, "lastState": {}}
        if now >= done:
            out["imageID"] = image_id(image)
            out["state"] = {"terminated": {"exitCode": 0, "reason": "Completed",
                                           "startedAt": timestamp(done),
                                           "finishedAt": timestamp(done)}}
        else:
            out["imageID"] = ""
            out["state"] = {"waiting": {"reason": "PodInitializing"}}
        return out

    def _index(self, node: str) -> int:
        return self._nodes.setdefault(node, len(self._nodes))

    def _host_ip(self, node: Obj) -> str:
        for address in status(node).get("addresses") or []:
            if address.get("type") == "InternalIP":
                return str(address["address"])
        index = self._index(node["metadata"]["name"])
        return f"10.0.{index // 250}.{index % 250 + 1}"

    def _pod_ip(self, node: str) -> str:
        """The node's pod CIDR is 10.244.<node index>.0/24, as flannel's default hands out."""
        used = set(self._ips.values())
        base = self._index(node)
        for n in range(2, 255):
            ip = f"10.{244 + base // 256}.{base % 256}.{n}"
            if ip not in used:
                return ip
        raise RuntimeError(f"no pod IP left on node {node}")


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value)


def image_size(image: str) -> int:
    """A stable made-up size (200-1200 MB) for the Pulled message."""
    return 200_000_000 + int(hashlib.sha256(image.encode()).hexdigest()[:8], 16) % 1_000_000_000


def go_duration(seconds: float) -> str:
    """Go's time.Duration String() at millisecond precision: "0s", "1.5s", "2m3s", "1h0m0s"."""
    millis = round(seconds * 1000)
    if millis == 0:
        return "0s"
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs = f"{rest / 1000:.3f}".rstrip("0").rstrip(".")
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{minutes}m{secs}s"
    if millis < 1000:
        return f"{millis}ms"
    return f"{secs}s"

