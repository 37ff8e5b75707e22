"""Storage with etcd's semantics: one global revision, a bounded history, and watches over it.

Every committed change bumps the global resourceVersion by one and is kept in a history window.
The history is what lets a list page (`continue`) read the state at the revision its first page
saw, and what a watch from a resourceVersion replays; a revision older than the window is "too old"
(410 Expired), exactly as after an etcd compaction. See
https://kubernetes.io/docs/reference/using-api/api-concepts/#resource-versions.

Stored objects are never mutated after commit; readers may hold references to them.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

Obj = dict[str, Any]
Key = tuple[str, str]  # (namespace, name); namespace "" for cluster-scoped objects


class ApiError(Exception):
    """An answer other than success, carried up to the HTTP layer as a metav1.Status."""

    def __init__(self, code: int, reason: str, message: str,
                 details: dict[str, Any] | None = None, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.code, self.reason, self.message = code, reason, message
        self.details = details or {}
        self.headers = headers or {}

    def status(self) -> Obj:
        body: Obj = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                     "message": self.message, "reason": self.reason, "code": self.code}
        if self.details:
            body["details"] = self.details
        return body


def expired(message: str) -> ApiError:
    return ApiError(410, "Expired", message)


@dataclass(frozen=True)
class Change:
    rv: int
    type: str  # ADDED | MODIFIED | DELETED
    resource: str  # Resource.key
    key: Key
    obj: Obj  # the object after the change (for DELETED: as it was, with the deletion's rv)
    prev: Obj | None  # the object before the change


class Store:
    def __init__(self, history_window: int = 100_000) -> None:
        self._cond = threading.Condition(threading.RLock())
        self._objects: dict[str, dict[Key, Obj]] = {}
        self._rv = 0
        self._history: deque[Change] = deque()
        self._compacted = 0  # every change with rv > _compacted is in _history
        self.history_window = history_window
        self._cut_generation = 0

    # -- reads ----------------------------------------------------------------------------------
    @property
    def lock(self) -> threading.Condition:
        """Held across a read-modify-write so that it commits atomically."""
        return self._cond

    @property
    def revision(self) -> int:
        return self._rv

    @property
    def compacted_revision(self) -> int:
        return self._compacted

    def get(self, resource: str, key: Key) -> Obj | None:
        return self._objects.get(resource, {}).get(key)

    def items(self, resource: str, namespace: str | None = None,
              at: int | None = None) -> list[tuple[Key, Obj]]:
        """Objects sorted by (namespace, name), as etcd orders their keys; `at` reads the past."""
        with self._cond:
            current = self._objects.get(resource, {})
            if at is None or at >= self._rv:
                state = dict(current)
            else:
                if at < self._compacted:
                    raise expired(f"too old resource version: {at} ({self._compacted})")
                state = dict(current)
                for change in reversed(self._history):
                    if change.rv <= at:
                        break
                    if change.resource != resource:
                        continue
                    if change.prev is None:
                        state.pop(change.key, None)
                    else:
                        state[change.key] = change.prev
        pairs = sorted(state.items())
        if namespace:
            pairs = [(k, o) for k, o in pairs if k[0] == namespace]
        return pairs

    # -- writes ---------------------------------------------------------------------------------
    def commit(self, resource: str, key: Key, obj: Obj | None, kind: str = "") -> Obj:
        """Store `obj` under key (None deletes) as the next revision; returns what was stored.

        The caller holds `lock` if it read before deciding. resourceVersion is set here.
        """
        with self._cond:
            prev = self.get(resource, key)
            self._rv += 1
            rv = str(self._rv)
            if obj is None:
                if prev is None:
                    self._rv -= 1
                    raise KeyError(key)
                stored = {**prev, "metadata": {**prev["metadata"], "resourceVersion": rv}}
                del self._objects[resource][key]
                change_type = "DELETED"
            else:
                stored = {**obj, "metadata": {**obj["metadata"], "resourceVersion": rv}}
                self._objects.setdefault(resource, {})[key] = stored
                change_type = "MODIFIED" if prev is not None else "ADDED"
            self._history.append(Change(self._rv, change_type, resource, key, stored, prev))
            while len(self._history) > self.history_window:
                self._compacted = self._history.popleft().rv
            self._cond.notify_all()
            return stored

    def compact(self, keep: int = 0) -> int:
        """Forget history but the newest `keep` changes; returns the compacted revision."""
        with self._cond:
            while len(self._history) > keep:
                self._compacted = self._history.popleft().rv
            if not self._history:
                self._compacted = self._rv
            return self._compacted

    def cut_watches(self) -> None:
        """End every open watch stream, as a restarting apiserver or a dropped connection does."""
        with self._cond:
            self._cut_generation += 1
            self._cond.notify_all()

    # -- watch ----------------------------------------------------------------------------------
    def changes_after(self, rv: int) -> list[Change]:
        with self._cond:
            if rv < self._compacted:
                raise expired(f"too old resource version: {rv} ({self._compacted})")
            if not self._history:
                return []
            first = self._history[0].rv
            return list(self._history)[max(0, rv + 1 - first):]

    def follow(self, since: int, wanted: Callable[[Change], bool], deadline: float,
               tick: float, clock: Callable[[], float]) -> Iterator[Change | int | None]:
        """Yield each wanted change after `since`; an int (the revision reached) every `tick`
        seconds of quiet so the caller can send a BOOKMARK; None when the stream is cut.

        Raises ApiError 410 when the follower falls behind the history window.
        """
        cut = self._cut_generation
        seen = since
        next_tick = clock() + tick
        while True:
            with self._cond:
                while self._rv <= seen and self._cut_generation == cut:
                    remaining = min(deadline, next_tick) - clock()
                    if remaining <= 0:
                        break
                    self._cond.wait(remaining)
                if self._cut_generation != cut:
                    yield None
                    return
                batch = self.changes_after(seen) if self._rv > seen else []
                reached = self._rv
            for change in batch:
                if wanted(change):
                    yield change
            seen = reached
            now = clock()
            if now >= deadline:
                return
            if now >= next_tick:
                next_tick = now + tick
                yield seen
