"""SiblingSpecs gives what `Pod.model_validate` gives, pod for pod (the same model, the same
dump, the same refusals), while validating a workload's spec once."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from schemas.pod import Pod
from services.kubelet import sibling_specs
from services.kubelet.sibling_specs import SiblingSpecs

# Values that Python's == confuses and strict validation does not: 30 == 30.0 == ..., 1 == True.
GRACE = st.sampled_from([30, 30.0, True, 1, "30", None])
NODES = st.sampled_from(["node-a", "node-b", None, 7])


CPU = st.sampled_from(["10m", "0.01", 10, 10.0, True, "ten"])
EXTRA = st.sampled_from([{}, {"x-kept": 1}, {"x-kept": 1.0}, {"x-kept": True}])


def pod(name: str, node: object, grace: object, image: str, cpu: object = "10m",
        extra: dict[str, Any] | None = None, reverse: bool = False) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [{"name": "c", "image": image,
                                            "resources": {"requests": {"cpu": cpu, "memory": "16Mi"}}}],
                            **(extra or {})}
    if grace is not None:
        spec["terminationGracePeriodSeconds"] = grace
    if node is not None:
        spec["nodeName"] = node
    if reverse:  # the same spec, its keys in another order
        spec = dict(reversed(list(spec.items())))
    return {"apiVersion": "v1", "kind": "Pod", "spec": spec,
            "metadata": {"name": name, "namespace": "default", "uid": f"u-{name}",
                         "creationTimestamp": "2026-11-29T10:00:00Z",
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web",
                                              "uid": "rs-1", "controller": True}]}}


def outcome(validate: Any, data: dict[str, Any]) -> tuple[str, Any]:
    try:
        got = validate(data)
    except ValidationError as exc:
        return "refused", [(e["loc"], e["type"]) for e in exc.errors()]
    return "valid", (got, got.model_dump(by_alias=True, exclude_unset=True, mode="json"))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(NODES, GRACE, st.sampled_from(["web:1", "web:2"]), CPU, EXTRA, st.booleans()),
                min_size=1, max_size=12))
def test_each_pod_is_what_a_full_validation_makes_of_it(siblings: list[tuple[Any, ...]]) -> None:
    specs = SiblingSpecs()
    for i, (node, grace, image, cpu, extra, reverse) in enumerate(siblings):
        data = pod(f"web-{i}", node, grace, image, cpu, extra, reverse)
        assert outcome(specs.validate, data) == outcome(Pod.model_validate, data)


def test_siblings_share_the_validated_spec_with_their_own_node() -> None:
    specs = SiblingSpecs()
    first, second = (specs.validate(pod(f"web-{i}", node, 30, "web:1")) for i, node in enumerate(["a", "b"]))
    assert first.spec is not None and second.spec is not None
    assert (first.spec.node_name, second.spec.node_name) == ("a", "b")
    assert second.spec.containers is first.spec.containers  # not validated again
    other = specs.validate(pod("web-2", "a", 30, "web:2"))
    assert other.spec is not None and other.spec.containers is not first.spec.containers


def test_a_spec_python_calls_equal_to_a_valid_one_is_still_refused() -> None:
    specs = SiblingSpecs()
    specs.validate(pod("web-0", "a", 30, "web:1"))
    for wrong in (30.0, "30"):
        with pytest.raises(ValidationError, match="terminationGracePeriodSeconds"):
            specs.validate(pod("web-1", "b", wrong, "web:1"))
    specs.validate(pod("web-2", "a", 1, "web:1"))
    with pytest.raises(ValidationError, match="terminationGracePeriodSeconds"):
        specs.validate(pod("web-3", "b", True, "web:1"))


def test_the_memory_of_specs_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sibling_specs, "SHAPES_LIMIT", 3)
    specs = SiblingSpecs()
    for i in range(10):
        specs.validate(pod(f"web-{i}", "a", 30, f"web:{i}"))
        assert len(specs._validated) <= 3
