"""DaemonSet (apps/v1) admission: upstream's defaults, validation words, update rule,
kubectl's columns; hypothesis fuzz of the admission entry point."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.daemonset import DaemonSet
from schemas.printing import COLUMNS
from schemas.updates import check_update
from services.api.admission import AdmissionError, admit

BASE: dict[str, Any] = {
    "apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent", "namespace": "default"},
    "spec": {"selector": {"matchLabels": {"app": "agent"}},
             "template": {"metadata": {"labels": {"app": "agent"}},
                          "spec": {"containers": [{"name": "c", "image": "busybox"}]}}}}


def _with(**spec: Any) -> dict[str, Any]:
    body = copy.deepcopy(BASE)
    body["spec"].update(spec)
    return body


def test_defaults_are_upstreams() -> None:
    spec = admit(copy.deepcopy(BASE)).obj["spec"]
    assert spec["updateStrategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}}
    assert spec["revisionHistoryLimit"] == 10
    assert spec["template"]["spec"]["restartPolicy"] == "Always"
    assert admit(_with(updateStrategy={"type": "OnDelete"})).obj["spec"]["updateStrategy"] == {"type": "OnDelete"}
    surge = admit(_with(updateStrategy={"rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0}})).obj["spec"]
    assert surge["updateStrategy"]["rollingUpdate"] == {"maxSurge": "25%", "maxUnavailable": 0}


@pytest.mark.parametrize(("spec", "message"), [
    ({"updateStrategy": {"type": "Bogus"}},
     'spec.updateStrategy: Unsupported value: {"type":"Bogus"}: supported values: "RollingUpdate", "OnDelete"'),
    ({"updateStrategy": {"rollingUpdate": {"maxUnavailable": 1, "maxSurge": "10%"}}},
     'spec.updateStrategy.rollingUpdate.maxSurge: Invalid value: "10%": may not be set when maxUnavailable is non-zero'),
    ({"updateStrategy": {"rollingUpdate": {"maxUnavailable": 0}}},
     "spec.updateStrategy.rollingUpdate.maxUnavailable: Required value: cannot be 0 when maxSurge is 0"),
    ({"updateStrategy": {"rollingUpdate": {"maxUnavailable": "120%"}}},
     'spec.updateStrategy.rollingUpdate.maxUnavailable: Invalid value: "120%": must not be greater than 100%'),
    ({"selector": {}}, "spec.selector: Invalid value: {}: empty selector is invalid for daemonset"),
    ({"selector": {"matchLabels": {"app": "other"}}},
     'spec.template.metadata.labels: Invalid value: {"app":"agent"}: `selector` does not match template `labels`'),
    ({"minReadySeconds": -1}, "spec.minReadySeconds: Invalid value: -1: must be greater than or equal to 0"),
    ({"revisionHistoryLimit": -2}, "spec.revisionHistoryLimit: Invalid value: -2: must be greater than or equal to 0"),
])
def test_bad_specs_are_refused_in_upstreams_words(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(AdmissionError) as err:
        admit(_with(**spec))
    assert message in str(err.value)


def test_pods_must_restart_always_and_have_no_deadline() -> None:
    body = copy.deepcopy(BASE)
    body["spec"]["template"]["spec"].update(restartPolicy="Never", activeDeadlineSeconds=5)
    with pytest.raises(AdmissionError) as err:
        admit(body)
    text = str(err.value)
    assert 'spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"' in text
    assert "spec.template.spec.activeDeadlineSeconds: Forbidden: activeDeadlineSeconds in DaemonSet is not Supported" in text


def test_the_selector_is_immutable() -> None:
    old = admit(copy.deepcopy(BASE)).obj
    new = copy.deepcopy(old)
    new["spec"]["selector"] = {"matchLabels": {"app": "agent", "tier": "x"}}
    assert [str(e) for e in check_update("DaemonSet", new, old)] == [
        'spec.selector: Invalid value: {"matchLabels":{"app":"agent","tier":"x"}}: field is immutable']


def test_kubectl_columns_of_a_daemonset_and_a_revision() -> None:
    names, columns, wide, _ = COLUMNS["daemonsets"]
    assert names == ["DESIRED", "CURRENT", "READY", "UP-TO-DATE", "AVAILABLE", "NODE SELECTOR"]
    assert wide == ["CONTAINERS", "IMAGES", "SELECTOR"]
    ds = {"spec": {"template": {"spec": {"nodeSelector": {"zone": "b", "disk": "ssd"}}}},
          "status": {"desiredNumberScheduled": 3, "currentNumberScheduled": 2, "numberReady": 1,
                     "updatedNumberScheduled": 2, "numberAvailable": 1}}
    assert columns(ds) == ["3", "2", "1", "2", "1", "disk=ssd,zone=b"]
    assert columns({"spec": {}})[-1] == "<none>"
    names, columns, _, _ = COLUMNS["controllerrevisions"]
    rev = {"metadata": {"ownerReferences": [{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "agent",
                                             "uid": "u", "controller": True}]}, "revision": 2}
    assert (names, columns(rev)) == (["CONTROLLER", "REVISION"], ["daemonset.apps/agent", "2"])


ints = st.one_of(st.none(), st.integers(-2, 3), st.sampled_from(["0%", "50%", "101%", "x%", "3", 1.5]))
SPEC_FIELDS = st.fixed_dictionaries({}, optional={
    "minReadySeconds": ints, "revisionHistoryLimit": ints,
    "updateStrategy": st.fixed_dictionaries({}, optional={
        "type": st.sampled_from(["RollingUpdate", "OnDelete", "Sideways", ""]),
        "rollingUpdate": st.fixed_dictionaries({}, optional={"maxUnavailable": ints, "maxSurge": ints})}),
})


@settings(max_examples=150, deadline=None)
@given(spec=SPEC_FIELDS, restart=st.sampled_from(["Always", "Never", None]))
def test_a_daemonset_is_refused_naming_a_field_or_admitted_with_a_valid_strategy(
        spec: dict[str, Any], restart: str | None) -> None:
    body = _with(**spec)
    if restart is not None:
        body["spec"]["template"]["spec"]["restartPolicy"] = restart
    try:
        admitted = admit(body)
    except AdmissionError as exc:
        assert "spec." in str(exc), str(exc)
        return
    ds = DaemonSet.model_validate(admitted.obj)
    assert ds.spec is not None and ds.spec.update_strategy is not None
    assert ds.spec.update_strategy.type in ("RollingUpdate", "OnDelete")
    if ds.spec.update_strategy.type == "RollingUpdate":
        rolling = ds.spec.update_strategy.rolling_update
        assert rolling is not None and rolling.max_unavailable is not None and rolling.max_surge is not None
