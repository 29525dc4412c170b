"""Storage admission through the API's pure decision: the default StorageClass, the
protection finalizers, the resize rules and the claim's update rules, in upstream's words."""

from __future__ import annotations

from datetime import datetime, timezone
from itertools import count
from typing import Any

import pytest
from hypothesis import given, settings, strategies as st

from schemas.records import Op, WriteRequest
from schemas.storage import DEFAULT_CLASS_ANNOTATION, default_local_class
from services.api.decide import Context, Outcome, decide

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
_uids = count(1)


def storage_class(name: str, *, default: bool = False, created: str = "2026-01-01T00:00:00Z",
                  expand: bool | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "creationTimestamp": created}
    if default:
        meta["annotations"] = {DEFAULT_CLASS_ANNOTATION: "true"}
    cls: dict[str, Any] = {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": meta,
                           "provisioner": "kafkube.io/local"}
    if expand is not None:
        cls["allowVolumeExpansion"] = expand
    return cls


def ctx(*classes: dict[str, Any], rv: str = "10") -> Context:
    return Context(now=NOW, resource_version=rv, new_uid=lambda: f"uid-{next(_uids)}",
                   storage_classes=tuple(classes))


def claim(size: str = "1Gi", **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data", "namespace": "default"},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": size}}, **spec}}


def volume() -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "pv1"},
            "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"], "hostPath": {"path": "/tmp/pv1"}}}


def request(op: Op, body: dict[str, Any]) -> WriteRequest:
    kind = body["kind"]
    return WriteRequest(op=op, apiVersion="v1", kind=kind, name=body["metadata"]["name"], body=body,
                        namespace="default" if kind == "PersistentVolumeClaim" else None)


def stored(outcome: Outcome) -> dict[str, Any]:
    assert outcome.stored is not None, outcome
    return outcome.stored


def test_claim_without_class_gets_the_default_and_the_protection_finalizer() -> None:
    made = stored(decide(request(Op.CREATE, claim()), None, ctx(storage_class("slow"), storage_class("fast", default=True))))
    assert made["spec"]["storageClassName"] == "fast"
    assert made["spec"]["volumeMode"] == "Filesystem"
    assert made["metadata"]["finalizers"] == ["kubernetes.io/pvc-protection"]


def test_of_several_defaults_the_newest_wins_then_the_first_name() -> None:
    classes = (storage_class("old", default=True, created="2026-01-01T00:00:00Z"),
               storage_class("b-new", default=True, created="2026-01-02T00:00:00Z"),
               storage_class("a-new", default=True, created="2026-01-02T00:00:00Z"))
    assert stored(decide(request(Op.CREATE, claim()), None, ctx(*classes)))["spec"]["storageClassName"] == "a-new"


def test_explicit_class_and_empty_class_are_kept_and_no_default_leaves_it_unset() -> None:
    chosen = stored(decide(request(Op.CREATE, claim(storageClassName="")), None, ctx(storage_class("d", default=True))))
    assert chosen["spec"]["storageClassName"] == ""
    assert "storageClassName" not in stored(decide(request(Op.CREATE, claim()), None, ctx(storage_class("x"))))["spec"]


def test_the_bootstrap_class_is_the_default_one() -> None:
    made = stored(decide(request(Op.CREATE, claim()), None, ctx(default_local_class())))
    assert made["spec"]["storageClassName"] == "local-path"


def test_volume_gets_pv_protection_and_upstream_defaults() -> None:
    made = stored(decide(request(Op.CREATE, volume()), None, ctx()))
    assert made["metadata"]["finalizers"] == ["kubernetes.io/pv-protection"]
    assert made["spec"]["persistentVolumeReclaimPolicy"] == "Retain" and made["spec"]["volumeMode"] == "Filesystem"


def bound_claim(cls: str = "gold") -> dict[str, Any]:
    made = stored(decide(request(Op.CREATE, claim(storageClassName=cls)), None, ctx()))
    return {**made, "spec": {**made["spec"], "volumeName": "pv1"}}


