"""The Job controller, and a kubelet for Job pods that runs their container as a local process.

What kube-controller-manager's Job controller does (https://kubernetes.io/docs/concepts/workloads/
controllers/job/), sized to classops's archive and restore Jobs:

- **Pods.** A Job keeps `min(parallelism, completions - succeeded)` pods active, each made from
  its template (`generateName: <job>-`, the labels `batch.kubernetes.io/job-name`, `job-name`,
  `batch.kubernetes.io/controller-uid`, `controller-uid`, a controller ownerReference).
  Replacements come at once (the real back-off of 10 s, 20 s, ... is not modelled).
- **Counting.** A pod that Succeeded or Failed counts once; a pod that vanished while active
  (deleted, its node gone) counts as failed; with `restartPolicy: OnFailure` each restart of the
  container counts as a failure too. `failed > backoffLimit` fails the Job (`FailureTarget`, then
  `Failed`, reason `BackoffLimitExceeded`); `activeDeadlineSeconds` after `startTime` on the
  emulated clock fails it with `DeadlineExceeded`, its active pods deleted; `completions`
  successes complete it (`SuccessCriteriaMet`, then `Complete`, `completionTime`). A finished Job
  with `ttlSecondsAfterFinished` is deleted (Foreground) that long after it finished.
- **Running** (the kubelet's part, `runner.py`): a Job pod bound to a node (and Running, when
  the `kubelet` controller runs) has its first container started as a local process, at most
  `max_processes` at once; its output is the container's log (`pods/log`). On exit the pod is
  Succeeded or Failed with the container's terminated state (exit code; a kill is 137). Processes
  run in wall time, whatever the emulated clock does (times written are the clock's);
  `kill(namespace, pod)` kills one half way; all are killed when the emulator stops. Only the
  first container runs; init containers and sidecars are not run.
"""

from __future__ import annotations

import contextlib
import hashlib
import shutil
import tempfile
import threading
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from ..clock import timestamp
from ..store import ApiError, Obj
from .base import Controller
from .disk import Disk, disk
from .notes import record
from .pods import (
    finished,
    from_template,
    omit_zero,
    owner,
    spec,
    status,
    terminating,
    with_condition,
)
from .runner import ConfigError, Process, prepare

if TYPE_CHECKING:
    from ..emulator import Emulator

COMPONENT = "job-controller"


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _condition(jobs_status: Obj, kind: str) -> bool:
    return any(c.get("type") == kind and c.get("status") == "True"
               for c in jobs_status.get("conditions") or [])


