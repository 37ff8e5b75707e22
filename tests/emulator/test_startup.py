"""Starting the emulator: the fixture, the standalone command, and plain keep-alive HTTP."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
from pathlib import Path

import kubernetes
from kubernetes import client

from tests.conftest import Kube

ROOT = Path(__file__).resolve().parents[2]


def test_fixture_hands_a_working_client_and_kubeconfig(kube: Kube) -> None:
    assert client.VersionApi(kube.api).get_code().git_version == "v1.33.4"
    api = kubernetes.config.new_client_from_config(str(kube.kubeconfig))
    names = [n.metadata.name for n in client.CoreV1Api(api).list_namespace().items]
    assert {"default", "kube-system", kube.namespace} <= set(names)


def test_standalone_serves_until_killed_and_writes_a_kubeconfig(tmp_path: Path, kubectl: str
                                                                ) -> None:
    kubeconfig = tmp_path / "emu.kubeconfig"
    proc = subprocess.Popen([sys.executable, "-m", "tests.kubeemu", "--port", "0",
                             "--kubeconfig-out", str(kubeconfig)], cwd=ROOT,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert "serving on http://127.0.0.1:" in line
        kubernetes.config.load_kube_config(str(kubeconfig))
        pods = client.CoreV1Api().list_pod_for_all_namespaces()
        assert pods.items == []
        out = subprocess.run([kubectl, "--kubeconfig", str(kubeconfig), "get", "ns"],
                             capture_output=True, text=True, timeout=60, check=True).stdout
        assert "kube-system" in out and "Active" in out
        assert os.stat(kubeconfig).st_mode & 0o077 == 0  # it holds a token
    finally:
        proc.terminate()
        assert proc.wait(timeout=60) == 0


def test_keep_alive_connection_survives_error_answers(kube: Kube) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", kube.emu.port, timeout=10)
    headers = {"Authorization": f"Bearer {kube.emu.admin_token}"}
    conn.request("GET", "/api/v1/namespaces/nope/pods/missing", headers=headers)
    first = conn.getresponse()
    assert first.status == 404
    first.read()
    sock = conn.sock
    conn.request("POST", f"/api/v1/namespaces/{kube.namespace}/configmaps", body=b"{not json",
                 headers=headers)
    second = conn.getresponse()
    assert second.status == 400
    second.read()
    conn.request("GET", "/version")
    third = conn.getresponse()
    assert third.status == 200 and json.loads(third.read())["minor"] == "33"
    assert conn.sock is sock  # one TCP connection carried all three


def test_unknown_bearer_token_is_unauthorized(kube: Kube) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", kube.emu.port, timeout=10)
    conn.request("GET", "/api/v1/pods", headers={"Authorization": "Bearer not-a-token"})
    answer = conn.getresponse()
    body = json.loads(answer.read())
    assert answer.status == 401 and body["reason"] == "Unauthorized"


def test_stop_closes_the_port() -> None:
    from tests.kubeemu import Emulator

    emu = Emulator().start()
    port = emu.port
    emu.stop()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        conn.request("GET", "/version")
        conn.getresponse()
        raise AssertionError("the stopped emulator still answered")
    except ConnectionRefusedError:
        pass
