"""RuntimeClass (node.k8s.io/v1): upstream's validation, the immutable handler, the pod fields
it feeds (runtimeClassName, overhead) and kubectl's NAME HANDLER AGE columns."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest

from schemas.manifest import validate_object
from schemas.registry import resolve_resource
from schemas.updates import check_update
from schemas.validation import ManifestInvalid
from services.cli.printers import render_table


def rc(**fields: Any) -> dict[str, Any]:
    return {"apiVersion": "node.k8s.io/v1", "kind": "RuntimeClass", "metadata": {"name": "crun"},
            "handler": "crun", **fields}


def problems(doc: dict[str, Any]) -> str:
    with pytest.raises(ManifestInvalid) as caught:
        validate_object(doc)
    return str(caught.value)


def test_a_runtime_class_is_served_cluster_scoped() -> None:
    info = resolve_resource("runtimeclasses")
    assert (info.api_version, info.kind, info.namespaced) == ("node.k8s.io/v1", "RuntimeClass", False)
    assert validate_object(rc(overhead={"podFixed": {"cpu": "100m"}})).handler == "crun"  # type: ignore[attr-defined]


def test_the_handler_is_a_required_dns_label() -> None:
    assert 'RuntimeClass.node.k8s.io "crun" is invalid: handler: Required value' in problems(rc(handler=""))
    assert 'handler: Invalid value: "Run_C": a lowercase RFC 1123 label must consist of' in problems(rc(handler="Run_C"))


def test_overhead_and_scheduling_are_checked() -> None:
    text = problems(rc(overhead={"podFixed": {"memory": "-1Mi"}},
                       scheduling={"nodeSelector": {"bad key!": "x"},
                                   "tolerations": [{"operator": "Equal", "value": "v"},
                                                   {"key": "k", "operator": "Exists", "value": "v"},
                                                   {"key": "k", "effect": "NoSchedule", "tolerationSeconds": 5},
                                                   {"key": "d", "operator": "Exists"},
                                                   {"key": "d", "operator": "Exists"}]}))
    assert 'overhead.podFixed[memory]: Invalid value: "-1Mi": must be greater than or equal to 0' in text
    assert 'scheduling.nodeSelector: Invalid value: "bad key!"' in text
    assert "scheduling.tolerations[0].operator: Invalid value: \"Equal\": operator must be Exists when `key` is empty" in text
    assert "scheduling.tolerations[1].operator: Invalid value: \"v\": value must be empty when `operator` is 'Exists'" in text
    assert "scheduling.tolerations[2].effect: Invalid value: \"NoSchedule\": effect must be 'NoExecute'" in text
    assert "scheduling.tolerations[4]: Duplicate value" in text


def test_the_handler_is_immutable() -> None:
    old = rc(metadata={"name": "crun", "resourceVersion": "1"})
    errors = check_update("RuntimeClass", {**old, "handler": "runc"}, old)
    assert [str(e) for e in errors] == ['handler: Invalid value: "runc": field is immutable']
    assert check_update("RuntimeClass", {**old, "overhead": {"podFixed": {"cpu": "1"}}}, old) == []


def test_a_pods_runtime_class_name_and_overhead_are_checked() -> None:
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
           "spec": {"containers": [{"name": "c", "image": "busybox"}], "runtimeClassName": "not/valid",
                    "overhead": {"cpu": "-1"}}}
    text = problems(pod)
    assert 'spec.runtimeClassName: Invalid value: "not/valid": a lowercase RFC 1123 subdomain' in text
    assert 'spec.overhead[cpu]: Invalid value: "-1": must be greater than or equal to 0' in text


def test_kubectl_columns() -> None:
    obj = rc(metadata={"name": "crun", "creationTimestamp": "2026-01-01T00:00:00Z"})
    lines = render_table("runtimeclasses", [obj], now=datetime(2026, 1, 1, 0, 5, tzinfo=timezone.utc)).splitlines()
    assert lines[0].split() == ["NAME", "HANDLER", "AGE"]
    assert lines[1].split() == ["crun", "crun", "5m"]
