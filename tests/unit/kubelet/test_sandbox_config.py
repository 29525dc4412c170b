"""The sandbox a pod's containers join: hostname, host ports and the DNS its dnsPolicy
and dnsConfig call for."""

from __future__ import annotations

from typing import Any

from schemas.pod import Pod
from services.kubelet.sync import ClusterDns, sandbox_config


def pod(**spec: Any) -> Pod:
    return Pod.model_validate({"apiVersion": "v1", "kind": "Pod",
                               "metadata": {"name": "web", "namespace": "shop", "uid": "u1"},
                               "spec": {"containers": [{"name": "c", "image": "x",
                                                        "ports": [{"containerPort": 80, "hostPort": 8080}]}],
                                        **spec}})


def test_cluster_first_pods_resolve_through_the_cluster_dns() -> None:
    config = sandbox_config(pod(), ClusterDns("10.96.0.10", "cluster.local"))
    assert config.hostname == "web" and config.port_bindings == [(80, 8080, "tcp")]
    assert config.dns_servers == ["10.96.0.10"]
    assert config.dns_search == ["shop.svc.cluster.local", "svc.cluster.local", "cluster.local"]
    assert config.dns_options == ["ndots:5"]


def test_dns_config_is_merged_and_policy_none_uses_only_it() -> None:
    merged = sandbox_config(pod(dnsConfig={"searches": ["corp.example"], "options": [{"name": "ndots", "value": "2"}]}),
                            ClusterDns())
    assert merged.dns_search[-1] == "corp.example" and merged.dns_options == ["ndots:2"]
    only = sandbox_config(pod(dnsPolicy="None", dnsConfig={"nameservers": ["1.1.1.1"]}), ClusterDns())
    assert (only.dns_servers, only.dns_search, only.dns_options) == (["1.1.1.1"], [], [])


def test_host_network_pods_keep_the_node_resolver() -> None:
    config = sandbox_config(pod(hostNetwork=True), ClusterDns())
    assert config.host_network and config.dns_servers == [] and config.dns_search == []


def test_a_pod_with_a_subdomain_gets_its_fqdn_as_docker_domainname() -> None:
    from services.kubelet.runtime.docker_config import sandbox_body

    config = sandbox_config(pod(hostname="web-0", subdomain="web"), ClusterDns("10.96.0.10", "cluster.local"))
    assert (config.hostname, config.domainname) == ("web-0", "web.shop.svc.cluster.local")
    body = sandbox_body(config, node="n1", image="pause", attempt=0)
    assert (body["Hostname"], body["Domainname"]) == ("web-0", "web.shop.svc.cluster.local")
    assert sandbox_config(pod(), ClusterDns()).domainname == ""
