"""`classops status` on a stack classops deployed (the living emulated cluster) and on a
hand-made "Helm-like" z2jh release without any classops label; servers from the real hub when
it answers, else from the pods."""

from __future__ import annotations

import argparse
import io
import json
from contextlib import redirect_stdout
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from shared.cli import inspection_group
from shared.ports.hub import Hub
from shared.ports.kube import Kube
from shared.settings import Secret
from shared.stack import status
from shared.timetable import load
from tests.conftest import Kube as KubeFixture
from tests.servers.fixtures import HubUsers
from tests.wait import until

from .conftest import Stack

ROOT = Path(__file__).resolve().parents[2]
Z2JH = {"app": "jupyterhub", "release": "jh", "heritage": "Helm", "chart": "jupyterhub-4.4.0"}


def pvc(name: str, size: str, labels: dict[str, str]) -> dict[str, Any]:
    return {"metadata": {"name": name, "labels": labels,
                         "annotations": {"hub.jupyter.org/username": name.removeprefix("claim-")}},
            "spec": {"accessModes": ["ReadWriteOnce"],
                     "resources": {"requests": {"storage": size}}}}


def test_status_of_a_stack_classops_deployed(stack: Stack) -> None:
    stack.deploy()
    c, ns = stack.cluster, stack.cluster.namespace
    c.apps.patch_namespaced_stateful_set_scale("user-placeholder", ns, {"spec": {"replicas": 3}},
                                               field_manager="classops-warmup")
    storage = {"component": "singleuser-storage", "app": "jupyterhub"}
    for name in ("claim-alice", "claim-bob"):
        c.core.create_namespaced_persistent_volume_claim(ns, pvc(name, "10Gi", storage))
    c.core.create_namespaced_pod(ns, {"metadata": {"name": "jupyter-alice", "labels": {
        "component": "singleuser-server", "app": "jupyterhub"}}, "spec": {"containers": [
            {"name": "notebook", "image": "ghcr.io/cs101/notebook:2026.08"}]}})
    kube = Kube(c.api)
    kube.create({"apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshot",
                 "metadata": {"name": "claim-alice-nightly", "namespace": ns, "labels": storage},
                 "spec": {"source": {"persistentVolumeClaimName": "claim-alice"}}})
    c.taken(selector="component=user-placeholder", count=3)
    c.taken(name="jupyter-alice")
    c.advance(5)
    until(lambda: c.apps.read_namespaced_stateful_set("user-placeholder", ns)
               .status.ready_replicas == 3, what="3 placeholders ready")
    now = c.emu.clock.now() + timedelta(hours=2)
    timetable = load(ROOT / "schedules.yaml")
    term_day = datetime.combine(timetable.term.start + timedelta(days=8), datetime.min.time(),
                                timetable.term.timezone)
    try:
        found = status.read(kube, ns, now, None, None)
        actions = status.next_actions(timetable, term_day)
    finally:
        kube.close()
    print(status.table(found))
    assert found.source == "classops"
    ready = {c.component: (c.ready, c.desired) for c in found.components}
    assert ready == {"hub": (1, 1), "proxy": (1, 1), "user-scheduler": (2, 2),
                     "user-placeholder": (3, 3), "continuous-image-puller": (2, 2)}
    hub = next(x for x in found.components if x.component == "hub")
    assert hub.images == ("quay.io/jupyterhub/k8s-hub:4.4.0",)
    assert hub.age is not None and timedelta(hours=2) <= hub.age < timedelta(hours=3)
    assert found.placeholders == (3, 3)
    assert (found.servers, found.servers_from) == (1, "pods")
    assert (found.pvcs, found.pvc_bytes) == (2, 20 * 2**30)
    assert found.newest_snapshot is not None and found.newest_snapshot >= timedelta(hours=2)
    assert len(actions) == 5 and all(a[0] > term_day for a in actions)
    assert [a[0] for a in actions] == sorted(a[0] for a in actions)


