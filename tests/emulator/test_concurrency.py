"""Optimistic concurrency under load: no update is lost when many writers race."""

from __future__ import annotations

import threading

from kubernetes import client
from kubernetes.client import ApiException

from tests.conftest import Kube

WRITERS, INCREMENTS = 50, 4


def test_fifty_writers_lose_no_update(kube: Kube) -> None:
    kube.core.create_namespaced_config_map(kube.namespace, {
        "metadata": {"name": "counter"}, "data": {"n": "0"}})
    conflicts = []

    def writer() -> None:
        core = client.CoreV1Api(kube.emu.api_client())
        for _ in range(INCREMENTS):
            while True:
                cm = core.read_namespaced_config_map("counter", kube.namespace)
                cm.data["n"] = str(int(cm.data["n"]) + 1)
                try:
                    core.replace_namespaced_config_map("counter", kube.namespace, cm)
                    break
                except ApiException as err:
                    assert err.status == 409
                    conflicts.append(1)

    threads = [threading.Thread(target=writer) for _ in range(WRITERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    final = kube.core.read_namespaced_config_map("counter", kube.namespace)
    assert final.data["n"] == str(WRITERS * INCREMENTS)
    assert conflicts, "50 racing writers never conflicted: the version check is not working"
