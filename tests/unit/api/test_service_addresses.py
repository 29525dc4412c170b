"""ClusterIP and NodePort allocation: unique by construction across partitions,
kept across updates, user choices checked."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from hypothesis import given, strategies as st

from schemas.records import Op, WriteRequest
from services.api.allocation import Ranges, Share
from services.api.decide import Context, decide
from services.api.service_addresses import AddressBook

RANGES = Ranges("10.96.0.0/24", (30000, 30009))


def book(partition: int = 0, partitions: int = 3, ips: set[str] = set(), ports: set[int] = set()) -> AddressBook:
    return AddressBook(Share(partition, partitions, RANGES), frozenset(ips), frozenset(ports))


def service(name: str = "web", **spec: object) -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": "default"},
            "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080}], **spec}}


def apply(body: dict[str, object], current: dict[str, object] | None, addresses: AddressBook) -> object:
    request = WriteRequest(op=Op.APPLY, apiVersion="v1", kind="Service", namespace="default",
                           name=str(body["metadata"]["name"]), body=body)  # type: ignore[index]
    ctx = Context(now=datetime(2026, 1, 1, tzinfo=timezone.utc), resource_version="1",
                  new_uid=lambda: "u", addresses=addresses)
    return decide(request, current, ctx)


@given(partitions=st.integers(1, 12))
def test_partitions_never_share_an_address(partitions: int) -> None:
    ips: dict[str, int] = {}
    ports: dict[int, int] = {}
    for p in range(partitions):
        share = Share(p, partitions, RANGES)
        used_ips: set[str] = set()
        used_ports: set[int] = set()
        while (ip := share.free_cluster_ip(used_ips)) is not None:
            assert ips.setdefault(ip, p) == p
            used_ips.add(ip)
        while (port := share.free_node_port(used_ports)) is not None:
            assert ports.setdefault(port, p) == p
            used_ports.add(port)
    assert "10.96.0.1" not in ips and "10.96.0.0" not in ips and len(ips) == 253
    assert sorted(ports) == list(range(30000, 30010))


def test_cluster_ip_is_allocated_then_kept_on_update() -> None:
    created = apply(service(), None, book(ips={"10.96.0.3"}))
    ip = created.stored["spec"]["clusterIP"]  # type: ignore[attr-defined]
    assert ip == "10.96.0.6" and created.stored["spec"]["clusterIPs"] == [ip]  # type: ignore[attr-defined]
    updated = apply(service(sessionAffinity="ClientIP"), created.stored, book(ips={ip}))  # type: ignore[attr-defined]
    assert updated.stored["spec"]["clusterIP"] == ip  # type: ignore[attr-defined]
    changed = apply(service(clusterIP="10.96.0.9"), created.stored, book(ips={ip}))  # type: ignore[attr-defined]
    assert changed.status_reason == "Invalid" and "may not change once set" in changed.message  # type: ignore[attr-defined]


def test_headless_and_user_chosen_addresses() -> None:
    assert apply(service(clusterIP="None"), None, book()).stored["spec"]["clusterIP"] == "None"  # type: ignore[attr-defined]
    taken = apply(service(clusterIP="10.96.0.50"), None, book(ips={"10.96.0.50"}))
    assert "provided IP is already allocated" in taken.message  # type: ignore[attr-defined]
    outside = apply(service(clusterIP="192.168.1.1"), None, book())
    assert "not in the valid range" in outside.message  # type: ignore[attr-defined]


def test_node_ports_allocated_kept_and_checked() -> None:
    created = apply(service(type="NodePort"), None, book(partition=1, ports={30001}))
    assert created.stored["spec"]["ports"][0]["nodePort"] == 30004  # type: ignore[attr-defined]
    again = apply(service(type="NodePort"), created.stored, book(partition=1, ports={30004}))  # type: ignore[attr-defined]
    assert again.reason == "Unchanged"  # type: ignore[attr-defined]
    clash = apply(service("other", type="NodePort", ports=[{"port": 80, "nodePort": 30004}]), None,
                  book(partition=1, ports={30004}))
    assert "spec.ports[0].nodePort: Invalid value: 30004: provided port is already allocated" in clash.message  # type: ignore[attr-defined]
    full = apply(service("x", type="NodePort"), None, book(partition=1, ports={30001, 30004, 30007}))
    assert "range is full" in full.message  # type: ignore[attr-defined]
