"""The proxy's pure table: frontends per Service port and NodePort, ready backends by
port name, round-robin selection."""

from __future__ import annotations

from typing import Any

from services.proxy.table import Backend, Frontend, RoundRobin, frontends, local_addresses


def svc(ip: str = "10.96.0.5", ports: list[dict[str, Any]] | None = None, **spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": "web", "namespace": "default"},
            "spec": {"clusterIP": ip, "ports": ports or [{"name": "http", "port": 80, "protocol": "TCP"}], **spec}}


def observed(*subsets: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "Endpoints", "status": {"subsets": list(subsets)}}


SUBSET = {"addresses": [{"ip": "172.17.0.3"}, {"ip": "172.17.0.2"}],
          "notReadyAddresses": [{"ip": "172.17.0.9"}],
          "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}]}


def test_cluster_ip_frontend_gets_the_ready_backends_of_its_port() -> None:
    table = frontends({"default/web": svc()}, {"default/web": observed(SUBSET)})
    route = table[Frontend("10.96.0.5", 80, "TCP")]
    assert route.backends == (Backend("172.17.0.2", 8080), Backend("172.17.0.3", 8080))
    assert local_addresses(table) == {"10.96.0.5"}


def test_node_port_listens_on_the_node_addresses_only() -> None:
    table = frontends({"default/web": svc(type="NodePort", ports=[
        {"name": "http", "port": 80, "nodePort": 30080}, {"name": "dns", "port": 53, "protocol": "UDP"}])}, {},
        node_ips=("127.0.0.1", "192.168.1.5"))
    assert set(table) == {Frontend("10.96.0.5", 80, "TCP"), Frontend("127.0.0.1", 30080, "TCP", node_port=True),
                          Frontend("192.168.1.5", 30080, "TCP", node_port=True), Frontend("10.96.0.5", 53, "UDP")}
    assert all(r.backends == () for r in table.values())
    assert local_addresses(table) == {"10.96.0.5"}


def test_headless_external_name_and_reserved_are_skipped() -> None:
    services = {"default/h": svc(ip="None"), "default/x": svc(ip="", type="ExternalName"),
                "kube-system/kube-dns": svc(ip="10.96.0.10", ports=[{"port": 53, "protocol": "UDP"}])}
    assert frontends(services, {}, reserved=[Frontend("10.96.0.10", 53, "UDP")]) == {}


def test_desired_endpoints_shape_works_too_and_port_names_must_match() -> None:
    desired = {"subsets": [{"addresses": [{"ip": "1.1.1.1"}], "ports": [{"port": 9000}]}]}
    unnamed = frontends({"default/web": svc(ports=[{"port": 80}])}, {"default/web": desired})
    assert unnamed[Frontend("10.96.0.5", 80, "TCP")].backends == (Backend("1.1.1.1", 9000),)
    named = frontends({"default/web": svc()}, {"default/web": desired})
    assert named[Frontend("10.96.0.5", 80, "TCP")].backends == ()


def test_round_robin_spreads_and_survives_updates() -> None:
    a, b, c = Backend("1.0.0.1", 80), Backend("1.0.0.2", 80), Backend("1.0.0.3", 80)
    rr = RoundRobin((a, b, c))
    assert [rr.pick() for _ in range(6)] == [a, b, c, a, b, c]
    rr.update((a, c))
    picks = {rr.pick() for _ in range(4)}
    assert picks == {a, c}
    assert rr.pick(exclude=[a, c]) is None
    assert RoundRobin().pick() is None


def test_backends_outside_the_allowed_network_are_left_out() -> None:
    table = frontends({"default/web": svc()}, {"default/web": observed(SUBSET)},
                      allowed=lambda ip: ip != "172.17.0.3")
    assert table[Frontend("10.96.0.5", 80, "TCP")].backends == (Backend("172.17.0.2", 8080),)
