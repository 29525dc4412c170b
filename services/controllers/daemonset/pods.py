"""A daemon pod as the DaemonSet controller sees it (`DaemonPod`: the workload pod view
plus the node it is for and the template hash it was made from) and the body of a new
daemon pod (`daemon_pod_body`: upstream's `CreatePodTemplate` and
`ReplaceDaemonSetPodNodeNameNodeAffinity`). Pure; used by `daemonset.reconcile` and
built by `daemonset.service`."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from schemas.daemonset import REVISION_LABEL, TEMPLATE_GENERATION_LABEL
from schemas.pod import PodSpec
from services.controllers.daemonset.nodes import NAME_FIELD, daemon_tolerations, target_node
from services.controllers.machinery.podview import PodView, pod_view


@dataclass(frozen=True, slots=True)
class DaemonPod:
    pod: PodView
    node: str | None  # the node it is for (bound, or named by its node affinity)

    @property
    def name(self) -> str:
        return self.pod.name

    @property
    def hash(self) -> str | None:
        return self.pod.labels.get(REVISION_LABEL)

    @property
    def terminal(self) -> bool:
        return self.pod.phase in ("Succeeded", "Failed")

    def available(self, min_ready_seconds: int, now: datetime) -> bool:
        return not self.pod.deleting and self.pod.available(min_ready_seconds, now)


def daemon_pod(pod: Mapping[str, Any], observed: Mapping[str, Any] | None) -> DaemonPod:
    """Join a desired pod with its observed record."""
    return DaemonPod(pod=pod_view(pod, observed), node=target_node(pod))


def oldest_first(pod: DaemonPod) -> tuple[Any, ...]:
    """upstream's podByCreationTimestampAndPhase: older first, Running before others."""
    created = pod.pod.created.timestamp() if pod.pod.created else float("inf")
    return (created, pod.pod.phase != "Running", pod.name)


def daemon_pod_body(*, name: str, namespace: str, node: str, template: Mapping[str, Any], hash_: str,
                    generation: int | None, owner: Mapping[str, Any]) -> dict[str, Any]:
    """The pod of `template` for `node`: the revision hash and template generation
    labels, the daemon tolerations, a required node affinity on `metadata.name` (the
    scheduler binds it there) and the DaemonSet as controller."""
    meta = copy.deepcopy(dict(template.get("metadata") or {}))
    spec = copy.deepcopy(dict(template.get("spec") or {}))
    labels = {**(meta.get("labels") or {}), REVISION_LABEL: hash_}
    if generation is not None:
        labels[TEMPLATE_GENERATION_LABEL] = str(generation)
    tolerations = daemon_tolerations(PodSpec.model_validate(spec))
    spec["tolerations"] = [t.model_dump(by_alias=True, exclude_none=True) for t in tolerations]
    node_term = {"matchFields": [{"key": NAME_FIELD, "operator": "In", "values": [node]}]}
    affinity = spec.setdefault("affinity", {})
    node_affinity = affinity.setdefault("nodeAffinity", {})
    node_affinity["requiredDuringSchedulingIgnoredDuringExecution"] = {"nodeSelectorTerms": [node_term]}
    metadata = {**{k: v for k, v in meta.items() if k in ("annotations",)}, "name": name,
                "namespace": namespace, "labels": labels, "ownerReferences": [dict(owner)]}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec}
