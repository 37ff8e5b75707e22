"""KubeSpawner, unchanged, spawning the course's students into the emulator through the hub.

The hub loads the config classops deploys (`infra/hub/jupyterhub_config.py` and its rendered
values); students are started and stopped through the hub's REST API. What is asserted is what
an operator would see in the cluster: KubeSpawner's own names, labels, annotations and escaping,
the pod answering through the proxy at its loopback address, and `delete_forever` removing the
PVC when a user is deleted.
"""

from __future__ import annotations

import requests

from tests.servers.kubehub import KubeHub
from tests.wait import until

EMAIL = "bob.jones@example.edu"


def _pod(hub: KubeHub, user: str, server: str = "") -> object:
    for pod in hub.pods():
        notes = pod.metadata.annotations or {}
        if notes.get("hub.jupyter.org/username") == user and notes.get(
                "hub.jupyter.org/servername", "") == server:
            return pod
    return None


def _through_proxy(hub: KubeHub, path: str) -> dict:
    assert hub.server.endpoint is not None
    session = requests.Session()
    session.trust_env = False
    answer = session.get(hub.server.endpoint.public_url + path.lstrip("/"), timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_start_stop_and_delete_forever_through_the_hub(kube_hub: KubeHub) -> None:
    hub = kube_hub
    hub.emu.clock.set_rate(30)  # image pulls and grace periods pass 30x faster than wall time
    hub.add_node("user-1")
    for user in ("ada", EMAIL):
        hub.admin.create_user(user)
    ada = hub.admin.start_server("ada", timeout=120)
    bob = hub.admin.start_server(EMAIL, timeout=120)
    lab = hub.admin.start_server("ada", "lab", timeout=120)
    assert ada["ready"] and bob["ready"] and lab["ready"]

    pods = {(p.metadata.annotations["hub.jupyter.org/username"],
             p.metadata.annotations.get("hub.jupyter.org/servername", "")): p for p in hub.pods()}
    assert set(pods) == {("ada", ""), ("ada", "lab"), (EMAIL, "")}
    assert pods["ada", ""].metadata.name == "jupyter-ada" == ada["state"]["pod_name"]
    assert pods["ada", "lab"].metadata.name == "jupyter-ada--lab"
    # KubeSpawner 7's safe slug: the escaped name plus a hash, as in a real cluster.
    escaped = pods[EMAIL, ""].metadata.name
    assert escaped.startswith("jupyter-bob-jones-example-edu---") and escaped == bob["state"][
        "pod_name"]
    for pod in pods.values():
        assert pod.metadata.labels["component"] == "singleuser-server"
        assert pod.metadata.labels["release"] == "cs101"
        assert pod.spec.scheduler_name == "cs101-user-scheduler"
        assert pod.spec.priority_class_name == "cs101-default-priority"
        # cpu 0.5 sent as a number, stored canonical; KubeSpawner reads the course's "1G" as
        # 2**30 bytes (its ByteSpecification is binary), sent as a number too.
        assert pod.spec.containers[0].resources.requests == {"cpu": "500m",
                                                             "memory": "1073741824"}
        assert pod.status.pod_ip.startswith("127.")
    claims = {c.metadata.name: c for c in hub.claims()}
    assert set(claims) == {"claim-ada", "claim-adalab", bob["state"]["pvc_name"]}
    assert bob["state"]["pvc_name"] == "claim-" + escaped.removeprefix("jupyter-")
    # Bound to a PV (a folder) once the pod was scheduled: WaitForFirstConsumer, as on a cloud.
    until(lambda: all(c.status.phase == "Bound" for c in hub.claims()), timeout=120,
          what="the claims bound")
    for claim in claims.values():
        assert claim.metadata.labels["component"] == "singleuser-storage"
        assert claim.metadata.annotations["hub.jupyter.org/username"] in ("ada", EMAIL)
        assert claim.spec.resources.requests == {"storage": "10Gi"}

    # The proxy routes each student's URL to their pod's loopback IP, where the stub answers.
    assert _through_proxy(hub, "/user/ada/api") == {
        "pod": "jupyter-ada", "user": "ada", "path": "/user/ada/api"}
    assert _through_proxy(hub, "/user/ada/lab/api")["pod"] == "jupyter-ada--lab"

    hub.admin.stop_server("ada", timeout=120)
    until(lambda: _pod(hub, "ada") is None, timeout=120, what="ada's pod deleted")
    assert _pod(hub, "ada", "lab") is not None  # her named server runs on
    assert "claim-ada" in {c.metadata.name for c in hub.claims()}  # a stop keeps the home

    hub.admin.delete_user(EMAIL)  # the hub stops the server, then KubeSpawner.delete_forever
    until(lambda: bob["state"]["pvc_name"] not in {c.metadata.name for c in hub.claims()},
               timeout=120, what="bob's claim deleted with him")
    until(lambda: _pod(hub, EMAIL) is None, timeout=120, what="bob's pod deleted")
    assert {c.metadata.name for c in hub.claims()} == {"claim-ada", "claim-adalab"}
