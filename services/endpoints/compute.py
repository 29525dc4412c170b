"""What a Service's Endpoints should hold, from its selector and the pods it matches.

Pure: `endpoints_for(service, pods)` takes a Service and pods in Kubernetes' JSON shape
(each pod merged: desired metadata/spec with the kubelet's observed status) and returns
the Endpoints `subsets`, in a canonical order so equal inputs give equal output (the
controller writes only when this changes). Called by `services.endpoints.service`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

Obj = Mapping[str, Any]
TERMINAL_PHASES = ("Succeeded", "Failed")


def selector_of(service: Obj) -> dict[str, str] | None:
    """The equality selector, or None when the Service has none (then nobody manages
    its Endpoints: the user writes them, as in Kubernetes)."""
    selector = (service.get("spec") or {}).get("selector")
    return dict(selector) if selector else None


def selects(selector: Mapping[str, str] | None, labels: Mapping[str, str] | None) -> bool:
    if not selector:
        return False
    labels = labels or {}
    return all(labels.get(k) == v for k, v in selector.items())


def is_ready(pod: Obj) -> bool:
    for condition in (pod.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Ready":
            return condition.get("status") == "True"
    return False


def resolve_target_port(pod: Obj, target: int | str | None, port: int | None) -> int | None:
    """A Service port's targetPort on this pod: a number as is; a name looked up in the
    pod's containers' ports (None when the pod has no such port); absent: `port`."""
    if target is None or target == "":
        return port
    if isinstance(target, int):
        return target
    if target.isdigit():
        return int(target)
    for container in (pod.get("spec") or {}).get("containers") or []:
        for cport in container.get("ports") or []:
            if cport.get("name") == target and cport.get("containerPort"):
                return int(cport["containerPort"])
    return None


def _address(pod: Obj, service_name: str | None) -> dict[str, Any]:
    """An address; its `hostname` is the pod's spec.hostname when the pod's spec.subdomain
    names this Service (upstream's podToEndpointAddressForService), so the cluster DNS
    serves `<hostname>.<service>.<namespace>.svc` (StatefulSet pods)."""
    meta, spec = pod.get("metadata") or {}, pod.get("spec") or {}
    address: dict[str, Any] = {"ip": (pod.get("status") or {})["podIP"]}
    if spec.get("hostname") and service_name and spec.get("subdomain") == service_name:
        address["hostname"] = spec["hostname"]
    node = (pod.get("spec") or {}).get("nodeName")
    if node:
        address["nodeName"] = node
    ref = {"kind": "Pod", "namespace": meta.get("namespace") or "default", "name": meta.get("name")}
    if meta.get("uid"):
        ref["uid"] = meta["uid"]
    address["targetRef"] = ref
    return address


def _ports_on(service: Obj, pod: Obj) -> tuple[tuple[str | None, int, str], ...] | None:
    """(name, port, protocol) of every Service port resolvable on this pod; None when the
    Service has ports and none resolves (the pod serves nothing)."""
    wanted = (service.get("spec") or {}).get("ports") or []
    found = []
    for sp in wanted:
        number = resolve_target_port(pod, sp.get("targetPort"), sp.get("port"))
        if number is not None:
            found.append((sp.get("name"), number, sp.get("protocol") or "TCP"))
    if wanted and not found:
        return None
    return tuple(sorted(found, key=lambda p: (p[0] or "", p[1], p[2])))


def _usable(pod: Obj, namespace: str, selector: Mapping[str, str]) -> bool:
    meta, status = pod.get("metadata") or {}, pod.get("status") or {}
    return ((meta.get("namespace") or "default") == namespace
            and selects(selector, meta.get("labels"))
            and not meta.get("deletionTimestamp")
            and bool(status.get("podIP"))
            and status.get("phase") not in TERMINAL_PHASES)


def endpoints_for(service: Obj, pods: Iterable[Obj]) -> list[dict[str, Any]]:
    """The Endpoints subsets of `service`: ready pods in `addresses`, others in
    `notReadyAddresses` (all ready with spec.publishNotReadyAddresses), pods grouped into
    one subset per distinct resolved port set, as Kubernetes repacks them."""
    selector = selector_of(service)
    if selector is None:
        return []
    namespace = (service.get("metadata") or {}).get("namespace") or "default"
    publish_all = bool((service.get("spec") or {}).get("publishNotReadyAddresses"))
    groups: dict[tuple[tuple[str | None, int, str], ...], tuple[list[Any], list[Any]]] = {}
    for pod in pods:
        if not _usable(pod, namespace, selector):
            continue
        ports = _ports_on(service, pod)
        if ports is None:
            continue
        ready, not_ready = groups.setdefault(ports, ([], []))
        address = _address(pod, (service.get("metadata") or {}).get("name"))
        (ready if publish_all or is_ready(pod) else not_ready).append(address)
    return [_subset(ports, ready, not_ready) for ports, (ready, not_ready) in sorted(groups.items(), key=_order)]


def _order(item: tuple[tuple[tuple[str | None, int, str], ...], Any]) -> list[tuple[str, int, str]]:
    return [(n or "", p, proto) for n, p, proto in item[0]]


def _subset(ports: tuple[tuple[str | None, int, str], ...], ready: list[Any], not_ready: list[Any]) -> dict[str, Any]:
    subset: dict[str, Any] = {}
    if ready:
        subset["addresses"] = sorted(ready, key=_by_ip)
    if not_ready:
        subset["notReadyAddresses"] = sorted(not_ready, key=_by_ip)
    if ports:
        subset["ports"] = [{**({"name": n} if n else {}), "port": p, "protocol": proto} for n, p, proto in ports]
    return subset


def _by_ip(address: Mapping[str, Any]) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in str(address["ip"]).split("."))
    except ValueError:
        return (1 << 16,)


def merge_pod(desired: Obj, observed: Obj | None) -> dict[str, Any]:
    """A pod as the controller sees it: desired metadata and spec, observed status
    (an `Observed` record's `status`)."""
    status = (observed or {}).get("status") or {}
    return {**desired, "status": status}
