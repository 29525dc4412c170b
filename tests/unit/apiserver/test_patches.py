"""JSON patch (RFC 6902, with the RFC's own examples) and strategic merge patch."""

from __future__ import annotations

from typing import Any

import pytest

from services.apiserver.jsonpatch import PatchError, json_patch
from services.apiserver.smp import strategic_merge


@pytest.mark.parametrize(("doc", "patch", "expected"), [
    ({"foo": "bar"}, [{"op": "add", "path": "/baz", "value": "qux"}], {"foo": "bar", "baz": "qux"}),
    ({"foo": ["bar", "baz"]}, [{"op": "add", "path": "/foo/1", "value": "qux"}], {"foo": ["bar", "qux", "baz"]}),
    ({"foo": ["bar"]}, [{"op": "add", "path": "/foo/-", "value": "x"}], {"foo": ["bar", "x"]}),
    ({"baz": "qux", "foo": "bar"}, [{"op": "remove", "path": "/baz"}], {"foo": "bar"}),
    ({"foo": ["bar", "qux", "baz"]}, [{"op": "remove", "path": "/foo/1"}], {"foo": ["bar", "baz"]}),
    ({"baz": "qux", "foo": "bar"}, [{"op": "replace", "path": "/baz", "value": "boo"}], {"baz": "boo", "foo": "bar"}),
    ({"foo": {"bar": "baz", "waldo": "fred"}, "qux": {"corge": "grault"}},
     [{"op": "move", "from": "/foo/waldo", "path": "/qux/thud"}],
     {"foo": {"bar": "baz"}, "qux": {"corge": "grault", "thud": "fred"}}),
    ({"foo": ["all", "grass", "cows", "eat"]}, [{"op": "move", "from": "/foo/1", "path": "/foo/3"}],
     {"foo": ["all", "cows", "eat", "grass"]}),
    ({"a": {"b": 1}}, [{"op": "copy", "from": "/a", "path": "/c"}], {"a": {"b": 1}, "c": {"b": 1}}),
    ({"a/b": 1, "m~n": 2}, [{"op": "replace", "path": "/a~1b", "value": 3}, {"op": "remove", "path": "/m~0n"}],
     {"a/b": 3}),
    ({"baz": "qux"}, [{"op": "test", "path": "/baz", "value": "qux"}], {"baz": "qux"}),
])
def test_json_patch(doc: Any, patch: list[dict[str, Any]], expected: Any) -> None:
    before = repr(doc)
    assert json_patch(doc, patch) == expected
    assert repr(doc) == before  # never mutated


@pytest.mark.parametrize("patch", [
    [{"op": "test", "path": "/baz", "value": "bar"}],
    [{"op": "add", "path": "/baz/bat", "value": "qux"}],
    [{"op": "remove", "path": "/nope"}],
    [{"op": "replace", "path": "/nope", "value": 1}],
    [{"op": "add", "path": "/list/5", "value": 1}],
    [{"op": "frobnicate", "path": "/baz"}],
    {"op": "add"},
])
def test_json_patch_errors(patch: Any) -> None:
    with pytest.raises(PatchError):
        json_patch({"baz": "qux", "list": [1]}, patch)


def deployment(*containers: dict[str, Any]) -> dict[str, Any]:
    return {"metadata": {"name": "web", "labels": {"app": "web"}},
            "spec": {"replicas": 1, "template": {"spec": {"containers": list(containers)}}}}


def test_strategic_merge_merges_containers_by_name_and_ports_by_container_port() -> None:
    current = deployment({"name": "a", "image": "busybox", "ports": [{"containerPort": 80, "protocol": "TCP"}]},
                         {"name": "b", "image": "nginx"})
    patch = {"metadata": {"labels": {"tier": "fe"}},
             "spec": {"replicas": 3, "template": {"spec": {
                 "$setElementOrder/containers": [{"name": "a"}, {"name": "b"}],
                 "containers": [{"name": "a", "image": "busybox:1.36",
                                 "ports": [{"containerPort": 81}]}]}}}}
    result = strategic_merge(current, patch)
    containers = result["spec"]["template"]["spec"]["containers"]
    assert containers == [{"name": "a", "image": "busybox:1.36",
                           "ports": [{"containerPort": 80, "protocol": "TCP"}, {"containerPort": 81}]},
                          {"name": "b", "image": "nginx"}]
    assert result["metadata"]["labels"] == {"app": "web", "tier": "fe"} and result["spec"]["replicas"] == 3
    assert current["spec"]["replicas"] == 1  # never mutated


def test_strategic_merge_directives() -> None:
    current = deployment({"name": "a", "image": "x"}, {"name": "b", "image": "y"})
    deleted = strategic_merge(current, {"spec": {"template": {"spec": {
        "containers": [{"name": "b", "$patch": "delete"}]}}}})
    assert deleted["spec"]["template"]["spec"]["containers"] == [{"name": "a", "image": "x"}]
    replaced = strategic_merge(current, {"metadata": {"$patch": "replace", "name": "web"}})
    assert replaced["metadata"] == {"name": "web"}
    assert "labels" not in strategic_merge(current, {"metadata": {"labels": None}})["metadata"]
    finalizers = strategic_merge({"metadata": {"finalizers": ["a", "b"]}},
                                 {"metadata": {"finalizers": ["c"], "$deleteFromPrimitiveList/finalizers": ["a"]}})
    assert finalizers["metadata"]["finalizers"] == ["b", "c"]
    args = strategic_merge({"args": ["x", "y"]}, {"args": ["z"]})
    assert args == {"args": ["z"]}  # a list without a merge key is replaced
