"""What a pod's containers learn about Services when they start: the docker-link-style
environment variables and the resolver configuration (cluster DNS, search path).

Pure, stdlib only; shared by the kubelet, which builds a pod's sandbox
(`dns_for_pod` -> SandboxConfig DNS fields) and each
container's env (`service_env`, before the container's own env, which wins),
and the proxy, whose DNS server answers for the same cluster domain.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from typing import Any

Obj = Mapping[str, Any]
DEFAULT_CLUSTER_DOMAIN = "cluster.local"
DEFAULT_CLUSTER_DNS_IP = "10.96.0.10"
NDOTS = 5


def _env_name(name: str) -> str:
    return name.upper().replace("-", "_")


def _has_cluster_ip(service: Obj) -> bool:
    spec = service.get("spec") or {}
    value = spec.get("clusterIP")
    if spec.get("type") == "ExternalName" or not value or value == "None":
        return False
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return bool(spec.get("ports"))


def _one_service(service: Obj) -> dict[str, str]:
    spec = service["spec"]
    ip, ports = spec["clusterIP"], spec["ports"]
    name = _env_name(service["metadata"]["name"])
    env = {f"{name}_SERVICE_HOST": ip, f"{name}_SERVICE_PORT": str(ports[0]["port"])}
    for port in ports:
        if port.get("name"):
            env[f"{name}_SERVICE_PORT_{_env_name(port['name'])}"] = str(port["port"])
    for index, port in enumerate(ports):
        proto = str(port.get("protocol") or "TCP")
        url = f"{proto.lower()}://{ip}:{port['port']}"
        if index == 0:
            env[f"{name}_PORT"] = url
        prefix = f"{name}_PORT_{port['port']}_{proto.upper()}"
        env |= {prefix: url, f"{prefix}_PROTO": proto.lower(), f"{prefix}_PORT": str(port["port"]),
                f"{prefix}_ADDR": ip}
    return env


def service_env(services: Iterable[Obj], namespace: str) -> dict[str, str]:
    """Kubernetes' service environment variables for a container of a pod in `namespace`:
    the namespace's Services with a ClusterIP (headless and ExternalName have none), plus
    `default/kubernetes` everywhere, as the kubelet does (a same-named local one wins)."""
    chosen: dict[str, Obj] = {}
    for svc in services:
        meta = svc.get("metadata") or {}
        ns = meta.get("namespace") or "default"
        if not _has_cluster_ip(svc):
            continue
        if ns == namespace:
            chosen[meta["name"]] = svc
        elif ns == "default" and meta.get("name") == "kubernetes":
            chosen.setdefault("kubernetes", svc)
    env: dict[str, str] = {}
    for name in sorted(chosen):
        env |= _one_service(chosen[name])
    return env


def pod_dns_config(namespace: str, cluster_dns_ip: str = DEFAULT_CLUSTER_DNS_IP,
                   cluster_domain: str = DEFAULT_CLUSTER_DOMAIN) -> tuple[list[str], list[str]]:
    """(nameservers, search domains) of a pod with dnsPolicy ClusterFirst."""
    domain = cluster_domain.strip(".")
    return [cluster_dns_ip], [f"{namespace}.svc.{domain}", f"svc.{domain}", domain]


def dns_for_pod(spec: Obj, namespace: str, cluster_dns_ip: str = DEFAULT_CLUSTER_DNS_IP,
                cluster_domain: str = DEFAULT_CLUSTER_DOMAIN) -> tuple[list[str], list[str], list[str]]:
    """(servers, searches, options) for a PodSpec, following `dnsPolicy` (ClusterFirst by
    default; ClusterFirstWithHostNet; Default = the node's resolver: all empty, Docker
    copies the host's; None = only `dnsConfig`) and merging `spec.dnsConfig`."""
    policy = spec.get("dnsPolicy") or "ClusterFirst"
    host_net = bool(spec.get("hostNetwork"))
    servers: list[str] = []
    searches: list[str] = []
    options = []
    if policy == "ClusterFirstWithHostNet" or (policy == "ClusterFirst" and not host_net):
        servers, searches = pod_dns_config(namespace, cluster_dns_ip, cluster_domain)
        options = [f"ndots:{NDOTS}"]
    config = spec.get("dnsConfig") or {}
    servers += [s for s in config.get("nameservers") or [] if s not in servers]
    searches += [s for s in config.get("searches") or [] if s not in searches]
    for opt in config.get("options") or []:
        text = f"{opt['name']}:{opt['value']}" if opt.get("value") else str(opt.get("name"))
        options = [o for o in options if o.split(":", 1)[0] != opt.get("name")] + [text]
    return servers[:3], searches[:32], options
