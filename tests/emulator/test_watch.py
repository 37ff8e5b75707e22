"""Watch: events from a resourceVersion, bookmarks, timeouts, selectors, 410 and cut streams."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

from kubernetes import watch

from tests.conftest import Kube
from tests.wait import until

from .objects import configmap, pod


def _collect(kube: Kube, lister: Callable[..., Any], *args: Any, until: str = "",
             on_event: Callable[[tuple], Any] | None = None, **kw: Any) -> list[tuple]:
    """(type, name or bookmark resourceVersion) of every event until the stream ends, or until
    the object named `until` (a sentinel written last) arrives: the stream's order, not a
    wall-clock window, says when every earlier change has been seen."""
    out: list[tuple] = []
    stream = watch.Watch()
    for ev in stream.stream(lister, *args, **kw):
        raw = ev["raw_object"]
        meta = raw.get("metadata", {})
        out.append((ev["type"], meta.get("name") or meta.get("resourceVersion")))
        if on_event is not None:
            on_event(out[-1])
        if until and meta.get("name") == until:
            stream.stop()
    return out


def _concurrently(fn: Callable[[], Any]) -> threading.Thread:
    thread = threading.Thread(target=fn)
    thread.start()
    return thread


def test_watch_from_a_resource_version_sees_every_change(kube: Kube) -> None:
    kube.core.create_namespaced_config_map(kube.namespace, configmap("a"))
    rv = kube.core.list_namespaced_config_map(kube.namespace).metadata.resource_version

    def changes() -> None:
        kube.core.create_namespaced_config_map(kube.namespace, configmap("b"))
        kube.core.patch_namespaced_config_map("a", kube.namespace, {"data": {"k": "v"}})
        kube.core.delete_namespaced_config_map("b", kube.namespace)
        kube.core.create_namespaced_config_map(kube.namespace, configmap("end"))

    # The writes race the watch's start on purpose: from a version, both orders see them all.
    thread = _concurrently(changes)
    events = _collect(kube, kube.core.list_namespaced_config_map, kube.namespace,
                      resource_version=rv, timeout_seconds=60, until="end")
    thread.join()
    assert events == [("ADDED", "b"), ("MODIFIED", "a"), ("DELETED", "b"), ("ADDED", "end")]


def test_watch_without_a_version_starts_with_the_current_objects(kube: Kube) -> None:
    kube.core.create_namespaced_config_map(kube.namespace, configmap("a"))
    kube.core.create_namespaced_config_map(kube.namespace, configmap("b"))
    events = _collect(kube, kube.core.list_namespaced_config_map, kube.namespace,
                      timeout_seconds=1)
    assert events == [("ADDED", "a"), ("ADDED", "b")]


def test_bookmarks_only_when_allowed_and_never_behind(kube: Kube) -> None:
    rv = kube.core.list_namespaced_config_map(kube.namespace).metadata.resource_version
    quiet = _collect(kube, kube.core.list_namespaced_config_map, kube.namespace,
                     resource_version=rv, timeout_seconds=1)
    assert quiet == []
    # Written before the watch starts: replayed from rv, so no wall-clock window must hold it.
    kube.core.create_namespaced_config_map(kube.namespace, configmap("a"))
    events = _collect(kube, kube.core.list_namespaced_config_map, kube.namespace,
                      resource_version=rv, allow_watch_bookmarks=True, timeout_seconds=1)
    marks = [int(v) for t, v in events if t == "BOOKMARK"]
    assert marks, "no BOOKMARK although allowWatchBookmarks=true"
    added_at = events.index(("ADDED", "a"))
    created_rv = int(kube.core.read_namespaced_config_map(
        "a", kube.namespace).metadata.resource_version)
    # A bookmark after the event carries a version at or past it; none goes backwards.
    assert all(m >= created_rv for m in marks[added_at:] if m)
    assert marks == sorted(marks)


def test_timeout_seconds_ends_the_stream(kube: Kube) -> None:
    started = time.monotonic()
    watcher = _concurrently(lambda: _collect(kube, kube.core.list_namespaced_pod,
                                             kube.namespace, timeout_seconds=1))
    watcher.join(60)  # a bound for a stream that never ends, not a speed requirement
    assert not watcher.is_alive(), "the watch outlived timeoutSeconds"
    assert time.monotonic() - started >= 0.9  # and it did not end early


def test_selectors_apply_to_the_watch(kube: Kube) -> None:
    kube.core.create_namespaced_pod(kube.namespace, pod("a", {"role": "student"}))
    rv = kube.core.list_namespaced_pod(kube.namespace).metadata.resource_version

    def changes() -> None:
        kube.core.create_namespaced_pod(kube.namespace, pod("b", {"role": "staff"}))
        kube.core.create_namespaced_pod(kube.namespace, pod("c", {"role": "student"}))
        # "a" leaves the selection: its watcher sees it go, as a real apiserver shows it.
        kube.core.patch_namespaced_pod("a", kube.namespace, {"metadata": {"labels": {
            "role": "staff"}}})
        kube.core.create_namespaced_pod(kube.namespace, pod("end", {"role": "student"}))

    thread = _concurrently(changes)
    events = _collect(kube, kube.core.list_namespaced_pod, kube.namespace,
                      resource_version=rv, label_selector="role=student", timeout_seconds=60,
                      until="end")
    thread.join()
    assert events == [("ADDED", "c"), ("DELETED", "a"), ("ADDED", "end")]


def test_namespace_and_all_namespaces_watches(kube: Kube) -> None:
    LAST = "last-write-of-the-namespaces-watch-test"
    other = f"{kube.namespace}-b"
    kube.core.create_namespace({"metadata": {"name": other}})
    rv = kube.core.list_namespaced_config_map(kube.namespace).metadata.resource_version

    def changes() -> None:
        kube.core.create_namespaced_config_map(kube.namespace, configmap("mine"))
        kube.core.create_namespaced_config_map(other, configmap("theirs"))
        # The last write, named as nothing else in the cluster (other tests' objects go too).
        kube.core.create_namespaced_config_map(kube.namespace, configmap(LAST))

    seen: dict[str, list] = {}

    def watch_all() -> None:
        # Other tests' namespaces may still be emptied by the namespace controller meanwhile:
        # watch every namespace, look at the two of this test.
        seen["all"] = [e for e in _collect(
            kube, kube.core.list_config_map_for_all_namespaces, resource_version=rv,
            timeout_seconds=60, until=LAST) if e[1] in ("mine", "theirs")]

    thread = threading.Thread(target=watch_all)
    thread.start()
    writer = _concurrently(changes)
    seen["one"] = _collect(kube, kube.core.list_namespaced_config_map, kube.namespace,
                           resource_version=rv, timeout_seconds=60, until=LAST)
    thread.join()
    writer.join()
    assert seen["one"] == [("ADDED", "mine"), ("ADDED", LAST)]
    assert seen["all"] == [("ADDED", "mine"), ("ADDED", "theirs")]


def test_a_version_older_than_history_is_410_expired(lone_kube: Kube) -> None:
    kube = lone_kube
    old = kube.core.list_namespaced_config_map(kube.namespace).metadata.resource_version
    kube.emu.set_history_window(2)
    for i in range(5):
        kube.core.create_namespaced_config_map(kube.namespace, configmap(f"c{i}"))
    answer = kube.core.list_namespaced_config_map(
        kube.namespace, watch=True, resource_version=old, timeout_seconds=1,
        _preload_content=False)
    lines = [json.loads(line) for line in answer.data.decode().splitlines() if line]
    assert [ev["type"] for ev in lines] == ["ERROR"]
    status = lines[0]["object"]
    assert (status["code"], status["reason"]) == (410, "Expired")


def test_cut_watches_end_open_streams(lone_kube: Kube) -> None:
    kube = lone_kube
    started, following, ended = threading.Event(), threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def seen(event: tuple) -> None:
        if event == ("ADDED", "before"):  # the initial state: the stream is open
            started.set()
        if event == ("ADDED", "live"):  # a change after it: the stream is following
            following.set()

    def watch_forever() -> None:
        try:
            _collect(kube, kube.core.list_namespaced_pod, kube.namespace, timeout_seconds=600,
                     on_event=seen)
        except Exception as exc:  # a cut stream surfaces as a protocol error in urllib3
            errors.append(exc)
        ended.set()

    # Readiness signals, not a sleep: the initial state arrived, then a later write arrived
    # live, so the stream is past its start and following when the cut comes.
    kube.core.create_namespaced_pod(kube.namespace, pod("before", {"role": "student"}))
    threading.Thread(target=watch_forever, daemon=True).start()
    until(started.is_set, what="the watch to open")
    kube.core.create_namespaced_pod(kube.namespace, pod("live", {"role": "student"}))
    until(following.is_set, what="the watch to see a live change")
    kube.emu.cut_watches()
    assert ended.wait(60), "the watch was still open after cut_watches()"


def test_a_short_watch_still_gets_a_bookmark_before_it_ends(lone_kube: Kube) -> None:
    kube = lone_kube
    kube.emu.bookmark_interval = 60.0  # the real apiserver's pace: about one a minute
    rv = kube.core.list_namespaced_config_map(kube.namespace).metadata.resource_version
    events = _collect(kube, kube.core.list_namespaced_config_map, kube.namespace,
                      resource_version=rv, allow_watch_bookmarks=True, timeout_seconds=2)
    assert events and {t for t, _ in events} == {"BOOKMARK"}