class Jobs(Controller):
    name = "jobs"

    def __init__(self, emu: Emulator, max_processes: int = 4, root: str | None = None) -> None:
        super().__init__(emu)
        self.disk: Disk = disk(emu, root)
        self.max_processes = max_processes
        self.jobs, self.pods = self.resource("batch", "jobs"), self.resource("", "pods")
        self.processes: dict[str, Process] = {}  # pod uid -> its process
        self._started: dict[str, datetime] = {}  # pod uid -> when its container started
        self._work: dict[str, Path] = {}  # pod uid -> its scratch folder
        self._logs: dict[str, Path] = {}  # pod uid -> its log folder
        self._restarts: dict[str, int] = {}  # pod uid -> container restarts (OnFailure)
        self._counted: set[str] = set()  # pod uids counted in their Job's status
        self._seen: dict[str, set[str]] = {}  # job uid -> pod uids seen active
        self._told: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    def stop(self) -> None:
        super().stop()
        with self._lock:
            for proc in self.processes.values():
                proc.kill()
            for proc in self.processes.values():
                with contextlib.suppress(Exception):
                    proc.popen.wait(timeout=5)
            self.processes.clear()
            for work in self._work.values():
                shutil.rmtree(work, ignore_errors=True)
            self._work.clear()
        self.disk.cleanup()

    # -- controls -------------------------------------------------------------------------------
    def kill(self, namespace: str, pod: str) -> bool:
        """SIGKILL the running container of that pod (it ends Failed, exit code 137)."""
        obj = self.store.get(self.pods.key, (namespace, pod))
        with self._lock:
            proc = self.processes.get(obj["metadata"]["uid"]) if obj else None
            if proc is None:
                return False
            proc.kill()
            return True

    def fill(self, pv_name: str, full: bool = True) -> None:
        """Mark a PV full (or not): growing a file in it fails from now on (see runner.py)."""
        with self._lock:
            (self.disk.full.add if full else self.disk.full.discard)(pv_name)
            for proc in self.processes.values():
                if pv_name in proc.launch.pvs:
                    proc.set_full(full or any(p in self.disk.full for p in proc.launch.pvs))

    # -- the loop -------------------------------------------------------------------------------
    def reconcile(self, now: datetime) -> None:
        pods = self.items(self.pods)
        kubelet = any(getattr(c, "name", "") == "kubelet" for c in self.emu.controllers)
        live = set()
        for pod in pods:
            ref = owner(pod)
            if ref is None or ref.get("kind") != "Job":
                continue
            live.add(pod["metadata"]["uid"])
            self._run_pod(pod, now, kubelet)
        with self._lock:
            for uid in set(self.processes) - live:  # the pod went: so does its process
                self.processes.pop(uid).kill()
        for uid in set(self._work) - live - set(self.processes):  # and its scratch and log
            shutil.rmtree(self._work.pop(uid), ignore_errors=True)
            shutil.rmtree(self._logs.pop(uid, Path("/nonexistent")), ignore_errors=True)
        owned: dict[str, list[Obj]] = {}
        for pod in pods:
            ref = owner(pod)
            if ref is not None and ref.get("kind") == "Job":
                owned.setdefault(ref["uid"], []).append(pod)
        for job in self.items(self.jobs):
            self._sync(job, owned.get(job["metadata"]["uid"], []), now)

    # -- the kubelet's part ---------------------------------------------------------------------
    def _run_pod(self, pod: Obj, now: datetime, kubelet: bool) -> None:
        uid = pod["metadata"]["uid"]
        with self._lock:
            proc = self.processes.get(uid)
        if terminating(pod) or finished(pod):
            if proc is not None and terminating(pod):
                proc.terminate()  # SIGTERM at deletion; SIGKILL if the pod goes first
                if proc.poll() is not None:
                    with self._lock:
                        self.processes.pop(uid, None)
            return
        if proc is not None:
            code = proc.poll()
            if code is not None:
                self._ended(pod, proc, code, now)
            return
        if not spec(pod).get("nodeName") or (kubelet and status(pod).get("phase") != "Running"):
            return
        with self._lock:
            if len(self.processes) >= self.max_processes:
                return
        self._start(pod, now)

    def _lookup(self, namespace: str) -> object:
        def find(kind: str, name: str) -> Obj | None:
            return self.store.get(kind, (namespace, name))
        return find

    def _claim_folder(self, namespace: str) -> object:
        def folder(claim: str) -> tuple[Path, str]:
            pvc = self.store.get("persistentvolumeclaims", (namespace, claim))
            if pvc is None or status(pvc).get("phase") != "Bound":
                raise ConfigError(f'persistentvolumeclaim "{claim}" is not bound')
            pv = spec(pvc)["volumeName"]
            return self.disk.volume(pv), pv
        return folder

    def _start(self, pod: Obj, now: datetime) -> None:
        uid, meta = pod["metadata"]["uid"], pod["metadata"]
        container = (spec(pod).get("containers") or [{}])[0]
        work = self._work.get(uid) or Path(tempfile.mkdtemp(prefix=f"kubeemu-{meta['name']}-"))
        self._work[uid] = work
        log = self.disk.log(meta["namespace"], meta["name"], container.get("name", ""))
        self._logs[uid] = log.parent
        try:
            launch = prepare(pod, container, work, self._lookup(meta["namespace"]),  # type: ignore[arg-type]
                             self._claim_folder(meta["namespace"]))  # type: ignore[arg-type]
            proc = Process(launch, log, any(p in self.disk.full for p in launch.pvs))
        except ConfigError as err:
            self._tell(pod, "Warning", "Failed", f"Error: {err}", now)
            return
        except (FileNotFoundError, PermissionError, OSError) as err:
            self._tell(pod, "Warning", "Failed", f"Error: {err}", now)
            self._finish(pod, container, 127, "StartError", now, now, str(err))
            return
        with self._lock:
            self.processes[uid] = proc
        self._started[uid] = now
        self._tell(pod, "Normal", "Started", f"Started container {container.get('name')}", now)

    def _ended(self, pod: Obj, proc: Process, code: int, now: datetime) -> None:
        uid = pod["metadata"]["uid"]
        container = (spec(pod).get("containers") or [{}])[0]
        exit_code = 128 - code if code < 0 else code
        with self._lock:
            self.processes.pop(uid, None)
        if exit_code and spec(pod).get("restartPolicy") == "OnFailure":
            self._restarts[uid] = self._restarts.get(uid, 0) + 1
            self._tell(pod, "Warning", "BackOff", "Back-off restarting failed container "
                       f"{container.get('name')} in pod {pod['metadata']['name']}", now)
            return  # started again on the next pass, in the same pod
        self._finish(pod, container, exit_code, "Completed" if exit_code == 0 else "Error",
                     self._started.get(uid, now), now, "")

    def _finish(self, pod: Obj, container: Obj, code: int, reason: str, started: datetime,
                now: datetime, message: str) -> None:
        uid = pod["metadata"]["uid"]
        terminated: Obj = {"exitCode": code, "reason": reason, "startedAt": timestamp(started),
                           "finishedAt": timestamp(now), "containerID": "containerd://" +
                           hashlib.sha256(f"{uid}/{started}".encode()).hexdigest()}
        if message:
            terminated["message"] = message
        old = status(pod)
        new = {**old, "phase": "Succeeded" if code == 0 else "Failed"}
        for kind in ("Ready", "ContainersReady"):
            new = with_condition(new, {"type": kind, "status": "False", "reason": "PodCompleted",
                                       "lastProbeTime": None, "lastTransitionTime": timestamp(now)})
        new["containerStatuses"] = [{
            "name": container.get("name", ""), "image": container.get("image", ""),
            "imageID": "", "ready": False, "started": False,
            "restartCount": self._restarts.get(uid, 0), "lastState": {},
            "state": {"terminated": terminated}}]
        self.set_status(self.pods, pod, new)

    def _tell(self, obj: Obj, kind: str, reason: str, message: str, now: datetime) -> None:
        key = (obj["metadata"]["uid"], reason + message)
        if key not in self._told:
            self._told.add(key)
            record(self.emu, obj, kind, reason, message, "kubelet" if obj["kind"] == "Pod"
                   else COMPONENT, now)

    # -- the Job controller's part --------------------------------------------------------------
    def _sync(self, job: Obj, pods: list[Obj], now: datetime) -> None:
        old, jspec, uid = status(job), spec(job), job["metadata"]["uid"]
        if terminating(job):
            return  # being deleted: its pods go with it, none are made
        if _condition(old, "Complete") or _condition(old, "Failed"):
            self._expire(job, old, now)
            return
        succeeded, failed = int(old.get("succeeded") or 0), int(old.get("failed") or 0)
        active = [p for p in pods if not finished(p) and not terminating(p)]
        seen = self._seen.setdefault(uid, set())
        present = {p["metadata"]["uid"] for p in pods}
        for gone in seen - present - self._counted:
            failed += 1  # deleted while active
            self._counted.add(gone)
        seen.update(p["metadata"]["uid"] for p in active)
        for p in pods:
            if finished(p) and p["metadata"]["uid"] not in self._counted:
                self._counted.add(p["metadata"]["uid"])
                if status(p)["phase"] == "Succeeded":
                    succeeded += 1
                else:
                    failed += 1
        restarts = sum(self._restarts.get(p["metadata"]["uid"], 0) for p in pods)
        new: Obj = {**old, "startTime": old.get("startTime") or timestamp(now),
                    "succeeded": succeeded, "failed": failed, "uncountedTerminatedPods": {}}
        completions = int(jspec.get("completions") or 1)
        deadline = jspec.get("activeDeadlineSeconds")
        verdict: tuple[str, str, str] | None = None
        if failed + restarts > int(jspec.get("backoffLimit", 6)):
            verdict = ("Failed", "BackoffLimitExceeded", "Job has reached the specified backoff "
                       "limit")
        elif deadline is not None and now >= _parse(new["startTime"]) + timedelta(
                seconds=int(deadline)):
            verdict = ("Failed", "DeadlineExceeded", "Job was active longer than specified "
                       "deadline")
        elif succeeded >= completions:
            verdict = ("Complete", "CompletionsReached", "Reached expected number of succeeded "
                       "pods")
        if verdict is not None:
            for p in active:
                self.delete(self.pods, p)
            first = "FailureTarget" if verdict[0] == "Failed" else "SuccessCriteriaMet"
            for kind in (first, verdict[0]):
                new = with_condition(new, {"type": kind, "status": "True", "reason": verdict[1],
                                           "message": verdict[2], "lastProbeTime": timestamp(now),
                                           "lastTransitionTime": timestamp(now)})
            if verdict[0] == "Complete":
                new["completionTime"] = timestamp(now)
            new.update(active=0, ready=0, terminating=0)
            self._tell(job, "Normal" if verdict[0] == "Complete" else "Warning",
                       "Completed" if verdict[0] == "Complete" else verdict[1],
                       "Job completed" if verdict[0] == "Complete" else verdict[2], now)
            self.set_status(self.jobs, job, omit_zero(new, "active", "succeeded", "failed"))
            return
        want = 0 if jspec.get("suspend") else min(int(jspec.get("parallelism", 1)),
                                                  completions - succeeded)
        for _ in range(want - len(active)):
            made = self.create(self.pods, job["metadata"]["namespace"], self._pod(job))
            if made is None:
                break
            active.append(made)
            seen.add(made["metadata"]["uid"])
            self._tell(job, "Normal", "SuccessfulCreate",
                       f"Created pod: {made['metadata']['name']}", now)
        new.update(active=len(active), ready=sum(
            1 for p in active if status(p).get("phase") == "Running"),
            terminating=sum(1 for p in pods if terminating(p) and not finished(p)))
        self.set_status(self.jobs, job, omit_zero(new, "active", "succeeded", "failed"))

    def _pod(self, job: Obj) -> Obj:
        uid, name = job["metadata"]["uid"], job["metadata"]["name"]
        template = spec(job).get("template") or {}
        return from_template(job, template, {
            "batch.kubernetes.io/controller-uid": uid, "batch.kubernetes.io/job-name": name,
            "controller-uid": uid, "job-name": name}, generateName=f"{name}-")

    def _expire(self, job: Obj, old: Obj, now: datetime) -> None:
        ttl = spec(job).get("ttlSecondsAfterFinished")
        if ttl is None or terminating(job):
            return
        ended = max((c.get("lastTransitionTime") or "" for c in old.get("conditions") or []
                     if c.get("type") in ("Complete", "Failed")), default="")
        if ended and now >= _parse(ended) + timedelta(seconds=int(ttl)):
            meta = job["metadata"]
            with contextlib.suppress(ApiError):  # gone already
                self.registry.delete(self.jobs, meta["namespace"], meta["name"], {
                    "propagationPolicy": "Foreground", "preconditions": {"uid": meta["uid"]}})
