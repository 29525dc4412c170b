"""The ReplicaSet status counts and the label selector against their plain definitions,
over random pods and labels: the one-pass count and the selector's C subset test must
give what the field-by-field rules give."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hypothesis import given, settings, strategies as st

from schemas.meta import LabelSelector
from services.controllers.replicaset.reconcile import compute_status, reconcile
from tests.unit.controllers.test_replicaset import NOW, pod, rs

KEYS, VALUES = st.sampled_from(["app", "tier", "x"]), st.sampled_from(["web", "fe", "y"])
LABELS = st.dictionaries(KEYS, VALUES, max_size=3)
PODS = st.lists(st.builds(lambda i, labels, ready_s, phase, deleting: pod(f"p{i}", labels=labels, ready_s=ready_s,
                                                                            phase=phase, deleting=deleting),
                          st.integers(0, 10_000), LABELS, st.none() | st.floats(0, 200),
                          st.sampled_from(["Pending", "Running", "Failed"]), st.booleans()),
                max_size=25, unique_by=lambda p: p.name)


def reference_matches(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for req in selector.get("matchExpressions") or []:
        present, values = req["key"] in labels, req.get("values") or []
        ok = {"Exists": present, "DoesNotExist": not present, "In": present and labels[req["key"]] in values,
              "NotIn": not (present and labels[req["key"]] in values)}[req["operator"]]
        if not ok:
            return False
    return True


SELECTORS = st.fixed_dictionaries({}, optional={
    "matchLabels": LABELS,
    "matchExpressions": st.lists(st.fixed_dictionaries(
        {"key": KEYS, "operator": st.sampled_from(["In", "NotIn", "Exists", "DoesNotExist"])},
        optional={"values": st.lists(VALUES, max_size=2)}), max_size=2)})


@given(SELECTORS, LABELS)
def test_the_selector_matches_as_its_definition(selector: dict[str, Any], labels: dict[str, str]) -> None:
    assert LabelSelector.model_validate(selector).matches(labels) == reference_matches(selector, labels)


@settings(max_examples=200)
@given(PODS, st.sampled_from([0, 30, 120]))
def test_status_counts_are_the_field_by_field_counts(pods: list[Any], min_ready: int) -> None:
    w = rs(5, min_ready=min_ready)
    active = [p for p in pods if p.active]
    status = compute_status(w, active, NOW, None)
    template = w.template_labels
    assert status == {
        "replicas": len(active),
        "fullyLabeledReplicas": sum(1 for p in active if all(p.labels.get(k) == v for k, v in template.items())),
        "readyReplicas": sum(1 for p in active if p.ready),
        "availableReplicas": sum(1 for p in active if p.available(min_ready, NOW)),
        "observedGeneration": 2}
    plan = reconcile(w, pods, NOW)
    owned_active = [p for p in pods if p.active and w.matches(p.labels)]
    waits = [t for p in owned_active if (t := p.available_in(min_ready, NOW)) is not None]
    assert plan.requeue_after == (min(waits) if waits else None)
    assert all(p.available_in(0, NOW + timedelta(seconds=1)) is None for p in pods)  # no wait without minReadySeconds
