"""Property tests: no undocumented exception on any input; valid objects round-trip."""

from __future__ import annotations

import copy
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas import ManifestError, apply_defaults, split_documents, validate_object

from .test_rules import DEPLOY, POD, SERVICE

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(
    max_size=20)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner,
                                                                max_size=4),
    max_leaves=20,
)
YAML_BITS = st.sampled_from(["---\n", "- ", ": ", "{", "}", "[", "]", "&a ", "*a", "!!binary ",
                             "\n  ", "kind: List\nitems:\n", "apiVersion: v1\n", "'", '"', "#",
                             "|\n", "? ", "%YAML 1.2\n", "\t", "...\n"])
yaml_like = st.lists(YAML_BITS | st.text(max_size=8), max_size=30).map("".join)


def check_split(payload: bytes) -> None:
    for result in split_documents(payload):
        assert (result.doc is None) != (result.error is None)
        if result.doc is not None:
            assert isinstance(result.doc, dict)
            json.dumps(result.doc, allow_nan=False)  # plain JSON types only
            check_validate(result.doc)
        else:
            assert isinstance(result.error, str) and result.error


def check_validate(doc: object) -> None:
    try:
        resource = validate_object(doc)  # type: ignore[arg-type]
    except ManifestError as exc:
        assert str(exc)
        return
    dumped = resource.model_dump(by_alias=True, exclude_none=True, mode="json")
    again = type(resource).model_validate(dumped)
    assert again.model_dump(by_alias=True, exclude_none=True, mode="json") == dumped


@given(st.binary(max_size=300))
def test_arbitrary_bytes(payload):
    check_split(payload)


@given(yaml_like)
def test_yaml_like_text(text):
    check_split(text.encode("utf-8"))


@given(json_values)
def test_arbitrary_json_values(value):
    check_split(json.dumps(value).encode())
    check_validate(value)


PATHS = [
    "metadata", "metadata.name", "metadata.labels", "metadata.annotations", "spec",
    "spec.replicas", "spec.selector", "spec.selector.matchLabels", "spec.template",
    "spec.template.metadata", "spec.template.spec", "spec.template.spec.containers",
    "spec.template.spec.containers.0", "spec.template.spec.containers.0.ports",
    "spec.template.spec.containers.0.resources", "spec.strategy", "spec.ports",
    "spec.ports.0", "spec.ports.0.targetPort", "spec.containers.0.image", "spec.containers",
    "apiVersion", "kind", "data", "spec.containers.0.livenessProbe",
]


def mutate(doc: dict, path: str, value: object) -> dict:
    doc = copy.deepcopy(doc)
    target: object = doc
    *parents, last = path.split(".")
    for key in parents:
        if isinstance(target, dict) and key in target:
            target = target[key]
        elif isinstance(target, list) and key.isdigit() and int(key) < len(target):
            target = target[int(key)]
        else:
            return doc
    if isinstance(target, dict):
        target[last] = value
    elif isinstance(target, list) and last.isdigit() and int(last) < len(target):
        target[int(last)] = value
    return doc


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from([DEPLOY, POD, SERVICE]), st.sampled_from(PATHS), json_values)
def test_mutated_manifests_fail_only_with_manifest_errors(base, path, value):
    check_validate(mutate(base, path, value))


non_null_values = st.recursive(
    st.booleans() | st.integers() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                max_size=3),
    max_leaves=10,
)
names = st.from_regex(r"[a-z]([-a-z0-9]{0,20}[a-z0-9])?", fullmatch=True)
label_values = st.from_regex(r"(([A-Za-z0-9][-A-Za-z0-9_.]{0,10})?[A-Za-z0-9])?", fullmatch=True)
quantities = st.sampled_from(["100m", "1", "0.5", "2", "64Mi", "1Gi", "1e3", "500M"])
ports = st.integers(1, 65535)


@st.composite
def deployments(draw):
    labels = draw(st.dictionaries(names, label_values, min_size=1, max_size=3))
    containers = [
        {"name": f"c{i}", "image": draw(st.sampled_from(["nginx", "redis:7", "busybox:latest"])),
         "ports": [{"containerPort": draw(ports), "protocol": draw(st.sampled_from(["TCP", "UDP"]))}],
         "resources": {"requests": {"cpu": draw(quantities)}}}
        for i in range(draw(st.integers(1, 3)))
    ]
    spec = {"selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": {"containers": containers}}}
    if draw(st.booleans()):
        spec["replicas"] = draw(st.integers(0, 50))
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": draw(names), "labels": labels}, "spec": spec,
            "x-unknown": draw(non_null_values)}


@given(deployments())
def test_valid_generated_deployments_round_trip(doc):
    resource = validate_object(doc)
    assert resource.model_dump(by_alias=True, exclude_none=True, mode="json") == doc
    defaulted = apply_defaults(resource)
    assert apply_defaults(defaulted) == defaulted
    assert validate_object(defaulted.model_dump(by_alias=True, exclude_none=True, mode="json")) \
        == defaulted
    assert defaulted.spec.replicas == doc["spec"].get("replicas", 1)