def grown(current: dict[str, Any], size: str) -> dict[str, Any]:
    spec = {**current["spec"], "resources": {"requests": {"storage": size}}}
    return {**current, "spec": spec}


def test_a_bound_claim_grows_when_its_class_allows_expansion() -> None:
    current = bound_claim()
    outcome = decide(request(Op.UPDATE, grown(current, "2Gi")), current, ctx(storage_class("gold", expand=True)))
    assert outcome.reason == "Updated", outcome
    assert stored(outcome)["spec"]["resources"]["requests"]["storage"] == "2Gi"


@pytest.mark.parametrize("expand", [None, False])
def test_growth_is_forbidden_without_allow_volume_expansion(expand: bool | None) -> None:
    current = bound_claim()
    outcome = decide(request(Op.UPDATE, grown(current, "2Gi")), current, ctx(storage_class("gold", expand=expand)))
    assert outcome.status_reason == "Forbidden"
    assert outcome.message == ('persistentvolumeclaims "data" is forbidden: only dynamically provisioned pvc can be '
                               "resized and the storageclass that provisions the pvc must support resize")


def test_a_claim_never_shrinks() -> None:
    current = bound_claim()
    outcome = decide(request(Op.UPDATE, grown(current, "512Mi")), current, ctx(storage_class("gold", expand=True)))
    assert outcome.status_reason == "Invalid"
    assert "spec.resources.requests.storage: Forbidden: field can not be less than previous value" in outcome.message


def test_an_unbound_claim_keeps_its_spec() -> None:
    current = stored(decide(request(Op.CREATE, claim(storageClassName="gold")), None, ctx()))
    outcome = decide(request(Op.UPDATE, grown(current, "2Gi")), current, ctx(storage_class("gold", expand=True)))
    assert outcome.status_reason == "Invalid"
    assert ("spec: Forbidden: spec is immutable after creation except resources.requests and "
            "volumeAttributesClassName for bound claims") in outcome.message


def test_apply_again_keeps_the_class_the_server_chose_and_the_binding() -> None:
    current = bound_claim(cls="local-path")
    outcome = decide(request(Op.APPLY, claim()), current, ctx(default_local_class()))
    assert outcome.reason == "Unchanged", outcome


def test_volume_name_may_be_set_once() -> None:
    current = stored(decide(request(Op.CREATE, claim(storageClassName="gold")), None, ctx()))
    bound = {**current, "spec": {**current["spec"], "volumeName": "pv1"}}
    assert decide(request(Op.UPDATE, bound), current, ctx()).reason == "Updated"
    moved = {**bound, "spec": {**bound["spec"], "volumeName": "pv2"}}
    assert decide(request(Op.UPDATE, moved), bound, ctx()).status_reason == "Invalid"


def test_storage_class_fields_are_immutable() -> None:
    body = storage_class("gold")
    body["metadata"] = {"name": "gold"}
    current = stored(decide(WriteRequest(op=Op.CREATE, apiVersion="storage.k8s.io/v1", kind="StorageClass",
                                         name="gold", body=body), None, ctx()))
    changed = {**current, "reclaimPolicy": "Retain"}
    outcome = decide(WriteRequest(op=Op.UPDATE, apiVersion="storage.k8s.io/v1", kind="StorageClass", name="gold",
                                  body=changed), current, ctx())
    assert outcome.message == ('StorageClass.storage.k8s.io "gold" is invalid: reclaimPolicy: Invalid value: '
                               '"Retain": field is immutable')


_quantity = st.builds(lambda n, unit: f"{n}{unit}", st.integers(0, 4096), st.sampled_from(["", "Ki", "Mi", "Gi", "m"]))
_text = st.one_of(st.none(), st.text(max_size=8), st.sampled_from(["ReadWriteOnce", "Block", "Filesystem", "gold"]))


@settings(max_examples=150, deadline=None)
@given(size=st.one_of(_quantity, _text), modes=st.lists(_text, max_size=3), cls=_text, mode=_text,
       selector=st.one_of(st.none(), st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=2)))
