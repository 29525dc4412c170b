"""StatefulSet (apps/v1) admission: upstream's defaults, create and update rules and words."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.defaults import default_document
from schemas.manifest import ManifestInvalid, validate_object
from schemas.registry import resolve_resource
from schemas.statefulset import StatefulSet
from schemas.updates import check_update


def sts(**spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "serviceName": "web", "replicas": 3,
        "selector": {"matchLabels": {"app": "web"}},
        "template": {"metadata": {"labels": {"app": "web"}},
                     "spec": {"containers": [{"name": "c", "image": "busybox",
                                              "volumeMounts": [{"name": "data", "mountPath": "/data"}]}]}},
        "volumeClaimTemplates": [{"metadata": {"name": "data"},
                                  "spec": {"accessModes": ["ReadWriteOnce"],
                                           "resources": {"requests": {"storage": "1Mi"}}}}],
    }
    body.update(spec)
    return {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "web", "namespace": "default"},
            "spec": body}


def admitted(doc: dict[str, Any]) -> dict[str, Any]:
    """As the API admits: the body validated as written, then defaulted (and valid still)."""
    doc = copy.deepcopy(doc)
    validate_object(doc)
    default_document(doc, namespaced=True)
    validate_object(doc)
    return doc


def test_defaults_are_upstreams_and_the_claim_volume_satisfies_the_mount() -> None:
    spec = admitted(sts())["spec"]
    assert spec["podManagementPolicy"] == "OrderedReady"
    assert spec["updateStrategy"] == {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}
    assert spec["persistentVolumeClaimRetentionPolicy"] == {"whenDeleted": "Retain", "whenScaled": "Retain"}
    assert spec["revisionHistoryLimit"] == 10
    assert spec["volumeClaimTemplates"][0]["spec"]["volumeMode"] == "Filesystem"
    assert spec["template"]["spec"]["restartPolicy"] == "Always"
    info = resolve_resource("sts")
    assert (info.kind, info.api_version, info.plural) == ("StatefulSet", "apps/v1", "statefulsets")


@pytest.mark.parametrize(("spec", "message"), [
    ({"podManagementPolicy": "Fast"}, "spec.podManagementPolicy: Invalid value: \"Fast\": must be 'OrderedReady' or 'Parallel'"),
    ({"updateStrategy": {"type": "OnDelete", "rollingUpdate": {"partition": 1}}},
     "spec.updateStrategy.rollingUpdate: Invalid value"),
    ({"updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": -1}}},
     "spec.updateStrategy.rollingUpdate.partition: Invalid value: -1: must be greater than or equal to 0"),
    ({"updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 0, "maxUnavailable": 0}}},
     "spec.updateStrategy.rollingUpdate.maxUnavailable: Invalid value: 0: cannot be 0"),
    ({"updateStrategy": {"type": "Sometimes"}}, "spec.updateStrategy: Invalid value"),
    ({"persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Keep"}},
     'spec.persistentVolumeClaimRetentionPolicy.whenDeleted: Unsupported value: "Keep": supported values: "Retain", "Delete"'),
    ({"serviceName": "Web_1"}, "spec.serviceName: Invalid value: \"Web_1\""),
    ({"ordinals": {"start": -2}}, "spec.ordinals.start: Invalid value: -2: must be greater than or equal to 0"),
    ({"replicas": -1}, "spec.replicas: Invalid value: -1: must be greater than or equal to 0"),
    ({"selector": {"matchLabels": {"app": "db"}}},
     "spec.template.metadata.labels: Invalid value: {\"app\":\"web\"}: `selector` does not match template `labels`"),
    ({"selector": None}, "spec.selector: Required value"),
    ({"volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {"resources": {"requests": {"storage": "1Mi"}}}}]},
     "spec.volumeClaimTemplates[0].spec.accessModes: Required value: at least 1 access mode is required"),
    ({"volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"]}}]},
     "spec.volumeClaimTemplates[0].spec.resources[storage]: Required value"),
    ({"volumeClaimTemplates": []}, "spec.template.spec.containers[0].volumeMounts[0].name: Not found: \"data\""),
])
def test_bad_specs_are_refused_in_upstreams_words(spec: dict[str, Any], message: str) -> None:
    doc = sts(**spec)
    if spec.get("selector", 1) is None:
        del doc["spec"]["selector"]
    with pytest.raises(ManifestInvalid) as err:
        admitted(doc)
    assert message in str(err.value)


def test_restart_policy_must_be_always() -> None:
    doc = sts()
    doc["spec"]["template"]["spec"]["restartPolicy"] = "Never"
    with pytest.raises(ManifestInvalid) as err:
        admitted(doc)
    assert 'spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"' in str(err.value)


def test_only_the_mutable_spec_fields_may_change() -> None:
    old = admitted(sts())
    scaled = admitted(sts(replicas=5, updateStrategy={"type": "OnDelete"}, minReadySeconds=3))
    assert check_update("StatefulSet", scaled, old) == []
    renamed = admitted(sts(serviceName="db"))
    errs = check_update("StatefulSet", renamed, old)
    assert [str(e) for e in errs] == [
        "spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', "
        "'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' "
        "are forbidden"]


SPEC_FIELDS = st.fixed_dictionaries({}, optional={
    "replicas": st.integers(-3, 5) | st.text(max_size=3),
    "podManagementPolicy": st.sampled_from(["OrderedReady", "Parallel", "", "x"]),
    "updateStrategy": st.fixed_dictionaries({}, optional={
        "type": st.sampled_from(["RollingUpdate", "OnDelete", "", "x"]),
        "rollingUpdate": st.fixed_dictionaries({}, optional={
            "partition": st.integers(-2, 4), "maxUnavailable": st.integers(-1, 2) | st.sampled_from(["50%", "x", "101%"])})}),
    "persistentVolumeClaimRetentionPolicy": st.fixed_dictionaries({}, optional={
        "whenDeleted": st.sampled_from(["Retain", "Delete", "x"]), "whenScaled": st.sampled_from(["Retain", "Delete", ""])}),
    "ordinals": st.fixed_dictionaries({"start": st.integers(-2, 5)}),
    "serviceName": st.sampled_from(["web", "", "Bad_Name"]),
    "volumeClaimTemplates": st.lists(st.fixed_dictionaries({}, optional={
        "metadata": st.fixed_dictionaries({}, optional={"name": st.sampled_from(["data", "", "x"])}),
        "spec": st.fixed_dictionaries({}, optional={"accessModes": st.lists(st.sampled_from(["ReadWriteOnce", "Any"]))})}),
        max_size=2),
})


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(SPEC_FIELDS)
def test_fuzzed_specs_are_admitted_with_defaults_or_refused_naming_a_spec_field(spec: dict[str, Any]) -> None:
    try:
        doc = admitted(sts(**spec))
    except ManifestInvalid as err:
        assert err.errors and all(e.path.startswith("spec") for e in err.errors), str(err)
        return
    model = StatefulSet.model_validate(doc)
    assert model.spec is not None and model.spec.pod_management_policy in ("OrderedReady", "Parallel")
    assert model.spec.replicas is not None and model.spec.replicas >= 0


def test_the_raw_body_is_checked_before_defaults_fill_it() -> None:
    """The API validates the body as written, then defaults it: absent policies are valid."""
    doc = sts()
    assert validate_object(doc).kind == "StatefulSet"
