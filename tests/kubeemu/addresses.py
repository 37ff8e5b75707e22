"""The addresses the emulator hands out: all loopback (127.0.0.0/8), none of them 127.0.0.x.

A test, a hub or a bench that connects to what the emulator says (a pod's IP, a Service's
clusterIP, a node's InternalIP) must reach this machine and nothing else, so every address is in
127.0.0.0/8, which Linux routes to `lo` in full: binding 127.244.0.2 needs no setup. The blocks
mirror the usual cluster defaults with `10.` turned into `127.`, so they read as what they are:

| what               | block                    | the real default it mirrors |
|--------------------|--------------------------|-----------------------------|
| node InternalIPs   | 127.10.0.1 and up        | 10.0.x.y (a VPC's hosts)    |
| Service clusterIPs | 127.96.0.0/12, from .10  | 10.96.0.0/12 (kubeadm)      |
| pod IPs            | 127.244.0.0/14           | 10.244.0.0/16 (flannel)     |

Nodes registered by `nodes.py` (`--nodes N`, the autoscaler) bring their own InternalIP from
127.100.x.y, inside the Service block but 262,000 Services away from the first clusterIP; the
kubelet's 127.10.x.y is for nodes registered without one.
Node *i* (in the order the kubelet first sees nodes) gets the pod CIDR `127.244.i.0/24` (the
i-th /24 of the pod network), its pods `.2` to `.254`. 127.0.0.0/16 is never handed out: real
servers listen on 127.0.0.1 (the emulator itself, the test servers) and 127.0.0.53 (systemd's
resolver). A pod network of one's own (`Kubelet(pod_network="127.150.0.0/16")`) keeps two
emulators on one machine from handing out the same pod IPs, which matters once something listens
there (the `podnet` stub of single-user servers).
"""

from __future__ import annotations

import ipaddress

LOOPBACK = ipaddress.IPv4Network("127.0.0.0/8")
RESERVED = ipaddress.IPv4Network("127.0.0.0/16")  # where real servers listen
POD_NETWORK = "127.244.0.0/14"
FIRST_SERVICE_IP = "127.96.0.10"
_NODES = ipaddress.ip_address("127.10.0.0")


def pod_network(cidr: str) -> ipaddress.IPv4Network:
    """`cidr` as a network; refused unless loopback, clear of 127.0.0.0/16 and /24 or wider."""
    net = ipaddress.ip_network(cidr)
    if not isinstance(net, ipaddress.IPv4Network) or not net.subnet_of(LOOPBACK) \
            or net.overlaps(RESERVED) or net.prefixlen > 24:
        raise ValueError(f"pod network {cidr!r}: expected a /24 or wider inside 127.0.0.0/8, "
                         "clear of 127.0.0.0/16 (e.g. 127.244.0.0/14)")
    return net


def node_ip(index: int) -> str:
    """Node `index`'s InternalIP: 127.10.<index // 250>.<index % 250 + 1>."""
    return str(_NODES + (index // 250) * 256 + index % 250 + 1)


def pod_cidr(network: ipaddress.IPv4Network, index: int) -> ipaddress.IPv4Network:
    """Node `index`'s /24 of the pod network."""
    base = network.network_address + index * 256
    if base + 255 > network.broadcast_address:
        raise RuntimeError(f"pod network {network} has no /24 left for node #{index}")
    return ipaddress.IPv4Network(f"{base}/24")


def pod_ips(network: ipaddress.IPv4Network, index: int) -> list[str]:
    """The pod IPs of node `index`, in the order they are handed out (.2 to .254)."""
    cidr = pod_cidr(network, index)
    return [str(cidr.network_address + n) for n in range(2, 255)]
