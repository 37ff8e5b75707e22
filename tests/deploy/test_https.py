"""HTTPS as z2jh's `proxy.https`: `secret`, `offload` and `auto` (cert-manager) render
schema-valid manifests on 1.32-1.36, serve 443 and 80 with 80 redirecting to https, pass the
provider's annotations through (offload), and `classops check` says what to install when
cert-manager is missing (auto)."""

from __future__ import annotations

import dataclasses
from typing import Any

import kubernetes_validate
import pytest

from shared.ports.kube import Kube
from shared.stack import probes, verdicts
from shared.stack.config import HubSettings
from shared.stack.manifests import render, settings_of
from shared.timetable import TimetableError, loads
from tests.conftest import Kube as KubeFixture

from .test_render import VERSIONS

BASE = HubSettings(course="cs101", host="hub.cs101.example.edu")
DNS01 = {"dns01": {"cloudDNS": {"project": "univ-dns"}}}
MODES = {
    "secret": dataclasses.replace(BASE, https="secret", tls_secret="hub-tls"),
    "offload": dataclasses.replace(BASE, https="offload", https_annotations={
        "service.beta.kubernetes.io/aws-load-balancer-ssl-cert": "arn:aws:acm:x:1:certificate/y",
        "service.beta.kubernetes.io/aws-load-balancer-backend-protocol": "http"}),
    "auto": dataclasses.replace(BASE, https="auto", acme_email="ops@example.edu",
                                acme_solvers=(DNS01,)),
}
CERT_MANAGER = "cert-manager.io/v1"


def _find(manifests: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    return next(m for m in manifests if m["kind"] == kind and m["metadata"]["name"] == name)


@pytest.mark.parametrize("mode", sorted(MODES))
def test_every_mode_renders_valid_manifests_serving_443_and_80(mode: str) -> None:
    manifests = render(MODES[mode], "course: cs101\n")
    for version in VERSIONS:
        for m in manifests:
            if m["apiVersion"] != CERT_MANAGER:  # cert-manager's kinds: checked below
                kubernetes_validate.validate(m, version, strict=True)
    public = _find(manifests, "Service", "proxy-public")
    ports = {p["port"]: p["targetPort"] for p in public["spec"]["ports"]}
    chp = _find(manifests, "Deployment", "proxy")["spec"]["template"]["spec"]["containers"][0]
    named = {p["name"]: p["containerPort"] for p in chp["ports"]}
    assert set(ports) == {80, 443}
    # Port 80 reaches a listener that only redirects to 443.
    redirect = next(a for a in chp["args"] if a.startswith("--redirect-port="))
    assert named[ports[80]] == int(redirect.split("=")[1]) and "--redirect-to=443" in chp["args"]
    policy = _find(manifests, "NetworkPolicy", "proxy")["spec"]["ingress"][0]["ports"]
    assert {p["port"] for p in policy} == {ports[80], ports[443]}
    if mode == "offload":  # TLS ends at the load balancer: 443 is CHP's plain port
        assert named[ports[443]] == 8000 and not any("ssl" in a for a in chp["args"])
        assert public["metadata"]["annotations"] == MODES["offload"].https_annotations
    else:  # CHP terminates TLS with the kubernetes.io/tls Secret
        secret = MODES[mode].tls_secret_name
        volumes = _find(manifests, "Deployment", "proxy")["spec"]["template"]["spec"]["volumes"]
        assert volumes == [{"name": "tls", "secret": {"secretName": secret}}]
        assert named[ports[443]] == 8443 and "annotations" not in public["metadata"]
    certs = [m for m in manifests if m["apiVersion"] == CERT_MANAGER]
    if mode != "auto":
        assert certs == []
        return
    issuer, certificate = (_find(certs, "Issuer", "cs101-acme"),
                           _find(certs, "Certificate", "cs101-hub-tls"))
    assert issuer["spec"]["acme"]["email"] == "ops@example.edu"
    assert issuer["spec"]["acme"]["solvers"] == [DNS01]
    assert certificate["spec"]["secretName"] == "cs101-hub-tls"
    assert certificate["spec"]["dnsNames"] == ["hub.cs101.example.edu"]
    assert certificate["spec"]["issuerRef"]["name"] == "cs101-acme"
    role = _find(manifests, "Role", "classops")["rules"]
    assert any("cert-manager.io" in r["apiGroups"] for r in role)  # deploy may apply them


def test_the_https_section_of_the_schedule() -> None:
    head = ("course: cs101\nterm: {name: t, start: 2026-08-31, end: 2026-12-18, timezone: UTC}\n"
            "class: {size: 10}\n")
    auto = settings_of(loads(head + (
        "hub:\n  host: hub.cs101.example.edu\n  https:\n    type: auto\n"
        "    email: ops@example.edu\n    solvers: [{dns01: {cloudDNS: {project: univ-dns}}}]\n")))
    assert (auto.tls_mode, auto.acme_solvers, auto.tls_secret_name) == (
        "auto", (DNS01,), "cs101-hub-tls")
    offload = settings_of(loads(head + (
        "hub:\n  https:\n    type: offload\n    annotations: {a.example/cert: arn}\n")))
    assert (offload.tls_mode, dict(offload.https_annotations)) == ("offload", {
        "a.example/cert": "arn"})
    with pytest.raises(TimetableError) as err:
        loads(head + "hub:\n  https:\n    type: auto\n    email: ops@example.edu\n")
    assert "type auto needs 'email' (the ACME account's contact) and 'solvers'" in str(err.value)
    with pytest.raises(TimetableError) as err:
        loads(head + "hub:\n  https: {type: letsencrypt}\n")
    assert "'letsencrypt' is not an HTTPS type, expected one of secret, offload, auto" in \
        str(err.value)


def test_check_says_what_to_install_without_cert_manager(kube: KubeFixture) -> None:
    port = Kube(kube.api)
    try:
        auto = dataclasses.replace(MODES["auto"], namespace=kube.namespace)
        (finding,) = verdicts._tls(probes.tls(port, auto))
        assert finding.verdict == "fail" and "certificates.cert-manager.io" in finding.detail
        assert "install cert-manager" in finding.fix
        secret = dataclasses.replace(MODES["secret"], namespace=kube.namespace)
        (missing,) = verdicts._tls(probes.tls(port, secret))
        assert missing.verdict == "fail" and "kubectl create secret tls hub-tls" in missing.fix
        kube.core.create_namespaced_secret(kube.namespace, {
            "metadata": {"name": "hub-tls"}, "type": "kubernetes.io/tls",
            "data": {"tls.crt": "", "tls.key": ""}})
        (present,) = verdicts._tls(probes.tls(port, secret))
        assert present.verdict == "pass"
    finally:
        port.close()
