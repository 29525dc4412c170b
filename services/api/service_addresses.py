"""Assigning a Service its clusterIP and nodePorts on create and keeping them on
update, as Kubernetes' service registry does. Pure; called by `decide`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.api.admission import AdmissionError
from services.api.allocation import Share


@dataclass(frozen=True, slots=True)
class AddressBook:
    """What the partition's writer knows: its share of the ranges and what is in use."""

    share: Share
    cluster_ips: frozenset[str]
    node_ports: frozenset[int]


def assign_addresses(obj: dict[str, Any], current: dict[str, Any] | None,
                     book: AddressBook | None) -> dict[str, Any]:
    """`obj` (an admitted Service) with its addresses; raises AdmissionError("Invalid")."""
    if obj.get("kind") != "Service" or book is None:
        return obj
    spec = dict(obj.get("spec") or {})
    old = (current or {}).get("spec") or {}
    name = obj["metadata"]["name"]
    if spec.get("type") != "ExternalName":
        spec["clusterIP"] = _cluster_ip(spec, old, book, name)
        spec["clusterIPs"] = [spec["clusterIP"]]
    if spec.get("type") in ("NodePort", "LoadBalancer"):
        spec["ports"] = _node_ports(spec.get("ports") or [], old.get("ports") or [], book, name)
    return {**obj, "spec": spec}


def _cluster_ip(spec: dict[str, Any], old: dict[str, Any], book: AddressBook, name: str) -> str:
    wanted, kept = spec.get("clusterIP"), old.get("clusterIP")
    if kept and wanted not in (None, "", kept):
        raise _invalid(name, f'spec.clusterIPs[0]: Invalid value: ["{wanted}"]: may not change once set')
    if kept:
        return str(kept)
    if wanted == "None":
        return "None"
    if wanted:
        if not book.share.in_service_range(wanted):
            raise _invalid(name, f'spec.clusterIPs: Invalid value: ["{wanted}"]: failed to allocate IP '
                           f"{wanted}: the provided IP ({wanted}) is not in the valid range. "
                           f"The range of valid IPs is {book.share.ranges.service_cidr}")
        if wanted in book.cluster_ips:
            raise _invalid(name, f'spec.clusterIPs: Invalid value: ["{wanted}"]: failed to allocate IP '
                           f"{wanted}: provided IP is already allocated")
        return str(wanted)
    free = book.share.free_cluster_ip(book.cluster_ips)
    if free is None:
        raise AdmissionError("Invalid", "Internal error occurred: failed to allocate a serviceIP: range is full")
    return free


def _node_ports(ports: list[dict[str, Any]], old_ports: list[dict[str, Any]], book: AddressBook,
                name: str) -> list[dict[str, Any]]:
    kept = {(p.get("port"), p.get("protocol", "TCP")): p.get("nodePort") for p in old_ports}
    used = set(book.node_ports)
    result = []
    for index, port in enumerate(ports):
        node_port = port.get("nodePort") or kept.get((port.get("port"), port.get("protocol", "TCP")))
        if node_port is None:
            node_port = book.share.free_node_port(used)
            if node_port is None:
                raise AdmissionError("Invalid", "Internal error occurred: failed to allocate a nodePort: range is full")
        elif node_port not in kept.values():
            if not book.share.in_node_port_range(node_port):
                low, high = book.share.ranges.node_ports
                raise _invalid(name, f"spec.ports[{index}].nodePort: Invalid value: {node_port}: provided "
                               f"port is not in the valid range. The range of valid ports is {low}-{high}")
            if node_port in used:
                raise _invalid(name, f"spec.ports[{index}].nodePort: Invalid value: {node_port}: provided "
                               "port is already allocated")
        used.add(node_port)
        result.append({**port, "nodePort": node_port})
    return result


def _invalid(name: str, detail: str) -> AdmissionError:
    return AdmissionError("Invalid", f'Service "{name}" is invalid: {detail}')
