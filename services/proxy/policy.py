"""What the proxy may listen on and dial, from its settings. Pure.

- `PodNetwork`: the pod CIDRs (`KAFKUBE_POD_CIDR`, comma-separated, default
  `172.17.0.0/16`, Docker's default bridge where the kubelet puts pods), minus the
  node's own addresses (the bridge's gateway 172.17.0.1 is one). An Endpoints address
  outside is never dialled: whoever can write an Endpoints object (a Service without
  selector) could otherwise point a ClusterIP at the node's own services or any host
  the node reaches.
- `nodeport_ips(setting, local, primary)`: the addresses NodePorts bind, as kube-proxy's
  `--nodeport-addresses`: CIDRs select the node's local addresses inside them; unset or
  `primary` means the node's primary address plus 127.0.0.1 (kube-proxy's iptables
  mode also answers NodePorts on localhost); never 0.0.0.0.
- `Limits`: per-Service TCP connection cap and idle timeout, UDP sessions cap and idle
  expiry, and the DNS server's TCP cap and read timeout.

Used by `services.proxy.service` (and `table.frontends` through `PodNetwork.allows`).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

DEFAULT_POD_CIDR = "172.17.0.0/16"
LOOPBACK = "127.0.0.1"


@dataclass(frozen=True, slots=True)
class PodNetwork:
    networks: tuple[ipaddress.IPv4Network, ...]
    node_ips: frozenset[str] = frozenset()  # the node's own addresses (the bridge gateway is in the CIDR)

    @classmethod
    def parse(cls, text: str) -> "PodNetwork":
        """`a/b,c/d` -> PodNetwork; a bad CIDR raises ValueError (the proxy does not start)."""
        nets = tuple(ipaddress.IPv4Network(part.strip(), strict=False) for part in text.split(",") if part.strip())
        if not nets:
            raise ValueError("KAFKUBE_POD_CIDR names no CIDR")
        return cls(nets)

    def allows(self, ip: str) -> bool:
        try:
            address = ipaddress.IPv4Address(ip)
        except ValueError:
            return False
        return ip not in self.node_ips and any(address in net for net in self.networks)

    def without(self, node_ips: Iterable[str]) -> "PodNetwork":
        """The same network minus the node's own addresses."""
        return PodNetwork(self.networks, frozenset(node_ips))


def nodeport_ips(setting: str | None, local: Iterable[str], primary: str) -> tuple[str, ...]:
    """The addresses NodePorts bind (sorted, unique); see the module docstring."""
    if setting is None or setting.strip() in ("", "primary"):
        return tuple(sorted({primary, LOOPBACK}))
    nets = [ipaddress.IPv4Network(part.strip(), strict=False) for part in setting.split(",") if part.strip()]
    if any(net.prefixlen == 0 for net in nets):
        raise ValueError("KAFKUBE_NODEPORT_ADDRESSES: 0.0.0.0/0 would bind every address; name the networks")
    chosen = {ip for ip in local if any(ipaddress.IPv4Address(ip) in net for net in nets)}
    return tuple(sorted(chosen))


def refused_backends(endpoints: Mapping[str, Iterable[str]], network: PodNetwork) -> set[tuple[str, str]]:
    """(Endpoints key, address) of every address outside the pod network."""
    return {(key, ip) for key, ips in endpoints.items() for ip in ips if not network.allows(ip)}


@dataclass(frozen=True, slots=True)
class Limits:
    tcp_conns_per_service: int = 1024
    tcp_idle_s: float = 3600.0
    udp_sessions_per_port: int = 1024
    udp_idle_s: float = 60.0
    dns_tcp_conns: int = 64
    dns_tcp_read_s: float = 10.0

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> "Limits":
        d = cls()
        return cls(tcp_conns_per_service=int(env.get("KAFKUBE_PROXY_TCP_MAX_CONNS", d.tcp_conns_per_service)),
                   tcp_idle_s=float(env.get("KAFKUBE_PROXY_TCP_IDLE_S", d.tcp_idle_s)),
                   udp_sessions_per_port=int(env.get("KAFKUBE_PROXY_UDP_MAX_SESSIONS", d.udp_sessions_per_port)),
                   udp_idle_s=float(env.get("KAFKUBE_PROXY_UDP_IDLE_S", d.udp_idle_s)),
                   dns_tcp_conns=int(env.get("KAFKUBE_DNS_TCP_MAX_CONNS", d.dns_tcp_conns)),
                   dns_tcp_read_s=float(env.get("KAFKUBE_DNS_TCP_READ_S", d.dns_tcp_read_s)))
