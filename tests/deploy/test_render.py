"""Rendering, purely: every manifest validates against Kubernetes 1.32 to 1.36 for several
course configs; the z2jh facts that matter hold; the hub's config file runs."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
from traitlets.config import Config

from shared.cli.main import main
from shared.stack import network, secrets
from shared.stack.config import Authenticator, HubSettings, Resources
from shared.stack.hub_component import INFRA, values
from shared.stack.manifests import render, settings_of
from shared.timetable import TimetableError, loads

VERSIONS = ("1.32.0", "1.33.0", "1.34.0", "1.35.0", "1.36.0")
BASE = HubSettings(course="cs101")
CONFIGS = {
    "defaults": BASE,
    "cas-and-tls": dataclasses.replace(
        BASE, namespace="cs101-fall", release="cs101f", tls_secret="hub-tls",
        authenticator=Authenticator("cas", {"cas_login_url": "https://cas.example.edu/login",
                                            "cas_service_validate_url":
                                                "https://cas.example.edu/serviceValidate"}),
        admins=("prof",)),
    "big-users": dataclasses.replace(
        BASE, resources=Resources("2", "4", "8Gi", "16Gi"), storage_class="premium-rwo",
        storage_capacity="50Gi", singleuser_image="ghcr.io/cs101/notebook:2026.08",
        materials="https://github.com/cs101/materials", user_scheduler_replicas=3),
}


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_every_manifest_validates_on_every_supported_version(name: str) -> None:
    manifests = render(CONFIGS[name], "course: cs101\n")
    assert len(manifests) > 30
    for version in VERSIONS:
        for m in manifests:
            kubernetes_validate.validate(m, version, strict=True)  # raises on a bad one


def _find(manifests: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    return next(m for m in manifests if m["kind"] == kind and m["metadata"]["name"] == name)


def test_z2jh_names_labels_and_the_placeholder_without_replicas() -> None:
    manifests = render(BASE, parts=("hub",))
    names = {(m["kind"], m["metadata"]["name"]) for m in manifests}
    for wanted in [("Deployment", "hub"), ("Deployment", "proxy"), ("Service", "proxy-api"),
                   ("Service", "proxy-public"), ("Service", "hub"),
                   ("PersistentVolumeClaim", "hub-db-dir"), ("Deployment", "user-scheduler"),
                   ("StatefulSet", "user-placeholder"),
                   ("DaemonSet", "continuous-image-puller"),
                   ("Lease", "user-scheduler-lock")]:
        assert wanted in names
    for m in manifests:
        assert m["metadata"]["labels"]["app"] == "jupyterhub"
        assert m["metadata"]["labels"]["release"] == "cs101"
    placeholder = _find(manifests, "StatefulSet", "user-placeholder")
    assert "replicas" not in placeholder["spec"]
    assert placeholder["spec"]["podManagementPolicy"] == "Parallel"
    pod = placeholder["spec"]["template"]["spec"]
    assert pod["priorityClassName"] == "cs101-user-placeholder-priority"
    assert pod["schedulerName"] == "cs101-user-scheduler"
    classes = {m["metadata"]["name"]: m["value"] for m in render(BASE, parts=("cluster",))
               if m["kind"] == "PriorityClass"}
    assert classes == {"cs101-default-priority": 0, "cs101-user-placeholder-priority": -10}
    hub = _find(manifests, "Deployment", "hub")
    assert hub["spec"]["strategy"] == {"type": "Recreate"}
    puller = _find(manifests, "DaemonSet", "continuous-image-puller")
    assert puller["spec"]["updateStrategy"]["rollingUpdate"]["maxUnavailable"] == "100%"
    scheduler = _find(manifests, "ConfigMap", "user-scheduler")["data"]["config.yaml"]
    assert "MostAllocated" in scheduler
    assert _find(manifests, "Deployment", "user-scheduler")["spec"]["replicas"] == 2


def test_proxy_public_serves_443_only_with_a_tls_secret() -> None:
    plain = _find(render(BASE, parts=("hub",)), "Service", "proxy-public")
    tls = _find(render(CONFIGS["cas-and-tls"], parts=("hub",)), "Service", "proxy-public")
    assert plain["spec"]["type"] == tls["spec"]["type"] == "LoadBalancer"
    assert [p["port"] for p in plain["spec"]["ports"]] == [80]
    assert [p["port"] for p in tls["spec"]["ports"]] == [80, 443]


def test_single_user_egress_never_reaches_the_metadata_server() -> None:
    policy = _find(render(BASE, parts=("hub",)), "NetworkPolicy", "singleuser")
    for egress in policy["spec"]["egress"]:
        for peer in egress["to"]:
            block = peer.get("ipBlock")
            if block is None:
                continue
            covers = block["cidr"] == "0.0.0.0/0" or block["cidr"].startswith("169.254.")
            excepted = any(e in (network.METADATA, "169.254.0.0/16")
                           for e in block.get("except", []))
            assert not covers or excepted, egress


def test_generated_secrets_are_never_rendered() -> None:
    text = json.dumps(render(BASE))
    assert '"kind": "Secret"' not in text
    made = secrets.wanted()[0].manifest(BASE, lambda: "x" * 64)
    assert made["metadata"]["name"] == "hub"
    assert secrets.wanted()[0].missing({"hub.config.JupyterHub.cookie_secret": "a"}) == [
        secrets.PROXY_TOKEN, secrets.CRYPT_KEY]


def test_the_hubs_config_file_configures_kubespawner(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    settings = CONFIGS["cas-and-tls"]
    (tmp_path / "values.json").write_text(json.dumps(values(settings)))
    code = (INFRA / "hub" / "jupyterhub_config.py").read_text()
    monkeypatch.setenv("CLASSOPS_SERVICE_TOKEN", "t0k3n")
    c = Config()
    exec(compile(code, str(tmp_path / "jupyterhub_config.py"), "exec"),
         {"get_config": lambda: c, "__file__": str(tmp_path / "jupyterhub_config.py")})
    assert c.KubeSpawner.pvc_name_template == "claim-{username}{servername}"
    assert c.KubeSpawner.scheduler_name == "cs101f-user-scheduler"
    assert c.KubeSpawner.priority_class_name == "cs101f-default-priority"
    assert c.JupyterHub.authenticator_class == "jhub_cas_authenticator.cas_auth.CASAuthenticator"
    assert c.CASAuthenticator.cas_login_url == "https://cas.example.edu/login"
    classops = next(r for r in c.JupyterHub.load_roles if r["name"] == "classops")
    assert set(classops["scopes"]) == {"list:users", "read:users:name", "read:users:activity",
                                       "read:servers", "delete:servers"}
    service = next(s for s in c.JupyterHub.services if s["name"] == "classops")
    assert service["api_token"] == "t0k3n"
    assert any(s["name"] == "idle-culler" for s in c.JupyterHub.services)


def test_the_hub_section_of_the_schedule() -> None:
    head = Path("schedules.yaml").read_text() if Path("schedules.yaml").exists() else ""
    assert "hub:" in head
    timetable = loads(head)
    assert settings_of(timetable).course == "cs101"
    bad = "course: cs101\nterm: {name: t, start: 2026-01-05, end: 2026-02-05, timezone: UTC}\n" \
          "class: {size: 3}\nhub:\n  singleuser: {cpu: {guarantee: lots}}\n  tls_secrt: x\n"
    with pytest.raises(TimetableError) as err:
        loads(bad)
    text = "\n".join(str(p) for p in err.value.problems)
    assert "hub.singleuser.cpu.guarantee" in text and "tls_secrt" in text


def test_classops_render_prints_one_yaml_stream(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["render", "--parts", "hub", "--namespace", "cs101-test"]) == 0
    out = capsys.readouterr().out
    assert out.count("\n---\n") > 20 and "namespace: cs101-test" in out
    assert "kind: Secret" not in out
