"""endpoints_for: selector matching, ready/not-ready split, named targetPorts per pod."""

from __future__ import annotations

from typing import Any

from services.endpoints.compute import endpoints_for, merge_pod, resolve_target_port


def svc(ports: list[dict[str, Any]] | None = None, selector: dict[str, str] | None = None,
        **spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": "web", "namespace": "default", "uid": "s1"},
            "spec": {"selector": {"app": "web"} if selector is None else selector,
                     "ports": ports if ports is not None else [{"name": "http", "port": 80, "targetPort": 8080}],
                     **spec}}


def pod(name: str, ip: str | None, *, ready: bool = True, labels: dict[str, str] | None = None,
        namespace: str = "default", cports: list[dict[str, Any]] | None = None,
        phase: str = "Running", **meta: Any) -> dict[str, Any]:
    status: dict[str, Any] = {"phase": phase,
                              "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}
    if ip:
        status["podIP"] = ip
    return {"metadata": {"name": name, "namespace": namespace, "uid": f"u-{name}",
                         "labels": {"app": "web"} if labels is None else labels, **meta},
            "spec": {"nodeName": "n1", "containers": [{"name": "c", "ports": cports or []}]},
            "status": status}


def ips(subset: dict[str, Any], field: str = "addresses") -> list[str]:
    return [a["ip"] for a in subset.get(field) or []]


def test_ready_and_not_ready_pods_split_into_addresses_and_not_ready_addresses() -> None:
    subsets = endpoints_for(svc(), [pod("a", "172.17.0.9", ready=False), pod("b", "172.17.0.10"),
                                    pod("c", "172.17.0.3")])
    assert len(subsets) == 1
    assert ips(subsets[0]) == ["172.17.0.3", "172.17.0.10"]  # numeric order
    assert ips(subsets[0], "notReadyAddresses") == ["172.17.0.9"]
    assert subsets[0]["ports"] == [{"name": "http", "port": 8080, "protocol": "TCP"}]
    address = subsets[0]["addresses"][0]
    assert address["nodeName"] == "n1"
    assert address["targetRef"] == {"kind": "Pod", "namespace": "default", "name": "c", "uid": "u-c"}


def test_only_matching_running_pods_with_an_ip_in_the_namespace_count() -> None:
    pods = [pod("other-labels", "10.0.0.1", labels={"app": "db"}),
            pod("other-ns", "10.0.0.2", namespace="prod"),
            pod("no-ip", None),
            pod("done", "10.0.0.3", phase="Succeeded"),
            pod("deleting", "10.0.0.4", deletionTimestamp="2024-01-01T00:00:00Z"),
            pod("extra-labels", "10.0.0.5", labels={"app": "web", "tier": "x"})]
    subsets = endpoints_for(svc(), pods)
    assert [ips(s) for s in subsets] == [["10.0.0.5"]]


def test_no_selector_means_no_endpoints_managed() -> None:
    assert endpoints_for(svc(selector={}), [pod("a", "10.0.0.1")]) == []
    service = svc()
    del service["spec"]["selector"]
    assert endpoints_for(service, [pod("a", "10.0.0.1")]) == []


def test_named_target_port_resolves_per_pod_and_groups_subsets() -> None:
    service = svc(ports=[{"name": "http", "port": 80, "targetPort": "web"}])
    pods = [pod("a", "10.0.0.1", cports=[{"name": "web", "containerPort": 8080}]),
            pod("b", "10.0.0.2", cports=[{"name": "web", "containerPort": 9090}]),
            pod("c", "10.0.0.3", cports=[{"name": "web", "containerPort": 8080}]),
            pod("d", "10.0.0.4", cports=[{"name": "other", "containerPort": 1}])]  # no such port: left out
    subsets = endpoints_for(service, pods)
    assert [(ips(s), s["ports"][0]["port"]) for s in subsets] == [(["10.0.0.1", "10.0.0.3"], 8080),
                                                                  (["10.0.0.2"], 9090)]


def test_target_port_defaults_and_numbers() -> None:
    p = pod("a", "1.2.3.4")
    assert resolve_target_port(p, None, 80) == 80
    assert resolve_target_port(p, 8080, 80) == 8080
    assert resolve_target_port(p, "8081", 80) == 8081
    assert resolve_target_port(p, "nope", 80) is None


def test_publish_not_ready_addresses_and_headless_without_ports() -> None:
    subsets = endpoints_for(svc(publishNotReadyAddresses=True), [pod("a", "10.0.0.1", ready=False)])
    assert ips(subsets[0]) == ["10.0.0.1"] and "notReadyAddresses" not in subsets[0]
    headless = endpoints_for(svc(ports=[], clusterIP="None"), [pod("a", "10.0.0.1")])
    assert headless == [{"addresses": headless[0]["addresses"]}]


def test_output_is_canonical_whatever_the_pod_order() -> None:
    pods = [pod(str(i), f"10.0.0.{i}", ready=i % 2 == 0) for i in range(1, 8)]
    assert endpoints_for(svc(), pods) == endpoints_for(svc(), list(reversed(pods)))


def test_merge_pod_takes_status_from_the_observed_record() -> None:
    desired = {"metadata": {"name": "a"}, "spec": {}}
    assert merge_pod(desired, {"status": {"podIP": "1.1.1.1"}})["status"] == {"podIP": "1.1.1.1"}
    assert merge_pod(desired, None)["status"] == {}


def test_hostname_is_set_only_when_the_pods_subdomain_names_the_service() -> None:
    web0 = pod("web-0", "172.17.0.5")
    web0["spec"].update(hostname="web-0", subdomain="web")
    other = pod("db-0", "172.17.0.6")
    other["spec"].update(hostname="db-0", subdomain="db")
    plain = pod("x", "172.17.0.7")
    [subset] = endpoints_for(svc(), [web0, other, plain])
    assert {a["ip"]: a.get("hostname") for a in subset["addresses"]} == {
        "172.17.0.5": "web-0", "172.17.0.6": None, "172.17.0.7": None}
