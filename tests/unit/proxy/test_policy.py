"""The proxy's policy: the pod network its backends must be in, the addresses NodePorts
bind (never 0.0.0.0), and the limits read from the environment."""

from __future__ import annotations

import pytest

from services.proxy.policy import Limits, PodNetwork, nodeport_ips, refused_backends
from services.proxy.table import endpoint_ips


def test_pod_network_allows_pod_ips_only() -> None:
    net = PodNetwork.parse("172.17.0.0/16, 10.244.0.0/16")
    assert net.allows("172.17.0.9") and net.allows("10.244.3.4")
    for ip in ("127.0.0.1", "10.96.0.1", "169.254.169.254", "192.168.1.5", "not-an-ip", "::1"):
        assert not net.allows(ip), ip
    assert not net.without(["172.17.0.1"]).allows("172.17.0.1")  # the node's bridge address
    assert net.without(["172.17.0.1"]).allows("172.17.0.2")
    with pytest.raises(ValueError):
        PodNetwork.parse(" , ")
    with pytest.raises(ValueError):
        PodNetwork.parse("172.17.0.0/33")


def test_refused_backends_name_the_endpoints_and_the_address() -> None:
    endpoints = {"default/web": {"subsets": [{"addresses": [{"ip": "172.17.0.2"}, {"ip": "127.0.0.1"}],
                                              "notReadyAddresses": [{"ip": "10.0.0.1"}]}]}}
    ips = {k: endpoint_ips(v) for k, v in endpoints.items()}
    assert refused_backends(ips, PodNetwork.parse("172.17.0.0/16")) == {("default/web", "127.0.0.1"),
                                                                        ("default/web", "10.0.0.1")}


def test_nodeport_addresses_default_and_cidrs() -> None:
    local = ["127.0.0.1", "192.168.1.5", "10.0.0.7", "172.17.0.1"]
    assert nodeport_ips(None, local, "192.168.1.5") == ("127.0.0.1", "192.168.1.5")
    assert nodeport_ips("primary", local, "192.168.1.5") == ("127.0.0.1", "192.168.1.5")
    assert nodeport_ips("10.0.0.0/8,127.0.0.0/8", local, "192.168.1.5") == ("10.0.0.7", "127.0.0.1")
    assert nodeport_ips("203.0.113.0/24", local, "192.168.1.5") == ()
    with pytest.raises(ValueError, match="0.0.0.0/0"):
        nodeport_ips("0.0.0.0/0", local, "192.168.1.5")


def test_limits_from_the_environment() -> None:
    assert Limits.from_env({}) == Limits()
    limits = Limits.from_env({"KAFKUBE_PROXY_TCP_MAX_CONNS": "3", "KAFKUBE_PROXY_TCP_IDLE_S": "1.5",
                              "KAFKUBE_PROXY_UDP_MAX_SESSIONS": "2", "KAFKUBE_DNS_TCP_MAX_CONNS": "4",
                              "KAFKUBE_DNS_TCP_READ_S": "0.5"})
    assert (limits.tcp_conns_per_service, limits.tcp_idle_s, limits.udp_sessions_per_port,
            limits.dns_tcp_conns, limits.dns_tcp_read_s) == (3, 1.5, 2, 4, 0.5)
