"""Feasibility: the filters of kube-scheduler's default profile that Kafkube
implements, in kube-scheduler's order. Each returns the reasons a node cannot take
the pod, in Kubernetes' words (empty: the node passes).

Pure. Called by `services.scheduler.algorithm.schedule` for every node.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from schemas.core import Taint
from schemas.pod import NodeSelectorRequirement, NodeSelectorTerm, Toleration
from services.scheduler.model import UNSCHEDULABLE_TAINT, NodeInfo, PodRequest
from services.scheduler.snapshot import NodeUsage

NOT_READY = "node(s) were not ready"
UNSCHEDULABLE = "node(s) were unschedulable"
AFFINITY = "node(s) didn't match Pod's node affinity/selector"
PORTS = "node(s) didn't have free ports for the requested pod ports"
TOO_MANY_PODS = "Too many pods"
INSUFFICIENT_CPU = "Insufficient cpu"
INSUFFICIENT_MEMORY = "Insufficient memory"
Filter = Callable[[PodRequest, NodeInfo, NodeUsage], list[str]]


def node_known(pod: PodRequest, node: NodeInfo, usage: NodeUsage) -> list[str]:
    """A node whose kubelet never reported status has no capacity to offer."""
    return [NOT_READY] if node.ready is None else []


UNSCHEDULABLE_NODE_TAINT = Taint(key=UNSCHEDULABLE_TAINT, effect="NoSchedule")


def node_unschedulable(pod: PodRequest, node: NodeInfo, usage: NodeUsage) -> list[str]:
    if node.unschedulable and not tolerated(UNSCHEDULABLE_NODE_TAINT, pod.tolerations):
        return [UNSCHEDULABLE]
    return []


def taint_toleration(pod: PodRequest, node: NodeInfo, usage: NodeUsage) -> list[str]:
    for taint in node.hard_taints:  # the effective NoSchedule/NoExecute taints
        if not tolerated(taint, pod.tolerations):
            return [f"node(s) had untolerated taint {{{taint.key}: {taint.value or ''}}}"]
    return []


def node_affinity(pod: PodRequest, node: NodeInfo, usage: NodeUsage) -> list[str]:
    if any(node.labels.get(k) != v for k, v in pod.node_selector.items()):
        return [AFFINITY]
    required = pod.affinity.required_during_scheduling_ignored_during_execution if pod.affinity else None
    if required is not None and not any(term_matches(t, node) for t in required.node_selector_terms):
        return [AFFINITY]
    return []


def node_ports(pod: PodRequest, node: NodeInfo, usage: NodeUsage) -> list[str]:
    for ip, protocol, port in pod.host_ports:
        for used_ip, used_protocol, used_port in usage.ports:
            if port == used_port and protocol == used_protocol and _ips_overlap(ip, used_ip):
                return [PORTS]
    return []


def resources_fit(pod: PodRequest, node: NodeInfo, usage: NodeUsage) -> list[str]:
    """Every shortage counts (kube-scheduler lists each one)."""
    reasons = []
    if usage.pods + 1 > node.max_pods:
        reasons.append(TOO_MANY_PODS)
    cpu, memory = pod.requests.cpu, pod.requests.memory
    if cpu > 0 and cpu > node.allocatable.cpu - usage.requested.cpu:
        reasons.append(INSUFFICIENT_CPU)
    if memory > 0 and memory > node.allocatable.memory - usage.requested.memory:
        reasons.append(INSUFFICIENT_MEMORY)
    return reasons


FILTERS: tuple[Filter, ...] = (node_known, node_unschedulable, taint_toleration, node_affinity,
                               node_ports, resources_fit)


def run_filters(pod: PodRequest, node: NodeInfo, usage: NodeUsage,
                filters: Iterable[Filter] = FILTERS) -> list[str]:
    """The reasons of the first filter that fails (kube-scheduler stops there)."""
    for check in filters:
        reasons = check(pod, node, usage)
        if reasons:
            return reasons
    return []


def feasibility(pod: PodRequest) -> Callable[[NodeInfo, NodeUsage], bool]:
    """`fits(node, usage)`, equal to `not run_filters(pod, node, usage)` with the default
    FILTERS, for the hot loop of `algorithm.schedule`: what depends only on the pod is
    worked out once here, a node is judged with plain ints, sets and tuples, and no
    reason text is built (the caller asks `run_filters` for reasons only when no node
    fits). The unit tests check the equality on random clusters."""
    tolerations = pod.tolerations
    tolerates_unschedulable = tolerated(UNSCHEDULABLE_NODE_TAINT, tolerations)
    selector = tuple(pod.node_selector.items())
    required = pod.affinity.required_during_scheduling_ignored_during_execution if pod.affinity else None
    terms = required.node_selector_terms if required is not None else None
    cpu, memory = pod.requests.cpu, pod.requests.memory
    ports = pod.host_ports
    verdicts: dict[tuple[str, str | None, str], bool] = {}  # taint -> tolerated, per pod

    def tolerates(taint: Taint) -> bool:
        key = (taint.key, taint.value, taint.effect)
        verdict = verdicts.get(key)
        if verdict is None:
            verdict = verdicts[key] = tolerated(taint, tolerations)
        return verdict

    def fits(node: NodeInfo, usage: NodeUsage) -> bool:
        if node.ready is None:
            return False
        if node.unschedulable and not tolerates_unschedulable:
            return False
        if node.hard_taints:
            if not tolerations:
                return False
            for taint in node.hard_taints:
                if not tolerates(taint):
                    return False
        if selector:
            labels = node.labels
            for k, v in selector:
                if labels.get(k) != v:
                    return False
        if terms is not None and not any(term_matches(t, node) for t in terms):
            return False
        if ports and usage.ports and node_ports(pod, node, usage):
            return False
        if usage.pods >= node.max_pods:
            return False
        if cpu > 0 and cpu > node.allocatable.cpu - usage.requested.cpu:
            return False
        return not (memory > 0 and memory > node.allocatable.memory - usage.requested.memory)

    return fits


# -- matching helpers -------------------------------------------------------------------
def tolerated(taint: Taint, tolerations: Iterable[Toleration]) -> bool:
    return any(t.tolerates(taint) for t in tolerations)




def term_matches(term: NodeSelectorTerm, node: NodeInfo) -> bool:
    """All expressions of a term hold; a term with no requirements matches nothing."""
    expressions = term.match_expressions or []
    fields = term.match_fields or []
    if not expressions and not fields:
        return False
    return (all(requirement_matches(r, node.labels) for r in expressions)
            and all(requirement_matches(r, {"metadata.name": node.name}) for r in fields))


def requirement_matches(req: NodeSelectorRequirement, labels: dict[str, str]) -> bool:
    value = labels.get(req.key)
    values = req.values or []
    if req.operator == "Exists":
        return value is not None
    if req.operator == "DoesNotExist":
        return value is None
    if req.operator == "In":
        return value is not None and value in values
    if req.operator == "NotIn":
        return value is None or value not in values
    try:  # Gt / Lt: integer comparison with the single value
        have, want = int(value or ""), int(values[0])
    except (ValueError, IndexError):
        return False
    return have > want if req.operator == "Gt" else have < want


def _ips_overlap(a: str, b: str) -> bool:
    return a == b or a in ("", "0.0.0.0") or b in ("", "0.0.0.0")
