"""Service addresses: ClusterIPs from the service range and NodePorts from the
node-port range, allocated by the API without any cross-partition coordination.

The writer of requests partition p only allocates the addresses whose index in the
range is congruent to p modulo the partition count. A Service lives in one
partition for its life, so two writers can never hand out the same address, and
the addresses in use are simply those of the Services in the partition's desired
state, so they survive restarts with no extra record. Pure; used by `decide`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Ranges:
    service_cidr: str = "10.96.0.0/16"
    node_ports: tuple[int, int] = (30000, 32767)


@dataclass(frozen=True, slots=True)
class Share:
    """The slice of both ranges that one requests partition allocates from."""

    partition: int
    partitions: int
    ranges: Ranges

    def free_cluster_ip(self, used: Iterable[str]) -> str | None:
        network = ipaddress.ip_network(self.ranges.service_cidr)
        taken = set(used)
        # index 0 is the network address and 1 is kept for the `kubernetes` service
        first = 2 + (self.partition - 2) % self.partitions
        for index in range(first, network.num_addresses - 1, self.partitions):
            candidate = str(network[index])
            if candidate not in taken:
                return candidate
        return None

    def free_node_port(self, used: Iterable[int]) -> int | None:
        low, high = self.ranges.node_ports
        taken = set(used)
        first = low + (self.partition - low) % self.partitions
        return next((p for p in range(first, high + 1, self.partitions) if p not in taken), None)

    def in_service_range(self, ip: str) -> bool:
        try:
            return ipaddress.ip_address(ip) in ipaddress.ip_network(self.ranges.service_cidr)
        except ValueError:
            return False

    def in_node_port_range(self, port: int) -> bool:
        low, high = self.ranges.node_ports
        return low <= port <= high
