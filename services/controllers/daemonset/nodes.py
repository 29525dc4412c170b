"""Which nodes a DaemonSet's pods belong on (upstream's `NodeShouldRunDaemonPod`): the
node selector, the required node affinity, and the node's taints against the pod's
tolerations, including the ones the DaemonSet controller adds to every daemon pod
(`daemon_tolerations`). Pure; used by `daemonset.reconcile` and `daemonset.pods`.

`should_run`: a new daemon pod may be created there (NoSchedule and NoExecute taints
tolerated). `should_continue_running`: a daemon pod already there stays (only NoExecute
taints evict), as upstream."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from schemas.core import Taint
from schemas.pod import NodeSelectorRequirement, NodeSelectorTerm, PodSpec, Toleration

NOT_READY = "node.kubernetes.io/not-ready"
UNREACHABLE = "node.kubernetes.io/unreachable"
DISK_PRESSURE = "node.kubernetes.io/disk-pressure"
MEMORY_PRESSURE = "node.kubernetes.io/memory-pressure"
PID_PRESSURE = "node.kubernetes.io/pid-pressure"
UNSCHEDULABLE = "node.kubernetes.io/unschedulable"
NETWORK_UNAVAILABLE = "node.kubernetes.io/network-unavailable"
NAME_FIELD = "metadata.name"
_NO_EXECUTE = ((NOT_READY, "NoExecute"), (UNREACHABLE, "NoExecute"))
_NO_SCHEDULE = ((DISK_PRESSURE, "NoSchedule"), (MEMORY_PRESSURE, "NoSchedule"), (PID_PRESSURE, "NoSchedule"),
                (UNSCHEDULABLE, "NoSchedule"))


@dataclass(frozen=True, slots=True)
class NodeView:
    """What eligibility reads of a Node: its name, labels and taints (the unschedulable
    flag as upstream's taint, which daemon pods tolerate anyway)."""

    name: str
    labels: Mapping[str, str] = field(default_factory=dict)
    taints: tuple[Taint, ...] = ()


def node_view(node: Mapping[str, Any]) -> NodeView:
    """A desired Node as JSON; taints that do not parse are ignored (never raise)."""
    meta, spec = node.get("metadata") or {}, node.get("spec") or {}
    taints = []
    for taint in spec.get("taints") or ():
        try:
            taints.append(Taint.model_validate(taint))
        except ValueError:
            continue
    labels = meta.get("labels") or {}
    return NodeView(name=str(meta.get("name", "")), labels={str(k): str(v) for k, v in labels.items()},
                    taints=tuple(taints))


def daemon_tolerations(spec: PodSpec) -> list[Toleration]:
    """The pod's tolerations plus upstream's `AddOrUpdateDaemonPodTolerations`: not-ready
    and unreachable (NoExecute, no toleration seconds), disk-, memory- and pid-pressure and
    unschedulable (NoSchedule), network-unavailable for hostNetwork pods (NoSchedule)."""
    added = [*_NO_EXECUTE, *_NO_SCHEDULE]
    if spec.host_network:
        added.append((NETWORK_UNAVAILABLE, "NoSchedule"))
    tolerations = list(spec.tolerations or [])
    for key, effect in added:
        wanted = Toleration(key=key, operator="Exists", effect=effect)  # type: ignore[arg-type]
        tolerations = [t for t in tolerations if not (t.key == key and t.effect == effect)] + [wanted]
    return tolerations


def should_run(node: NodeView, spec: PodSpec) -> tuple[bool, bool]:
    """(should run, should continue running) of a daemon pod with `spec` on `node`."""
    if not _fits_affinity(node, spec):
        return False, False
    tolerations = daemon_tolerations(spec)
    untolerated = [t for t in node.taints if t.effect in ("NoSchedule", "NoExecute")
                   and not any(tol.tolerates(t) for tol in tolerations)]
    return not untolerated, not any(t.effect == "NoExecute" for t in untolerated)


def _fits_affinity(node: NodeView, spec: PodSpec) -> bool:
    """nodeSelector and requiredDuringSchedulingIgnoredDuringExecution (the terms ORed)."""
    if any(node.labels.get(k) != v for k, v in (spec.node_selector or {}).items()):
        return False
    affinity = spec.affinity.node_affinity if spec.affinity is not None else None
    required = affinity.required_during_scheduling_ignored_during_execution if affinity is not None else None
    return required is None or any(_term_matches(term, node) for term in required.node_selector_terms)


def _term_matches(term: NodeSelectorTerm, node: NodeView) -> bool:
    """Every requirement of a term holds; a term without any matches no node."""
    expressions, fields = term.match_expressions or [], term.match_fields or []
    if not expressions and not fields:
        return False
    return (all(_holds(r, node.labels) for r in expressions)
            and all(_holds(r, {NAME_FIELD: node.name}) for r in fields))


def _holds(req: NodeSelectorRequirement, labels: Mapping[str, str]) -> bool:
    value, values = labels.get(req.key), req.values or []
    if req.operator in ("Exists", "DoesNotExist"):
        return (value is not None) == (req.operator == "Exists")
    if req.operator in ("In", "NotIn"):
        return (value is not None and value in values) == (req.operator == "In")
    try:  # Gt / Lt: integers
        have, want = int(value or ""), int(values[0])
    except (ValueError, IndexError):
        return False
    return have > want if req.operator == "Gt" else have < want


def target_node(pod: Mapping[str, Any]) -> str | None:
    """The node a daemon pod is for: spec.nodeName once bound, else the `metadata.name`
    its required node affinity names (upstream's GetTargetNodeName)."""
    spec = pod.get("spec") or {}
    if spec.get("nodeName"):
        return str(spec["nodeName"])
    required = (((spec.get("affinity") or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution") or {})
    for term in required.get("nodeSelectorTerms") or ():
        for req in term.get("matchFields") or ():
            values = req.get("values") or []
            if req.get("key") == NAME_FIELD and req.get("operator") == "In" and len(values) == 1:
                return str(values[0])
    return None


def eligible(nodes: Iterable[NodeView], spec: PodSpec) -> dict[str, tuple[bool, bool]]:
    """`should_run` of every node, by name."""
    return {node.name: should_run(node, spec) for node in nodes}