def test_fuzzed_claims_are_refused_naming_a_field_or_admitted_with_a_finalizer(
        size: Any, modes: list[Any], cls: Any, mode: Any, selector: Any) -> None:
    spec: dict[str, Any] = {"accessModes": modes, "resources": {"requests": {"storage": size}}}
    for key, value in (("storageClassName", cls), ("volumeMode", mode)):
        if value is not None:
            spec[key] = value
    if selector is not None:
        spec["selector"] = {"matchLabels": selector}
    outcome = decide(request(Op.CREATE, {**claim(), "spec": spec}), None, ctx(default_local_class()))
    if outcome.reason == "Rejected":
        assert outcome.status_reason == "Invalid" and "spec" in outcome.message, outcome
    else:
        made = stored(outcome)
        assert made["metadata"]["finalizers"] == ["kubernetes.io/pvc-protection"]
        assert made["spec"]["storageClassName"] == (cls if cls is not None else "local-path")


@settings(max_examples=150, deadline=None)
@given(capacity=st.dictionaries(st.sampled_from(["storage", "cpu", ""]), st.one_of(_quantity, _text), max_size=2),
       modes=st.lists(_text, max_size=3), policy=_text, source=st.sampled_from(["hostPath", "local", "both", "none"]),
       path=st.sampled_from(["/srv/a", "", "/a/../b", "/"]), affinity=st.booleans())
def test_fuzzed_volumes_are_refused_naming_a_field_or_admitted_protected(
        capacity: dict[str, Any], modes: list[Any], policy: Any, source: str, path: str, affinity: bool) -> None:
    spec: dict[str, Any] = {"capacity": capacity, "accessModes": modes}
    if policy is not None:
        spec["persistentVolumeReclaimPolicy"] = policy
    if source in ("hostPath", "both"):
        spec["hostPath"] = {"path": path}
    if source in ("local", "both"):
        spec["local"] = {"path": path}
    if affinity:
        spec["nodeAffinity"] = {"required": {"nodeSelectorTerms": [{"matchExpressions": [
            {"key": "kubernetes.io/hostname", "operator": "In", "values": ["n1"]}]}]}}
    outcome = decide(request(Op.CREATE, {**volume(), "spec": spec}), None, ctx())
    if outcome.reason == "Rejected":
        assert outcome.status_reason == "Invalid" and "spec" in outcome.message, outcome
    else:
        made = stored(outcome)
        assert made["metadata"]["finalizers"] == ["kubernetes.io/pv-protection"]
        assert list(made["spec"]["capacity"]) == ["storage"] and made["spec"]["accessModes"]
        assert source in ("hostPath", "local") and (source != "local" or affinity)


@settings(max_examples=100, deadline=None)
@given(provisioner=_text, policy=_text, mode=_text, expand=st.one_of(st.none(), st.booleans(), st.text(max_size=3)),
       params=st.dictionaries(st.text(max_size=4), st.text(max_size=4), max_size=3))
def test_fuzzed_storage_classes_are_refused_naming_a_field_or_admitted_with_defaults(
        provisioner: Any, policy: Any, mode: Any, expand: Any, params: dict[str, str]) -> None:
    body: dict[str, Any] = {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": "c"},
                            "parameters": params}
    for key, value in (("provisioner", provisioner), ("reclaimPolicy", policy), ("volumeBindingMode", mode),
                       ("allowVolumeExpansion", expand)):
        if value is not None:
            body[key] = value
    outcome = decide(WriteRequest(op=Op.CREATE, apiVersion="storage.k8s.io/v1", kind="StorageClass", name="c",
                                  body=body), None, ctx())
    if outcome.reason == "Rejected":
        assert outcome.status_reason == "Invalid" and outcome.message.startswith('StorageClass.storage.k8s.io "c" is invalid: ')
    else:
        made = stored(outcome)
        assert made["reclaimPolicy"] in ("Delete", "Retain", "")  # "" is kept, as upstream's (a set pointer)
        assert made["volumeBindingMode"] in ("Immediate", "WaitForFirstConsumer") and made["provisioner"]
