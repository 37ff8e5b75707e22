"""Watchers that never lose an event: list, then watch from the list's resourceVersion.

The official `watch.Watch` leaves the hard parts to its caller; they are here, as kopf does them:
- list (paginated, one snapshot) and watch from the list's resourceVersion, so nothing that
  changes between the two is missed;
- `allowWatchBookmarks`, so the version to resume from keeps moving on a quiet stream, and a
  client-side read timeout (`read_timeout`, longer than the server's bookmark interval) so a
  dead stream is noticed instead of hanging;
- a stream that ends (the server's `timeoutSeconds`, a cut connection) resumes from the last
  version seen; 410 Gone (the version left the server's history) lists again;
- other errors back off exponentially (capped), then try again.

`Known` (pure) keeps the last delivered version of each object, so a handler sees each change
once per resourceVersion across reconnects: a re-list delivers only what differs from what was
delivered (new: ADDED, changed: MODIFIED, gone: DELETED with the last state seen) and a
replayed event is dropped. It holds the objects of one watch (the selector's matches), which
the synthesized DELETED needs; managedFields are dropped to keep it small. A watcher given
`trim` applies it to every object as it is read (each list page, each watch event), before it
is kept or delivered: the inbox's pending watch drops `data`, so its index holds metadata only.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from shared.logs import bind
from shared.ports.errors import ApiError
from shared.ports.kube import PAGE, Kube

Change = tuple[str, dict[str, Any]]  # ("ADDED" | "MODIFIED" | "DELETED", object)


def _meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    return obj.get("metadata") or {}


class Known:
    """uid -> the object as last delivered."""

    def __init__(self) -> None:
        self.objects: dict[str, dict[str, Any]] = {}

    def relist(self, items: Iterable[dict[str, Any]]) -> list[Change]:
        """The changes that bring the delivered state to the listed one."""
        changes: list[Change] = []
        listed: dict[str, dict[str, Any]] = {}
        for obj in items:
            uid = _meta(obj).get("uid", "")
            listed[uid] = obj
            old = self.objects.get(uid)
            if old is None:
                changes.append(("ADDED", obj))
            elif _meta(old).get("resourceVersion") != _meta(obj).get("resourceVersion"):
                changes.append(("MODIFIED", obj))
        changes += [("DELETED", old) for uid, old in self.objects.items() if uid not in listed]
        self.objects = {uid: _slim(obj) for uid, obj in listed.items()}
        return changes

    def fresh(self, action: str, obj: dict[str, Any]) -> bool:
        """Record a watch event; False if it was delivered already (a replay)."""
        uid, version = _meta(obj).get("uid", ""), _meta(obj).get("resourceVersion")
        old = self.objects.get(uid)
        if action == "DELETED":
            return self.objects.pop(uid, None) is not None
        if old is not None and _meta(old).get("resourceVersion") == version:
            return False
        self.objects[uid] = _slim(obj)
        return True


def _slim(obj: dict[str, Any]) -> dict[str, Any]:
    meta = {k: v for k, v in _meta(obj).items() if k != "managedFields"}
    return {**obj, "metadata": meta}


@dataclass(frozen=True)
class Target:
    """What to watch: a resource (by its plural's path) with a label selector."""

    api_version: str
    kind: str
    namespace: str = ""
    label_selector: str = ""


class Watcher:
    def __init__(self, kube: Kube, target: Target, deliver: Callable[[str, dict[str, Any]], None],
                 server_timeout: int = 300, read_timeout: float = 90.0, backoff_cap: float = 30.0,
                 trim: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
                 page: int = PAGE, log: logging.Logger | None = None) -> None:
        self.kube, self.target, self.deliver = kube, target, deliver
        self.trim, self.page = trim or (lambda obj: obj), page
        self.server_timeout, self.read_timeout, self.backoff_cap = (
            server_timeout, read_timeout, backoff_cap)
        self.log = bind(log or logging.getLogger("classops.watching"), watch=target.kind,
                        selector=target.label_selector)
        self.known = Known()
        self.relists = 0  # how often it listed (1 + each 410): for tests and metrics
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> Watcher:
        """Once: a stopped watcher is replaced, never restarted."""
        self._thread = threading.Thread(target=self._run, name=f"watch-{self.target.kind}",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        # The thread may sit in a read until `read_timeout`; it delivers nothing once stopped.
        self._stop.set()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def _run(self) -> None:
        version: str | None = None
        failures = 0
        while not self._stop.is_set():
            try:
                if version is None:
                    version = self._list()
                version = self._watch(version)
                failures = 0
            except ApiError as err:
                if err.status == 410:
                    self.log.info("history expired (410): listing again")
                    version = None
                    continue
                failures += 1
                delay = min(self.backoff_cap, 0.5 * 2 ** (failures - 1)) * random.uniform(0.8, 1)
                self.log.warning("watch failed, again in %.1f s: %s", delay, err)
                self._stop.wait(delay)

    def _emit(self, changes: Iterable[Change]) -> None:
        for action, obj in changes:
            if self._stop.is_set():
                return
            self.deliver(action, obj)

    def _list(self) -> str:
        items, version = self._snapshot()
        self.relists += 1
        self._emit(self.known.relist(items))
        return version

    def _snapshot(self) -> tuple[list[dict[str, Any]], str]:
        path = self.kube.resource(self.target.api_version, self.target.kind).path(
            self.target.namespace)
        items: list[dict[str, Any]] = []
        token, version = "", ""
        while True:
            page = self.kube.request("GET", path, {"labelSelector": self.target.label_selector,
                                                   "limit": self.page, "continue": token},
                                     timeout=self.read_timeout)
            meta = page.get("metadata") or {}
            version = version or str(meta.get("resourceVersion", ""))
            items += [self.trim({"apiVersion": self.target.api_version,
                                 "kind": self.target.kind, **item})
                      for item in page.get("items", [])]
            token = meta.get("continue") or ""
            if not token:
                return items, version

    def _watch(self, version: str) -> str:
        """Watch until the stream ends; the version to resume from."""
        path = self.kube.resource(self.target.api_version, self.target.kind).path(
            self.target.namespace)
        query = {"watch": True, "resourceVersion": version, "allowWatchBookmarks": True,
                 "labelSelector": self.target.label_selector,
                 # spread the servers' reconnects, as client-go does
                 "timeoutSeconds": int(self.server_timeout * random.uniform(1, 1.2))}
        for event in self._events(path, query):
            kind, obj = event.get("type"), event.get("object") or {}
            if kind == "ERROR":
                raise ApiError("kubernetes", int(obj.get("code") or 500),
                               obj.get("reason", ""), obj.get("message", ""))
            version = str(_meta(obj).get("resourceVersion") or version)
            if kind == "BOOKMARK" or self._stop.is_set():
                continue
            obj = self.trim({"apiVersion": self.target.api_version, "kind": self.target.kind,
                             **obj})
            if self.known.fresh(str(kind), obj):
                self._emit([(str(kind), obj)])
        return version

    def _events(self, path: str, query: dict[str, Any]) -> Iterator[dict[str, Any]]:
        try:
            yield from self.kube.stream(path, query, self.read_timeout)
        except ApiError as err:
            if err.status == 0 and err.reason == "Timeout":
                self.log.info("the stream went silent: watching again")
                return
            raise
