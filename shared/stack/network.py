"""NetworkPolicies as z2jh has them: who may reach the hub, the proxy and the user servers.

Access is granted by pod labels (`hub.jupyter.org/network-access-<target>: "true"`), as z2jh
does, so a z2jh user's extra pods keep working. User servers may reach the hub, the proxy, DNS
and the internet, but no private address and never the cloud metadata server
(169.254.169.254: it hands out the node's credentials). DNS goes to kube-system or private
addresses only, so not to the metadata server's port 53 either.
"""

from __future__ import annotations

from typing import Any

from shared.stack.config import HubSettings
from shared.stack.labels import obj, selector

METADATA = "169.254.169.254/32"
PRIVATE = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16"]
DNS_PORTS = [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]


def _access(target: str) -> dict[str, Any]:
    return {"podSelector": {"matchLabels": {f"hub.jupyter.org/network-access-{target}": "true"}}}


def _pods(settings: HubSettings, component: str) -> dict[str, Any]:
    return {"podSelector": {"matchLabels": selector(settings, component)}}


def _tcp(*ports: int | str) -> list[dict[str, Any]]:
    return [{"port": p, "protocol": "TCP"} for p in ports]


def _dns() -> dict[str, Any]:
    kube_system = {"namespaceSelector": {"matchLabels": {
        "kubernetes.io/metadata.name": "kube-system"}}}
    private = [{"ipBlock": {"cidr": cidr}} for cidr in PRIVATE[:3]]
    return {"to": [kube_system, *private], "ports": DNS_PORTS}


def _policy(settings: HubSettings, name: str, component: str, ingress: list[dict[str, Any]],
            egress: list[dict[str, Any]]) -> dict[str, Any]:
    return obj("networking.k8s.io/v1", "NetworkPolicy", name, settings, component, spec={
        "podSelector": {"matchLabels": selector(settings, component)},
        "policyTypes": ["Ingress", "Egress"], "ingress": ingress, "egress": egress})


def render(settings: HubSettings) -> list[dict[str, Any]]:
    internet = {"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": PRIVATE}}]}
    everywhere = {"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]}
    hub = _policy(settings, "hub", "hub",
                  ingress=[{"from": [_access("hub")], "ports": _tcp("http")}],
                  egress=[{"to": [_pods(settings, "proxy")], "ports": _tcp(8001)},
                          {"to": [_pods(settings, "singleuser-server")], "ports": _tcp(8888)},
                          _dns(), everywhere])  # the Kubernetes API and the authenticator
    public = (_tcp("http", "https") if settings.proxy_terminates_tls else
              _tcp("http", "http-redirect") if settings.tls_mode == "offload" else _tcp("http"))
    proxy = _policy(settings, "proxy", "proxy",
                    ingress=[{"ports": public},
                             {"from": [_access("proxy-api")], "ports": _tcp("api")},
                             {"from": [_access("proxy-http")], "ports": _tcp("http")}],
                    egress=[{"to": [_pods(settings, "hub")], "ports": _tcp(8081)},
                            {"to": [_pods(settings, "singleuser-server")], "ports": _tcp(8888)},
                            _dns()])
    singleuser = _policy(settings, "singleuser", "singleuser-server",
                         ingress=[{"from": [_access("singleuser")], "ports": _tcp(8888)}],
                         egress=[{"to": [_pods(settings, "hub")], "ports": _tcp(8081)},
                                 {"to": [_pods(settings, "proxy")], "ports": _tcp(8000)},
                                 _dns(), internet])
    return [hub, proxy, singleuser]
