"""ControllerRevision (apps/v1) admission: upstream's create and update rules and words."""

from __future__ import annotations

from typing import Any

import pytest

from schemas.manifest import ManifestInvalid, validate_object
from schemas.registry import resolve_resource
from schemas.updates import check_update


def _doc(**fields: Any) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "ControllerRevision",
            "metadata": {"name": "web-5d8f", "namespace": "default"}, **fields}


def test_a_revision_with_object_data_is_admitted_and_served_as_controllerrevisions() -> None:
    obj = validate_object(_doc(data={"spec": {"template": {"$patch": "replace"}}}, revision=3))
    assert obj.model_dump(mode="json")["revision"] == 3
    info = resolve_resource("controllerrevisions.apps")
    assert (info.kind, info.api_version, info.namespaced) == ("ControllerRevision", "apps/v1", True)


@pytest.mark.parametrize(("fields", "message"), [
    ({"revision": 1}, "data: Required value: data is mandatory"),
    ({"data": [1, 2], "revision": 1}, "data: Required value: data must be a valid JSON object"),
    ({"data": {}, "revision": -1}, "revision: Invalid value: -1: must be greater than or equal to 0"),
])
def test_bad_revisions_are_refused_in_upstreams_words(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ManifestInvalid) as err:
        validate_object(_doc(**fields))
    assert message in str(err.value)


def test_data_is_immutable_and_labels_may_change() -> None:
    old = _doc(data={"a": 1}, revision=1)
    assert check_update("ControllerRevision", _doc(data={"a": 1}, revision=2), old) == []
    errs = check_update("ControllerRevision", _doc(data={"a": 2}, revision=1), old)
    assert [str(e) for e in errs] == ['data: Invalid value: {"a":2}: field is immutable']
