"""The podnet stub: a Ready single-user pod answers HTTP at its own IP and port; then it stops."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from tests.kubeemu.controllers import PodNet
from tests.wait import until

from .conftest import Cluster
from .objects import pod

_direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # no proxy for 127.x


def _get(url: str) -> tuple[int, dict[str, str], Any] | None:
    """The answer, or None when nothing listens there (refused; or reset by a listener closing
    between accept and answer, as the pod goes)."""
    try:
        with _direct.open(url, timeout=30) as answer:
            return answer.status, dict(answer.headers), json.loads(answer.read())
    except ConnectionResetError:
        return None
    except urllib.error.URLError as err:
        if isinstance(err.reason, ConnectionRefusedError | ConnectionResetError):
            return None
        raise


def _singleuser(name: str, user: str, component: str = "singleuser-server") -> dict[str, Any]:
    body = pod(name, labels={"component": component})
    body["spec"]["containers"][0].update(
        ports=[{"name": "notebook-port", "containerPort": 8888}],
        env=[{"name": "JUPYTERHUB_USER", "value": user}])
    return body


def test_a_ready_singleuser_pod_answers_at_its_ip_until_it_is_deleted(cluster: Cluster) -> None:
    (podnet,) = cluster.emu.enable_controllers(
        "podnet", podnet={"headers": {"X-JupyterHub-Version": "6.1.1"}})
    assert isinstance(podnet, PodNet)
    cluster.add_node("n1")
    cluster.kubelet.start_seconds = 5
    cluster.core.create_namespaced_pod(cluster.namespace, _singleuser("jupyter-ada", "ada"))
    cluster.core.create_namespaced_pod(cluster.namespace, _singleuser("other", "bob", "hub"))
    taken = cluster.taken("jupyter-ada")[0]
    cluster.taken("other")  # both start timers run from before the advance
    url = f"http://{taken.status.pod_ip}:8888/user/ada/api"
    assert _get(url) is None  # taken, not started: nothing answers yet
    cluster.advance(5)
    status, headers, body = until(lambda: _get(url), what="ada's server answers")
    assert status == 200 and headers["X-JupyterHub-Version"] == "6.1.1"
    assert body == {"pod": "jupyter-ada", "user": "ada", "path": "/user/ada/api"}
    other = until(lambda: (p := cluster.core.read_namespaced_pod("other", cluster.namespace))
                       .status.phase == "Running" and p, what="the other pod running")
    assert _get(f"http://{other.status.pod_ip}:8888/") is None  # not a single-user server
    assert set(podnet.serving()) == {(taken.status.pod_ip, 8888)}

    cluster.core.delete_namespaced_pod("jupyter-ada", cluster.namespace,
                                       grace_period_seconds=30)
    until(lambda: _get(url) is None, what="ada's server gone once she is terminating")
    assert podnet.serving() == {} and not podnet.errors
