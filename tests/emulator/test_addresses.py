"""Every address the emulator hands out is loopback, clear of 127.0.0.x, and handed out once."""

from __future__ import annotations

import ipaddress
import socket

import pytest

from tests.kubeemu.addresses import pod_network
from tests.kubeemu.controllers import Kubelet
from tests.wait import until

from .conftest import Cluster
from .objects import pod


def _loopback_not_reserved(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    return ip.is_loopback and ip not in ipaddress.ip_network("127.0.0.0/16")


def test_pods_nodes_and_services_get_distinct_loopback_addresses(cluster: Cluster) -> None:
    cluster.add_node("n1", pods=3)
    # A node registered without an InternalIP: the kubelet gives it one of the node block.
    cluster.core.create_node({"metadata": {"name": "bare"}})
    cluster.core.patch_node_status("bare", {"status": {
        "capacity": {"cpu": "4", "memory": "16Gi", "pods": "110"},
        "allocatable": {"cpu": "4", "memory": "16Gi", "pods": "110"},
        "conditions": [{"type": "Ready", "status": "True"}]}})
    for i in range(6):
        cluster.core.create_namespaced_pod(cluster.namespace, pod(f"p{i}"))
    running = until(lambda: (ps := [p for p in cluster.pods() if p.status.pod_ip])
                         and len(ps) == 6 and ps, what="six pods with IPs")
    pod_ips = [p.status.pod_ip for p in running]
    host_ips = {p.spec.node_name: p.status.host_ip for p in running}
    svc = cluster.core.create_namespaced_service(cluster.namespace, {
        "metadata": {"name": "web"}, "spec": {"ports": [{"port": 80}]}})
    everything = [*pod_ips, *host_ips.values(), svc.spec.cluster_ip]
    assert all(_loopback_not_reserved(a) for a in everything), everything
    assert len(set(pod_ips)) == 6
    assert set(host_ips) == {"n1", "bare"}
    assert host_ips["n1"] == "127.10.0.1"  # the node's own InternalIP is kept
    assert ipaddress.ip_address(host_ips["bare"]) in ipaddress.ip_network("127.10.0.0/16")
    # Pods of one node share its /24; the two nodes' blocks differ; Services are elsewhere.
    blocks = {p.spec.node_name: ipaddress.ip_network(f"{p.status.pod_ip}/24", strict=False)
              for p in running}
    assert blocks["n1"] != blocks["bare"]
    assert all(ipaddress.ip_address(p.status.pod_ip) in blocks[p.spec.node_name]
               for p in running)
    assert ipaddress.ip_address(svc.spec.cluster_ip) in ipaddress.ip_network("127.96.0.0/12")


def test_a_pod_ip_can_be_listened_on_and_reached(cluster: Cluster) -> None:
    cluster.add_node("n1")
    cluster.core.create_namespaced_pod(cluster.namespace, pod("p"))
    ip = until(lambda: cluster.core.read_namespaced_pod("p", cluster.namespace)
                    .status.pod_ip, what="p's IP")
    with socket.socket() as server:
        server.bind((ip, 0))  # Linux routes all of 127.0.0.0/8 to lo: no setup needed
        server.listen()
        with socket.create_connection(server.getsockname(), timeout=30):
            pass


@pytest.mark.parametrize("cidr", ["10.244.0.0/16", "127.0.0.0/16", "127.0.0.0/8",
                                  "127.200.0.0/25", "192.168.0.0/24"])
def test_a_pod_network_outside_loopback_or_on_127_0_is_refused(
        cluster: Cluster, cidr: str) -> None:
    with pytest.raises(ValueError, match=r"inside 127\.0\.0\.0/8"):
        pod_network(cidr)
    with pytest.raises(ValueError, match=r"inside 127\.0\.0\.0/8"):
        Kubelet(cluster.emu, pod_network=cidr)
