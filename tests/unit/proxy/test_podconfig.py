"""service_env (Kubernetes' docker-link env vars) and the pods' DNS configuration."""

from __future__ import annotations

from typing import Any

from services.runtime.podnet import dns_for_pod, pod_dns_config, service_env


def svc(name: str, ip: str, ports: list[dict[str, Any]], namespace: str = "default") -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": namespace}, "spec": {"clusterIP": ip, "ports": ports}}


def test_service_env_matches_kubernetes() -> None:
    env = service_env([svc("web", "10.96.0.5", [{"name": "http", "port": 80, "protocol": "TCP"},
                                                {"name": "dns-udp", "port": 53, "protocol": "UDP"}])], "default")
    assert env == {
        "WEB_SERVICE_HOST": "10.96.0.5", "WEB_SERVICE_PORT": "80",
        "WEB_SERVICE_PORT_HTTP": "80", "WEB_SERVICE_PORT_DNS_UDP": "53",
        "WEB_PORT": "tcp://10.96.0.5:80",
        "WEB_PORT_80_TCP": "tcp://10.96.0.5:80", "WEB_PORT_80_TCP_PROTO": "tcp",
        "WEB_PORT_80_TCP_PORT": "80", "WEB_PORT_80_TCP_ADDR": "10.96.0.5",
        "WEB_PORT_53_UDP": "udp://10.96.0.5:53", "WEB_PORT_53_UDP_PROTO": "udp",
        "WEB_PORT_53_UDP_PORT": "53", "WEB_PORT_53_UDP_ADDR": "10.96.0.5",
    }


def test_service_env_takes_only_the_namespace_and_cluster_ips() -> None:
    services = [svc("my-api", "10.96.0.7", [{"port": 8080}]),
                svc("other", "10.96.0.8", [{"port": 1}], namespace="prod"),
                svc("headless", "None", [{"port": 2}]),
                svc("kubernetes", "10.96.0.1", [{"name": "https", "port": 443}])]
    env = service_env(services, "prod")
    assert env["OTHER_SERVICE_HOST"] == "10.96.0.8"
    assert env["KUBERNETES_SERVICE_PORT_HTTPS"] == "443"  # default/kubernetes is everywhere
    assert not any(k.startswith(("MY_API", "HEADLESS")) for k in env)
    assert service_env(services, "default")["MY_API_PORT"] == "tcp://10.96.0.7:8080"


def test_pod_dns_config() -> None:
    assert pod_dns_config("shop", "10.96.0.10", "cluster.local") == (
        ["10.96.0.10"], ["shop.svc.cluster.local", "svc.cluster.local", "cluster.local"])


def test_dns_for_pod_follows_dns_policy_and_dns_config() -> None:
    servers, searches, options = dns_for_pod({}, "default")
    assert servers == ["10.96.0.10"] and searches[0] == "default.svc.cluster.local" and options == ["ndots:5"]
    assert dns_for_pod({"hostNetwork": True}, "default") == ([], [], [])
    assert dns_for_pod({"dnsPolicy": "Default"}, "default") == ([], [], [])
    none = dns_for_pod({"dnsPolicy": "None", "dnsConfig": {"nameservers": ["1.1.1.1"], "searches": ["x"],
                                                             "options": [{"name": "ndots", "value": "2"}]}}, "d")
    assert none == (["1.1.1.1"], ["x"], ["ndots:2"])
