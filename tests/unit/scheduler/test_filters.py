from typing import Any

import pytest

from services.scheduler import filters as f
from services.scheduler.model import PodRequest
from services.scheduler.snapshot import NodeUsage
from tests.unit.scheduler.builders import node, req

EMPTY = NodeUsage()


def used(*pods) -> NodeUsage:  # type: ignore[no-untyped-def]
    usage = NodeUsage()
    for p in pods:
        usage.add(p)
    return usage


def test_a_node_without_status_is_not_ready() -> None:
    assert f.run_filters(req(), node("n", ready=None), EMPTY) == ["node(s) were not ready"]


@pytest.mark.parametrize(("ready", "taint"), [("False", "node.kubernetes.io/not-ready"),
                                              ("Unknown", "node.kubernetes.io/unreachable")])
def test_a_node_not_ready_has_the_lifecycle_taint(ready: str, taint: str) -> None:
    assert f.run_filters(req(), node("n", ready=ready), EMPTY) == [
        f"node(s) had untolerated taint {{{taint}: }}"]
    tolerant = req(tolerations=[{"key": taint, "operator": "Exists"}])
    assert f.run_filters(tolerant, node("n", ready=ready), EMPTY) == []


def test_unschedulable_node_unless_tolerated() -> None:
    cordoned = node("n", unschedulable=True)
    assert f.node_unschedulable(req(), cordoned, EMPTY) == ["node(s) were unschedulable"]
    tolerant = req(tolerations=[{"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule",
                                 "operator": "Exists"}])
    assert f.node_unschedulable(tolerant, cordoned, EMPTY) == []


def test_taints_no_schedule_and_no_execute_need_a_toleration() -> None:
    tainted = node("n", taints=[{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}])
    assert f.taint_toleration(req(), tainted, EMPTY) == ["node(s) had untolerated taint {dedicated: gpu}"]
    equal = req(tolerations=[{"key": "dedicated", "operator": "Equal", "value": "gpu"}])
    wrong = req(tolerations=[{"key": "dedicated", "value": "cpu"}])
    everything = req(tolerations=[{"operator": "Exists"}])
    assert f.taint_toleration(equal, tainted, EMPTY) == []
    assert f.taint_toleration(everything, tainted, EMPTY) == []
    assert f.taint_toleration(wrong, tainted, EMPTY) != []
    execute = node("n", taints=[{"key": "k", "effect": "NoExecute"}])
    assert f.taint_toleration(req(), execute, EMPTY) == ["node(s) had untolerated taint {k: }"]
    soft = node("n", taints=[{"key": "k", "effect": "PreferNoSchedule"}])
    assert f.taint_toleration(req(), soft, EMPTY) == []


def test_node_selector_and_required_affinity() -> None:
    ssd = node("n", labels={"disk": "ssd", "gen": "5"})
    hdd = node("m", labels={"disk": "hdd"})
    selector = req(nodeSelector={"disk": "ssd"})
    assert f.node_affinity(selector, ssd, EMPTY) == []
    assert f.node_affinity(selector, hdd, EMPTY) == ["node(s) didn't match Pod's node affinity/selector"]

    def affinity(*expressions: dict[str, Any]) -> PodRequest:
        return req(affinity={"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [{"matchExpressions": list(expressions)}]}}})

    assert f.node_affinity(affinity({"key": "disk", "operator": "In", "values": ["ssd"]}), ssd, EMPTY) == []
    assert f.node_affinity(affinity({"key": "disk", "operator": "NotIn", "values": ["ssd"]}), ssd, EMPTY)
    assert f.node_affinity(affinity({"key": "gen", "operator": "Gt", "values": ["4"]}), ssd, EMPTY) == []
    assert f.node_affinity(affinity({"key": "gen", "operator": "Lt", "values": ["4"]}), ssd, EMPTY)
    assert f.node_affinity(affinity({"key": "gpu", "operator": "DoesNotExist"}), ssd, EMPTY) == []
    assert f.node_affinity(affinity({"key": "gpu", "operator": "Exists"}), ssd, EMPTY)
    by_name = req(affinity={"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In",
                                                "values": ["m"]}]}]}}})
    assert f.node_affinity(by_name, hdd, EMPTY) == [] and f.node_affinity(by_name, ssd, EMPTY)


def test_host_ports_conflict_on_same_port_and_protocol() -> None:
    taken = used(req("a", ports=[{"containerPort": 80, "hostPort": 8080}]))
    same = req("b", ports=[{"containerPort": 81, "hostPort": 8080}])
    udp = req("c", ports=[{"containerPort": 81, "hostPort": 8080, "protocol": "UDP"}])
    other = req("d", ports=[{"containerPort": 81, "hostPort": 9090}])
    n = node("n")
    assert f.node_ports(same, n, taken) == ["node(s) didn't have free ports for the requested pod ports"]
    assert f.node_ports(udp, n, taken) == [] and f.node_ports(other, n, taken) == []


def test_resources_fit_lists_every_shortage() -> None:
    n = node("n", cpu="2", memory="1Gi", pods="2")
    full = used(req("a", cpu="1500m", memory="900Mi"), req("b"))
    assert f.resources_fit(req(cpu="600m", memory="200Mi"), n, full) == [
        "Too many pods", "Insufficient cpu", "Insufficient memory"]
    assert f.resources_fit(req(cpu="500m"), n, used(req("a", cpu="1500m"))) == []
    assert f.resources_fit(req(cpu="501m"), n, used(req("a", cpu="1500m"))) == ["Insufficient cpu"]
    assert f.resources_fit(req(), n, used(req("a", cpu="2"))) == []  # no requests: only pods count
