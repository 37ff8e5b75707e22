"""Watches: a chunked stream of events from a resourceVersion, as the apiserver serves them.

From a version: every change after it; from none (or "0", or with `sendInitialEvents`): the
current objects as ADDED first. Selectors apply, and an object leaving the selection is seen as
DELETED. BOOKMARKs with `allowWatchBookmarks`; `timeoutSeconds` ends the stream cleanly; a
version older than the kept history is an ERROR event with a 410 Expired Status; a cut (the
emulator's control) drops the connection mid-stream.
https://kubernetes.io/docs/reference/using-api/api-concepts/#efficient-detection-of-changes
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from io import BufferedIOBase
from typing import Any

from .listing import selection
from .routes import Route, query_bool
from .store import ApiError, Change, Obj, Store

DEFAULT_WATCH_SECONDS = 1800  # the apiserver picks 30-60 min (--min-request-timeout 1800)


class WatchStream:
    """Writes one watch's events as HTTP/1.1 chunks to an open response."""

    def __init__(self, out: BufferedIOBase) -> None:
        self.out = out
        self.cut = False

    def chunk(self, data: bytes) -> None:
        self.out.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.out.flush()

    def event(self, kind: str, obj: Obj) -> None:
        self.chunk(json.dumps({"type": kind, "object": obj}, separators=(",", ":")).encode()
                   + b"\n")

    def bookmark(self, route: Route, rv: int, initial_end: bool = False) -> None:
        meta: Obj = {"resourceVersion": str(rv)}
        if initial_end:
            meta["annotations"] = {"k8s.io/initial-events-end": "true"}
        res = route.resource
        self.event("BOOKMARK", {"kind": res.kind, "apiVersion": res.api_version,
                                "metadata": meta})

    def change(self, change: Change, keep: Callable[[Obj], bool]) -> None:
        was = change.prev is not None and keep(change.prev)
        now = keep(change.obj)
        if change.type == "DELETED":
            if was:
                self.event("DELETED", change.obj)
        elif now and was:
            self.event("MODIFIED", change.obj)
        elif now:
            self.event("ADDED", change.obj)
        elif was:  # it left the selection: a watcher of the selection sees it go
            self.event("DELETED", change.obj)

    def end(self) -> None:
        try:
            self.out.write(b"0\r\n\r\n")
            self.out.flush()
        except OSError:
            self.cut = True


def watch_start(query: dict[str, str]) -> int | None:
    """The version to watch from (None: from now, with the current objects first)."""
    rv_param = query.get("resourceVersion", "")
    try:
        return int(rv_param) if rv_param not in ("", "0") else None
    except ValueError:
        raise ApiError(400, "BadRequest", f"invalid resource version {rv_param!r}") from None


def serve_watch(stream: WatchStream, store: Store, route: Route, query: dict[str, str],
                since: int | None, bookmark_every: float) -> None:
    """Stream until timeoutSeconds, a cut or an error; sets stream.cut when dropped."""
    res = route.resource
    keep = selection(res, query)
    bookmarks = query_bool(query, "allowWatchBookmarks")
    initial = query_bool(query, "sendInitialEvents")
    timeout = float(query.get("timeoutSeconds") or DEFAULT_WATCH_SECONDS)
    existing: list[Any] = []
    try:
        with store.lock:
            if since is None:
                since = store.revision
                existing = store.items(res.key, route.namespace or None, at=since)
            elif initial:
                existing = store.items(res.key, route.namespace or None, at=since)
    except ApiError as err:
        stream.event("ERROR", err.status())
        stream.end()
        return
    for _, obj in existing:
        if keep(obj):
            stream.event("ADDED", obj)
    if initial and bookmarks:
        stream.bookmark(route, since, initial_end=True)

    def wanted(change: Change) -> bool:
        if change.resource != res.key:
            return False
        return not route.namespace or change.key[0] == route.namespace

    deadline = time.monotonic() + timeout
    # The apiserver also bookmarks a watch shortly before its timeout, so a short watch that
    # allows bookmarks sees one too.
    tick = min(bookmark_every, max(timeout / 2, 0.05))
    try:
        for item in store.follow(since, wanted, deadline, tick, time.monotonic):
            if item is None:  # cut: drop the connection without ending the chunked body
                stream.cut = True
                return
            if isinstance(item, int):
                if bookmarks:
                    stream.bookmark(route, item)
                continue
            stream.change(item, keep)
    except ApiError as err:
        stream.event("ERROR", err.status())
    stream.end()
