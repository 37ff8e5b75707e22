"""The loop every controller runs: wake on a store change or a short wall tick, reconcile, repeat.

Controllers act in-process through `emu.registry`, as kube-controller-manager acts through the API:
they read the store, compute, and write with the resourceVersion they read. A 409 Conflict (a
concurrent HTTP writer got there first) or a 404 (the object went away) is not an error: the write
is dropped and the next pass, woken by that very change, recomputes from fresh state. This is the
level-triggered reconcile of https://kubernetes.io/docs/concepts/architecture/controller/.

Time is the emulator's clock (`emu.clock.now()`), read once per pass and passed down; the wall tick
only bounds how late a clock-driven step (a container starting, a grace period ending) is noticed.
"""

from __future__ import annotations

import copy
import threading
import traceback
from datetime import datetime
from typing import TYPE_CHECKING

from ..resources import Resource
from ..store import ApiError, Obj

if TYPE_CHECKING:
    from ..emulator import Emulator

TICK = 0.02  # wall seconds between passes when nothing changes


class Controller:
    name = "controller"

    def __init__(self, emu: Emulator) -> None:
        self.emu = emu
        self.store, self.registry = emu.store, emu.registry
        self.tick = TICK
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._guard = threading.Lock()
        self.errors: list[str] = []  # tracebacks of failed passes, for a test to assert on

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> None:
        with self._guard:
            if self._thread is not None:
                return
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name=f"kubeemu-{self.name}",
                                            daemon=True)
            self._thread.start()

    def stop(self) -> None:
        with self._guard:
            thread, self._thread = self._thread, None
            if thread is None:
                return
            self._stop.set()
            with self.store.lock:
                self.store.lock.notify_all()
        if thread is not threading.current_thread():
            thread.join(timeout=5)

    @property
    def running(self) -> bool:
        return self._thread is not None

    def _run(self) -> None:
        seen = -1
        while not self._stop.is_set():
            with self.store.lock:
                if self.store.revision == seen:
                    self.store.lock.wait(self.tick)
                seen = self.store.revision
            if self._stop.is_set():
                return
            try:
                self.reconcile(self.emu.clock.now())
            except Exception:  # one bad pass must not kill the controller; tests can look
                self.errors.append(traceback.format_exc())
                traceback.print_exc()

    def reconcile(self, now: datetime) -> None:
        raise NotImplementedError

    # -- reads and writes through the registry ----------------------------------------------------
    def resource(self, group: str, plural: str) -> Resource:
        res = self.emu.catalogue.find(group, "v1", plural)
        assert res is not None, plural
        return res

    def items(self, res: Resource, namespace: str | None = None) -> list[Obj]:
        return [obj for _, obj in self.store.items(res.key, namespace)]

    def create(self, res: Resource, namespace: str, body: Obj) -> Obj | None:
        try:
            return self.registry.create(res, namespace, body)
        except ApiError as err:
            if err.code in (404, 409, 403):  # namespace gone, name taken, namespace terminating
                return None
            raise

    def update(self, res: Resource, obj: Obj, subresource: str = "") -> Obj | None:
        """Write `obj` (carrying the resourceVersion it was read at); None on 404/409."""
        meta = obj["metadata"]
        try:
            return self.registry.update(res, meta.get("namespace", ""), meta["name"], obj,
                                        subresource)
        except ApiError as err:
            if err.code in (404, 409):
                return None
            raise

    def set_status(self, res: Resource, obj: Obj, status: Obj) -> Obj | None:
        if obj.get("status") == status:
            return obj
        return self.update(res, {**obj, "status": status}, "status")

    def delete(self, res: Resource, obj: Obj, grace: int | None = None) -> bool:
        meta = obj["metadata"]
        options: Obj = {"preconditions": {"uid": meta["uid"]}}
        if grace is not None:
            options["gracePeriodSeconds"] = grace
        try:
            self.registry.delete(res, meta.get("namespace", ""), meta["name"], options)
            return True
        except ApiError as err:
            if err.code in (404, 409):
                return False
            raise

    def commit_if_unchanged(self, res: Resource, obj: Obj, new: Obj) -> bool:
        """Store `new` in place of `obj` if nobody wrote it since it was read (a subresource
        write such as pods/binding, which skips the main resource's update rules)."""
        meta = obj["metadata"]
        key = (meta.get("namespace", "") if res.namespaced else "", meta["name"])
        with self.store.lock:
            current = self.store.get(res.key, key)
            if current is None or current["metadata"]["resourceVersion"] != meta[
                    "resourceVersion"]:
                return False
            self.store.commit(res.key, key, new)
            return True


def deep(obj: Obj) -> Obj:
    return copy.deepcopy(obj)
