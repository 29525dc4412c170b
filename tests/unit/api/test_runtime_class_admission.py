"""RuntimeClass admission of pods (services.api.runtime_class_admission) and through the API's
decision (services.api.decide): upstream's refusals and mutations, and a fuzz of the entry point."""

from __future__ import annotations

import itertools
from datetime import datetime, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.records import Op, WriteRequest
from services.api.admission import AdmissionError
from services.api.decide import Context, decide
from services.api.runtime_class_admission import admit_runtime_class, merge_tolerations

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)


def pod(**spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "default"},
            "spec": {"containers": [{"name": "c", "image": "busybox"}], **spec}}


def runtime_class(name: str = "crun", **fields: Any) -> dict[str, Any]:
    return {"apiVersion": "node.k8s.io/v1", "kind": "RuntimeClass", "metadata": {"name": name},
            "handler": name, **fields}


def refusal(body: dict[str, Any], rc: dict[str, Any] | None) -> str:
    with pytest.raises(AdmissionError) as caught:
        admit_runtime_class(body, rc)
    assert caught.value.status_reason == "Forbidden"
    return str(caught.value)


def test_unknown_class_is_refused_in_upstreams_words() -> None:
    assert refusal(pod(runtimeClassName="gvisor"), None) == \
        'pods "p" is forbidden: pod rejected: RuntimeClass "gvisor" not found'
    assert "not found" in refusal(pod(runtimeClassName="gvisor"), runtime_class("crun"))


def test_a_pod_without_class_is_left_as_it_is() -> None:
    body = pod(nodeSelector={"a": "b"})
    assert admit_runtime_class(body, None) == body


def test_overhead_comes_from_the_class() -> None:
    rc = runtime_class(overhead={"podFixed": {"cpu": "250m", "memory": "64Mi"}})
    admitted = admit_runtime_class(pod(runtimeClassName="crun"), rc)
    assert admitted["spec"]["overhead"] == {"cpu": "250m", "memory": "64Mi"}
    same = admit_runtime_class(pod(runtimeClassName="crun", overhead={"cpu": "0.25", "memory": "64Mi"}), rc)
    assert same["spec"]["overhead"] == {"cpu": "250m", "memory": "64Mi"}  # semantically equal: accepted


def test_a_different_overhead_is_refused() -> None:
    rc = runtime_class(overhead={"podFixed": {"cpu": "250m"}})
    assert refusal(pod(runtimeClassName="crun", overhead={"cpu": "1"}), rc) == \
        "pods \"p\" is forbidden: pod rejected: Pod's Overhead doesn't match RuntimeClass's defined Overhead"
    assert refusal(pod(overhead={"cpu": "1"}), None).endswith(
        "pod rejected: Pod Overhead set without corresponding RuntimeClass defined Overhead")
    assert "without corresponding" in refusal(pod(runtimeClassName="crun", overhead={"cpu": "1"}), runtime_class())


def test_node_selector_is_merged_and_a_conflict_refused() -> None:
    rc = runtime_class(scheduling={"nodeSelector": {"runtime": "crun", "zone": "a"}})
    admitted = admit_runtime_class(pod(runtimeClassName="crun", nodeSelector={"disk": "ssd", "zone": "a"}), rc)
    assert admitted["spec"]["nodeSelector"] == {"disk": "ssd", "zone": "a", "runtime": "crun"}
    assert refusal(pod(runtimeClassName="crun", nodeSelector={"zone": "b"}), rc) == (
        'pods "p" is forbidden: conflict: runtimeClass.scheduling.nodeSelector[zone] = a; '
        "pod.spec.nodeSelector[zone] = b")


def test_tolerations_are_added_without_redundant_ones() -> None:
    everything = {"operator": "Exists"}
    gpu = {"key": "gpu", "operator": "Exists", "effect": "NoSchedule"}
    sandboxed = {"key": "sandboxed", "operator": "Equal", "value": "yes"}
    rc = runtime_class(scheduling={"tolerations": [gpu, sandboxed]})
    admitted = admit_runtime_class(pod(runtimeClassName="crun", tolerations=[sandboxed]), rc)
    assert admitted["spec"]["tolerations"] == [sandboxed, gpu]
    assert merge_tolerations([gpu], [everything]) == [everything]  # covered by match-all
    assert merge_tolerations([gpu, gpu], []) == [gpu]


