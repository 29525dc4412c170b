"""The OpenAPI documents (services.apiserver.openapi) and the field validation that checks
bodies against them (services.apiserver.fieldvalidation): pure."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from schemas.registry import ALL_KINDS, lookup_kind
from schemas.unmodelled import UNMODELLED
from services.apiserver import fieldvalidation, openapi
from services.apiserver.fieldvalidation import decoded, go_value, problems, warning_header

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def _documents() -> dict[str, dict[str, Any]]:
    return {path: orjson.loads(doc.body) for path, doc in openapi.v3_documents().items()}


def _refs(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "$ref":
                yield item
            else:
                yield from _refs(item)
    elif isinstance(value, list):
        for item in value:
            yield from _refs(item)


def _kind_schema(api_version: str, kind: str) -> dict[str, Any]:
    return {"$ref": openapi.V3_REF + openapi.component_name(lookup_kind(api_version, kind).model)}


def _problems(api_version: str, kind: str, body: Any, *, patch: bool = False) -> list[str]:
    return problems(body, _kind_schema(api_version, kind), openapi.all_components(), patch=patch)


def test_the_index_names_every_group_version_with_the_hash_of_its_document() -> None:
    index = orjson.loads(openapi.v3_index().body)["paths"]
    assert set(index) == {"api/v1", "apis/apps/v1", "apis/rbac.authorization.k8s.io/v1", "apis/networking.k8s.io/v1",
                          "apis/autoscaling/v2", "apis/autoscaling/v1", "apis/batch/v1",
                          "apis/node.k8s.io/v1", "apis/storage.k8s.io/v1"}
    for path, published in openapi.v3_documents().items():
        assert published.hash == hashlib.sha512(published.body).hexdigest().upper()
        assert index[path]["serverRelativeURL"] == f"/openapi/v3/{path}?hash={published.hash}"


def test_every_kind_has_its_schema_and_operations_with_the_write_parameters() -> None:
    documents = _documents()
    for info in ALL_KINDS:
        document = documents[openapi.group_version_path(info)]
        schema = document["components"]["schemas"][openapi.component_name(info.model)]
        gvk = {"group": info.group, "kind": info.kind, "version": info.version}
        assert schema["x-kubernetes-group-version-kind"] == [gvk]
        operations = [(method, op) for item in document["paths"].values() for method, op in item.items()
                      if method != "parameters" and op["x-kubernetes-group-version-kind"] == gvk]
        actions = {op["x-kubernetes-action"] for _, op in operations}
        assert actions == {"list", "post", "get", "put", "patch", "delete", "deletecollection"}
        for method, op in operations:
            if method in ("post", "put", "patch"):
                assert {"fieldValidation", "dryRun", "fieldManager"} <= {p["name"] for p in op["parameters"]}
            if method == "patch":  # kubectl then builds strategic patches from its own types
                assert set(op["requestBody"]["content"]) == {"application/json-patch+json",
                                                             "application/merge-patch+json"}


def test_every_reference_resolves_in_v3_and_v2() -> None:
    for document in _documents().values():
        names = document["components"]["schemas"]
        assert all(ref.removeprefix(openapi.V3_REF) in names for ref in _refs(document))
    swagger = orjson.loads(openapi.v2().body)
    assert all(ref.removeprefix(openapi.V2_REF) in swagger["definitions"] for ref in _refs(swagger))
    patch = swagger["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"]
    assert patch["consumes"] == list(openapi.PATCH_BODIES) and patch["parameters"][-1]["in"] == "body"


def test_schemas_carry_types_descriptions_and_open_unmodelled_fields() -> None:
    components = openapi.all_components()
    container = components["io.kafkube.schemas.pod.Container"]
    assert container["description"].startswith("One container")
    assert container["properties"]["securityContext"]["x-kubernetes-preserve-unknown-fields"] is True
    assert container["properties"]["stdinOnce"] == {"type": "boolean", "description": openapi.UNMODELLED_NOTE}
    assert components["io.kafkube.schemas.pod.PodSpec"]["properties"]["ephemeralContainers"]["items"] == \
        {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    assert container["properties"]["ports"] == {"type": "array",
                                                "items": {"$ref": openapi.V3_REF + "io.kafkube.schemas.pod.ContainerPort"}}
    spec = components["io.kafkube.schemas.apps.DeploymentSpec"]["properties"]
    assert spec["replicas"] == {"type": "integer", "format": "int32"}
    assert components["io.kafkube.schemas.meta.ObjectMeta"]["properties"]["generation"]["format"] == "int64"
    port = components["io.kafkube.schemas.core.ServicePort"]["properties"]
    assert port["targetPort"] == {"$ref": openapi.V3_REF + openapi.INT_OR_STRING}
    assert port["protocol"] == {"type": "string", "enum": ["TCP", "UDP", "SCTP"]}


def test_unmodelled_fields_are_not_modelled() -> None:
    for model, names in UNMODELLED.items():
        modelled = {info.alias or name for name, info in model.model_fields.items()}
        assert not modelled & set(names), model.__name__


@pytest.mark.parametrize("example", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.name)
def test_the_examples_have_no_unknown_field(example: Path) -> None:
    for manifest in yaml.safe_load_all(example.read_text()):
        if manifest:
            assert _problems(manifest["apiVersion"], manifest["kind"], manifest) == []


def test_unknown_fields_are_named_by_their_path() -> None:
    body = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "a", "labels": {"x": "y"}},
            "spec": {"replica": 1, "template": {"spec": {"containers": [
                {"name": "a", "securityContext": {"anything": {"goes": True}}},
                {"name": "b", "imagePolicy": "Always"}]}}}}
    assert _problems("apps/v1", "Deployment", body) == [
        'unknown field "spec.replica"', 'unknown field "spec.template.spec.containers[1].imagePolicy"']


def test_duplicate_fields_are_found_with_their_path() -> None:
    raw = b'{"kind":"ConfigMap","metadata":{"name":"a","name":"b"},"data":{"k":"1"},"data":{"k":"2"}}'
    body = decoded(raw)
    assert body["data"] == {"k": "2"}  # the last wins, as in Go
    assert _problems("v1", "ConfigMap", body) == ['duplicate field "data"', 'duplicate field "metadata.name"']


def test_a_patch_may_carry_directives_and_removals() -> None:
    patch = {"$setElementOrder/containers": [{"name": "a"}], "spec": {"template": {"spec": {
        "containers": [{"name": "a", "$patch": "delete"}], "nodeSelecter": None}}}}
    assert _problems("apps/v1", "Deployment", patch, patch=True) == []
    assert _problems("v1", "Pod", {"spec": {"nodeSelecter": {"a": "b"}}}, patch=True) == \
        ['unknown field "spec.nodeSelecter"']


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=5),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                                       max_size=3), max_leaves=10)


DEPLOYMENT_SPEC = frozenset(openapi.all_components()["io.kafkube.schemas.apps.DeploymentSpec"]["properties"])


@given(st.dictionaries(st.text(min_size=1, max_size=12).filter(lambda k: k not in DEPLOYMENT_SPEC), json_values,
                       max_size=4),
       st.sets(st.sampled_from(sorted(DEPLOYMENT_SPEC))))
def test_a_key_is_unknown_exactly_when_the_schema_lacks_it(unknown: dict[str, Any], known: set[str]) -> None:
    spec = {**unknown, **dict.fromkeys(known)}
    assert sorted(_problems("apps/v1", "Deployment", {"spec": spec})) == \
        sorted(f"unknown field {json.dumps('spec.' + key, ensure_ascii=False)}" for key in unknown)


@given(json_values)
def test_open_fields_keep_anything(value: Any) -> None:
    body = {"spec": {"containers": [{"name": "a", "lifecycle": value}], "securityContext": value}}
    assert _problems("v1", "Pod", body) == []


def test_directives_warnings_and_refusal_wording() -> None:
    assert fieldvalidation.directive({}) == "Warn"
    assert fieldvalidation.directive({"fieldValidation": "Strict"}) == "Strict"
    with pytest.raises(fieldvalidation.InvalidDirective):
        fieldvalidation.directive({"fieldValidation": "strict"})
    assert warning_header('unknown field "spec.foo"') == '299 - "unknown field \\"spec.foo\\""'
    assert go_value({"spec": {"b": [1, "x", None], "a": True}}) == "map[spec:map[a:true b:[1 x <nil>]]]"
    assert json.loads(fieldvalidation.strict_message(["a", "b"]).join('""')) == "strict decoding error: a, b"