def helm_like(k: KubeFixture) -> None:
    """z2jh 4.4.0's objects as Helm leaves them (its labels, its hub ConfigMap's published
    names), statuses filled in as controllers would; nothing of classops's."""
    ns, apps, core = k.namespace, k.apps, k.core

    def labels(component: str) -> dict[str, str]:
        return {**Z2JH, "component": component}

    names = {"hub": "hub", "proxy": "proxy", "proxy-public": "proxy-public",
             "user-scheduler-deploy": "user-scheduler", "user-placeholder": "user-placeholder",
             "continuous-image-puller": "continuous-image-puller", "hub-pvc": "hub-db-dir",
             "singleuser": "singleuser", "user-scheduler": "jh-user-scheduler"}
    core.create_namespaced_config_map(ns, {"metadata": {"name": "hub", "labels": labels("hub")},
                                           "data": {**names, "checksum_hook-image-puller": "9f1c",
                                                    "z2jh.py": "# helpers\n"}})

    def pod(component: str, image: str) -> dict[str, Any]:
        return {"metadata": {"labels": labels(component)},
                "spec": {"containers": [{"name": component, "image": image}]}}

    def spec(component: str, image: str, **extra: Any) -> dict[str, Any]:
        return {"selector": {"matchLabels": labels(component)},
                "template": pod(component, image), **extra}

    for name, image, replicas in (("hub", "quay.io/jupyterhub/k8s-hub:4.4.0", 1),
                                  ("proxy", "quay.io/jupyterhub/configurable-http-proxy:5.1.0", 1),
                                  ("user-scheduler", "registry.k8s.io/kube-scheduler:v1.35.2", 2)):
        apps.create_namespaced_deployment(ns, {"metadata": {"name": name, "labels": labels(name)},
                                               "spec": spec(name, image, replicas=replicas)})
        apps.patch_namespaced_deployment_status(name, ns, {"status": {
            "replicas": replicas, "readyReplicas": replicas, "updatedReplicas": replicas}})
    apps.create_namespaced_stateful_set(ns, {
        "metadata": {"name": "user-placeholder", "labels": labels("user-placeholder")},
        "spec": spec("user-placeholder", "registry.k8s.io/pause:3.10.1", replicas=4,
                     serviceName="user-placeholder", podManagementPolicy="Parallel")})
    apps.patch_namespaced_stateful_set_status("user-placeholder", ns, {"status": {
        "replicas": 4, "readyReplicas": 3}})
    apps.create_namespaced_daemon_set(ns, {
        "metadata": {"name": "continuous-image-puller",
                     "labels": labels("continuous-image-puller")},
        "spec": spec("continuous-image-puller", "registry.k8s.io/pause:3.10.1")})
    apps.patch_namespaced_daemon_set_status("continuous-image-puller", ns, {"status": {
        "desiredNumberScheduled": 3, "numberReady": 3, "currentNumberScheduled": 3,
        "numberMisscheduled": 0}})
    for user in ("alice", "bob", "carol"):
        core.create_namespaced_persistent_volume_claim(
            ns, pvc(f"claim-{user}", "5Gi", labels("singleuser-storage")))
    for user, phase in (("alice", "Running"), ("bob", "Running"), ("carol", "Pending")):
        core.create_namespaced_pod(ns, {"metadata": {"name": f"jupyter-{user}",
                                                     "labels": labels("singleuser-server")},
                                        "spec": {"containers": [{"name": "notebook",
                                                                 "image": "jupyter/base"}]}})
        core.patch_namespaced_pod_status(f"jupyter-{user}", ns, {"status": {"phase": phase}})


def test_status_of_a_helm_release_without_classops_labels(kube: KubeFixture) -> None:
    helm_like(kube)
    port = Kube(kube.api)
    now = kube.emu.clock.now() + timedelta(minutes=5)
    try:
        found = status.read(port, kube.namespace, now)
    finally:
        port.close()
    print(status.table(found))
    assert found.source == "z2jh (Helm)"
    ready = {c.component: (c.ready, c.desired) for c in found.components}
    assert ready == {"hub": (1, 1), "proxy": (1, 1), "user-scheduler": (2, 2),
                     "user-placeholder": (3, 4), "continuous-image-puller": (3, 3)}
    assert found.placeholders == (4, 3)
    assert (found.servers, found.servers_from) == (2, "pods")  # Running only
    assert (found.pvcs, found.pvc_bytes) == (3, 15 * 2**30)
    assert found.newest_snapshot is None and found.snapshots == ""
    assert "newest snapshot:      none yet" in status.table(found)


def test_servers_come_from_the_hub_when_it_answers(kube: KubeFixture, hub: HubUsers) -> None:
    helm_like(kube)
    user = hub.create_user("alice")
    hub.start_server(user)
    hub.create_user("bob")  # no server
    port = Kube(kube.api)
    client = Hub(hub.api_url, Secret(hub.token))
    try:
        found = status.read(port, kube.namespace, kube.emu.clock.now(), client)
    finally:
        port.close()
    # the shared hub may hold other tests' servers: at least ours, counted from the hub
    assert found.servers_from == "hub" and found.servers is not None and found.servers >= 1
    down = Hub("http://127.0.0.1:9/hub/api", Secret("x"), timeout=1.0)
    port = Kube(kube.api)
    try:
        fallback = status.read(port, kube.namespace, kube.emu.clock.now(), down)
    finally:
        port.close()
    assert (fallback.servers, fallback.servers_from) == (2, "pods")


def test_the_status_command_prints_json(kube: KubeFixture, tmp_path: Path) -> None:
    helm_like(kube)
    now = datetime.combine(load(ROOT / "schedules.yaml").term.start + timedelta(days=3),
                           datetime.min.time()).astimezone()
    out = io.StringIO()
    args = argparse.Namespace(schedule=str(ROOT / "schedules.yaml"), namespace=kube.namespace,
                              kubeconfig=None, output="json", api_client=kube.api, hub=None,
                              now=now)
    with redirect_stdout(out):
        assert inspection_group.cmd_status(args) == 0
    answer = json.loads(out.getvalue())
    assert answer["source"] == "z2jh (Helm)"
    assert answer["placeholders"] == {"desired": 4, "ready": 3}
    assert len(answer["next_actions"]) == 5
    assert {c["component"] for c in answer["components"]} >= {"hub", "proxy"}
    assert answer["newest_snapshot_age_seconds"] is None


def test_quantities() -> None:
    assert status.quantity("10Gi") == 10 * 2**30
    assert status.quantity("500M") == 5 * 10**8
    assert status.quantity("1.5") == 1.5