def test_the_api_admits_a_created_pod_with_its_class() -> None:
    uids = itertools.count()
    rc = runtime_class(overhead={"podFixed": {"cpu": "100m"}}, scheduling={"nodeSelector": {"rt": "crun"}})
    ctx = Context(now=NOW, resource_version="1", new_uid=lambda: f"uid-{next(uids)}", runtime_class=rc)
    request = WriteRequest(op=Op.CREATE, apiVersion="v1", kind="Pod", namespace="default", name="p",
                           body=pod(runtimeClassName="crun"))
    outcome = decide(request, None, ctx)
    assert outcome.reason == "Created" and outcome.stored is not None
    assert outcome.stored["spec"]["overhead"] == {"cpu": "100m"}
    assert outcome.stored["spec"]["nodeSelector"] == {"rt": "crun"}
    again = decide(request.model_copy(update={"op": Op.APPLY}), outcome.stored,
                   Context(now=NOW, resource_version="2", new_uid=lambda: "x", runtime_class=rc))
    assert again.reason == "Unchanged"  # re-applying the manifest keeps what admission set
    absent = decide(request, None, Context(now=NOW, resource_version="1", new_uid=lambda: "u"))
    assert (absent.reason, absent.status_reason) == ("Rejected", "Forbidden")
    assert absent.message == 'pods "p" is forbidden: pod rejected: RuntimeClass "crun" not found'


def test_a_bad_runtime_class_name_is_invalid() -> None:
    request = WriteRequest(op=Op.CREATE, apiVersion="v1", kind="Pod", namespace="default", name="p",
                           body=pod(runtimeClassName="Not_A_Name"))
    outcome = decide(request, None, Context(now=NOW, resource_version="1", new_uid=lambda: "u"))
    assert outcome.status_reason == "Invalid" and "spec.runtimeClassName: Invalid value" in outcome.message


_labels = st.dictionaries(st.sampled_from(["a", "b", "zone"]), st.sampled_from(["x", "y"]), max_size=3)
_toleration = st.fixed_dictionaries({"key": st.sampled_from(["", "k", "g"]),
                                     "operator": st.sampled_from(["Exists", "Equal"])},
                                    optional={"value": st.sampled_from(["", "v"]),
                                              "effect": st.sampled_from(["NoSchedule", "NoExecute"])})
_quantities = st.dictionaries(st.sampled_from(["cpu", "memory"]), st.sampled_from(["1", "1000m", "64Mi"]), max_size=2)


@settings(max_examples=200, deadline=None)
@given(selector=_labels, class_selector=_labels, pod_tolerations=st.lists(_toleration, max_size=3),
       class_tolerations=st.lists(_toleration, max_size=3), overhead=st.none() | _quantities,
       fixed=st.none() | _quantities, named=st.booleans())
def test_fuzz_admission_refuses_with_a_reason_or_keeps_the_class_rules(
        selector: dict[str, str], class_selector: dict[str, str], pod_tolerations: list[dict[str, str]],
        class_tolerations: list[dict[str, str]], overhead: dict[str, str] | None, fixed: dict[str, str] | None,
        named: bool) -> None:
    spec: dict[str, Any] = {"nodeSelector": selector, "tolerations": pod_tolerations}
    if overhead is not None:
        spec["overhead"] = overhead
    if named:
        spec["runtimeClassName"] = "crun"
    rc = runtime_class(scheduling={"nodeSelector": class_selector, "tolerations": class_tolerations})
    if fixed is not None:
        rc["overhead"] = {"podFixed": fixed}
    try:
        admitted = admit_runtime_class(pod(**spec), rc)
    except AdmissionError as exc:
        assert str(exc).startswith('pods "p" is forbidden: ') and exc.status_reason == "Forbidden"
        return
    out = admitted["spec"]
    if named:
        assert class_selector.items() <= (out.get("nodeSelector") or {}).items()
        assert out.get("overhead") == (dict(fixed) if fixed is not None else overhead)
        kept = out.get("tolerations") or []
        assert all(t in pod_tolerations + class_tolerations for t in kept)  # nothing invented
        assert len(kept) == len({repr(sorted(t.items())) for t in kept})  # no duplicates
        assert bool(kept) == bool(pod_tolerations + class_tolerations)
    else:
        assert out == pod(**spec)["spec"]


def test_runtime_classes_are_cluster_admins_not_a_namespace_editors() -> None:
    from tests.unit.api.test_access import _example, audits, decide_all, events

    out = decide_all(_example("runtimeclass.yaml", "RuntimeClass", None), token="t-alice")
    (event,), (audit,) = events(out), audits(out)
    assert event["reason"] == "Rejected" and ('User "alice" cannot create resource "runtimeclasses" in API group '
                                              '"node.k8s.io" at the cluster scope') in event["message"]
    assert audit["decision"] == "forbid"
    assert [e["reason"] for e in events(decide_all(_example("runtimeclass.yaml", "RuntimeClass", None),
                                                   token="t-admin"))] == ["Created"]
