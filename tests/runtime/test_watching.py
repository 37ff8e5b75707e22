"""Watchers through a cut stream and a forced 410: every change delivered once per
resourceVersion, none lost, none doubled (against an emulator of the test's own)."""

from __future__ import annotations

from typing import Any

from shared.ports.kube import Kube as KubePort
from shared.runtime.watching import Known, Target, Watcher
from tests.conftest import Kube
from tests.wait import until


def cm(name: str, value: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "labels": {"demo": "yes"}}, "data": {"v": value}}


def state(kube: Kube) -> dict[str, str]:
    listed = kube.core.list_namespaced_config_map(kube.namespace, label_selector="demo")
    return {c.metadata.name: c.metadata.resource_version for c in listed.items}


def replay(seen: list[tuple[str, str, str]]) -> dict[str, str]:
    """The state a handler believes in, from what it was told."""
    known: dict[str, str] = {}
    for action, name, version in seen:
        if action == "DELETED":
            known.pop(name)
        else:
            known[name] = version
    return known


def test_a_cut_stream_and_a_410_lose_and_double_nothing(lone_kube: Kube) -> None:
    kube, ns = lone_kube, lone_kube.namespace
    kube.core.create_namespaced_config_map(ns, cm("before", "0"))
    kube.core.create_namespaced_config_map(ns, {"metadata": {"name": "unlabelled"}})
    seen: list[tuple[str, str, str]] = []

    def deliver(action: str, obj: dict[str, Any]) -> None:
        seen.append((action, obj["metadata"]["name"], obj["metadata"]["resourceVersion"]))

    watcher = Watcher(KubePort(kube.api), Target("v1", "ConfigMap", ns, "demo"), deliver,
                      read_timeout=2.0, backoff_cap=1.0).start()
    try:
        until(lambda: seen)
        kube.core.create_namespaced_config_map(ns, cm("a", "1"))
        kube.core.patch_namespaced_config_map("before", ns, {"data": {"v": "1"}})
        until(lambda: replay(seen) == state(kube))

        kube.emu.cut_watches()  # the stream ends; the watcher resumes from the last version
        kube.core.patch_namespaced_config_map("a", ns, {"data": {"v": "2"}})
        kube.core.create_namespaced_config_map(ns, cm("b", "1"))
        until(lambda: replay(seen) == state(kube))
        assert watcher.relists == 1

        # Keep it away while its version leaves the history: it must list again (410). Every
        # watch fails until the history is compacted, however long the writes take: no write
        # has to land inside the watcher's back-off.
        kube.emu.fail("watch", "/configmaps", 503, count=1_000_000)
        kube.emu.cut_watches()
        kube.core.patch_namespaced_config_map("a", ns, {"data": {"v": "3"}})
        kube.core.delete_namespaced_config_map("b", ns)
        kube.core.create_namespaced_config_map(ns, cm("c", "1"))
        kube.emu.compact()
        kube.emu.clear_faults()
        until(lambda: watcher.relists == 2 and replay(seen) == state(kube))

        kube.core.patch_namespaced_config_map("c", ns, {"data": {"v": "2"}})
        until(lambda: replay(seen) == state(kube))
    finally:
        watcher.stop()
    assert len(seen) == len(set(seen)), f"a change was delivered twice: {seen}"
    assert [s for s in seen if s[1] == "b"][-1][0] == "DELETED"
    assert all(name != "unlabelled" for _, name, _ in seen)


def test_known_relist_gives_only_what_differs() -> None:
    def obj(uid: str, rv: str) -> dict[str, Any]:
        return {"metadata": {"uid": uid, "name": uid, "resourceVersion": rv}}

    known = Known()
    assert known.relist([obj("a", "1"), obj("b", "1")]) == [("ADDED", obj("a", "1")),
                                                           ("ADDED", obj("b", "1"))]
    assert known.fresh("MODIFIED", obj("a", "2"))
    assert not known.fresh("MODIFIED", obj("a", "2"))  # a replay
    assert known.relist([obj("a", "2"), obj("c", "5")]) == [("ADDED", obj("c", "5")),
                                                           ("DELETED", obj("b", "1"))]
    assert not known.fresh("DELETED", obj("b", "1"))
