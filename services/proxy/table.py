"""The proxy's routing table, from Services and Endpoints. Pure.

`frontends(services, endpoints, node_ips=..., allowed=...)` says, for every address the
proxy must listen on (a Service port's `clusterIP:port`, and `<node ip>:nodePort` for
each of `node_ips` for NodePort/LoadBalancer Services), which Service port it serves and
which ready backends it spreads over (only addresses `allowed` says yes to: the pod
network, see `policy.PodNetwork`).
`RoundRobin` picks a backend per new connection. Called by `services.proxy.service`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

Obj = Mapping[str, Any]


@dataclass(frozen=True, order=True, slots=True)
class Frontend:
    """An address the proxy listens on."""

    ip: str
    port: int
    protocol: str  # TCP | UDP
    node_port: bool = False  # on a node address (not a ClusterIP held on the proxy's interface)


@dataclass(frozen=True, order=True, slots=True)
class Backend:
    ip: str
    port: int


@dataclass(frozen=True, slots=True)
class Route:
    service: str  # namespace/name
    port_name: str  # "" for an unnamed port
    backends: tuple[Backend, ...]


def cluster_ip(service: Obj) -> str | None:
    """The Service's IPv4 ClusterIP; None for headless, ExternalName or a bad value."""
    spec = service.get("spec") or {}
    value = spec.get("clusterIP")
    if spec.get("type") == "ExternalName" or not value or value == "None":
        return None
    try:
        return str(ipaddress.IPv4Address(value))
    except ValueError:
        return None


def subsets_of(endpoints: Obj | None) -> list[Obj]:
    """Subsets of an Endpoints object (desired, top-level) or an Observed record (status)."""
    if not endpoints:
        return []
    if "subsets" in endpoints:
        return list(endpoints.get("subsets") or [])
    return list((endpoints.get("status") or {}).get("subsets") or [])


def ready_backends(subsets: Iterable[Obj], port_name: str, protocol: str,
                   allowed: Callable[[str], bool] = lambda _ip: True) -> tuple[Backend, ...]:
    """Ready `allowed` addresses x the endpoint port named like the Service port (and same protocol)."""
    found: set[Backend] = set()
    for subset in subsets:
        ports = [p for p in subset.get("ports") or []
                 if (p.get("name") or "") == port_name and (p.get("protocol") or "TCP") == protocol]
        for port in ports:
            for address in subset.get("addresses") or []:
                if address.get("ip") and allowed(str(address["ip"])):
                    found.add(Backend(str(address["ip"]), int(port["port"])))
    return tuple(sorted(found))


def endpoint_ips(endpoints: Obj | None) -> set[str]:
    """Every address (ready or not) of an Endpoints object."""
    return {str(a["ip"]) for s in subsets_of(endpoints)
            for a in [*(s.get("addresses") or []), *(s.get("notReadyAddresses") or [])] if a.get("ip")}


def frontends(services: Mapping[str, Obj], endpoints: Mapping[str, Obj | None],
              *, reserved: Iterable[Frontend] = (), node_ips: Iterable[str] = (),
              allowed: Callable[[str], bool] = lambda _ip: True) -> dict[Frontend, Route]:
    """Every listening address and its route. `reserved` addresses (the DNS server's)
    are skipped; of two Services claiming one nodePort the first by key wins."""
    table: dict[Frontend, Route] = {}
    taken = set(reserved)
    node_ips = tuple(node_ips)
    for key in sorted(services):
        ip = cluster_ip(services[key])
        if ip is None:
            continue
        subsets = subsets_of(endpoints.get(key))
        for sp in (services[key].get("spec") or {}).get("ports") or []:
            if not sp.get("port"):
                continue
            protocol, name = sp.get("protocol") or "TCP", sp.get("name") or ""
            route = Route(key, name, ready_backends(subsets, name, protocol, allowed))
            wanted = [Frontend(ip, int(sp["port"]), protocol)]
            if sp.get("nodePort"):
                wanted += [Frontend(n, int(sp["nodePort"]), protocol, node_port=True) for n in node_ips]
            for front in wanted:
                if front not in taken and front not in table and protocol in ("TCP", "UDP"):
                    table[front] = route
    return table


def local_addresses(table: Mapping[Frontend, Route]) -> set[str]:
    """The ClusterIPs the node must hold locally (on the proxy's interface)."""
    return {f.ip for f in table if not f.node_port}


@dataclass(slots=True)
class RoundRobin:
    """Spreads new connections over the current backends in turn; `update` keeps the
    position so a change of endpoints does not restart the rotation at the first one."""

    backends: tuple[Backend, ...] = ()
    _next: int = field(default=0)

    def update(self, backends: tuple[Backend, ...]) -> None:
        self.backends = backends

    def pick(self, *, exclude: Iterable[Backend] = ()) -> Backend | None:
        skip = set(exclude)
        candidates = [b for b in self.backends if b not in skip]
        if not candidates:
            return None
        chosen = candidates[self._next % len(candidates)]
        self._next = (self._next + 1) % (1 << 30)
        return chosen
