"""Poison for the API: manifests and requests built to break a decoder, a validator or
an encoder. Shared by the unit tests of the intake and writer and the integration fuzz
test, so both meet the same inputs. Every one of them must be answered, once."""

from __future__ import annotations

from typing import Any

import orjson
from hypothesis import strategies as st

from schemas.limits import MAX_DOCUMENTS, MAX_REQUEST_BYTES

POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "labels": {"app": "a"}},
       "spec": {"containers": [{"name": "c", "image": "busybox", "ports": [{"containerPort": 80}]}],
                "activeDeadlineSeconds": 60}}
DEPLOYMENT = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
              "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "a"}},
                       "template": {"metadata": {"labels": {"app": "a"}}, "spec": POD["spec"]}}}
SERVICE = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
           "spec": {"selector": {"app": "a"}, "ports": [{"port": 80, "targetPort": 8080}]}}
CONFIG_MAP = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"k": "v"}}
BASES = [POD, DEPLOYMENT, SERVICE, CONFIG_MAP]


def _alias_bomb(width: int, levels: int, leaf: str) -> bytes:
    lines = [f"l0: &l0 [{', '.join([leaf] * width)}]"]
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * width)}]" for i in range(1, levels + 1)]
    return ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bomb}\nextra:\n"
            + "".join(f"  {line}\n" for line in lines)).encode()


NAMED: dict[str, bytes] = {
    "a 5,000-digit activeDeadlineSeconds": (
        b"apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  activeDeadlineSeconds: "
        + b"9" * 5000 + b"\n  containers: [{name: c, image: busybox}]\n"),
    "a 2^64 integer in an unknown field": (
        b'{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "x": 18446744073709551615}'),
    "a 2^64 activeDeadlineSeconds": (
        b"apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  activeDeadlineSeconds: "
        b"18446744073709551616\n  containers: [{name: c, image: busybox}]\n"),
    "a port of 10^30": (
        b"apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec:\n  ports: [{port: "
        + b"1" + b"0" * 30 + b"}]\n"),
    "a replica count of 2^40": (
        b"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  replicas: 1099511627776\n"
        b"  selector: {matchLabels: {a: b}}\n  template: {metadata: {labels: {a: b}}, spec: "
        b"{containers: [{name: c, image: busybox}]}}\n"),
    "a port as a string": (
        b"apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: c, image: busybox, "
        b"ports: [{containerPort: \"80\"}]}]\n"),
    "a port as a float": (
        b"apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: c, image: busybox, "
        b"ports: [{containerPort: 1.5}]}]\n"),
    "aliases of a long string": _alias_bomb(40, 2, "x" * 2000),
    "a billion laughs": _alias_bomb(10, 9, "lol"),
    "a payload over the size limit": b"a: " + b"x" * (MAX_REQUEST_BYTES + 1),
    "too many documents": b"\n---\n".join([orjson.dumps(CONFIG_MAP)] * (MAX_DOCUMENTS + 1)),
    "two 900 KiB objects in one record": (
        orjson.dumps({**CONFIG_MAP, "data": {"k": "x" * (900 * 1024)}}) + b"\n---\n"
        + orjson.dumps({**CONFIG_MAP, "data": {"k": "y" * (900 * 1024)}})),
}
"""The poison records named by the issue, as manifest payloads."""
NAMED_DELETES: dict[str, bytes] = {
    "a delete whose namespace is a number": b"apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: 5}\n",
    "a delete whose name is a list": b"apiVersion: v1\nkind: Pod\nmetadata: {name: [a]}\n",
}
"""Poison sent with `kafkube.op: delete`."""

BAD_VALUES = st.one_of(
    st.integers(min_value=2**31, max_value=2**70), st.integers(max_value=-(2**31) - 1, min_value=-(2**70)),
    st.integers(min_value=10**19, max_value=10**40), st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30), st.booleans(), st.none(), st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3), st.just("x" * 5000))


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path into a manifest: the places a poison value can be put."""
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*prefix, index))
    return found


def _replaced(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {**value, head: _replaced(value[head], rest, new)}
    copy = list(value)
    copy[head] = _replaced(value[head], rest, new)
    return copy


@st.composite
def poisoned_manifests(draw: st.DrawFn) -> bytes:
    """A valid manifest with one value anywhere in it (metadata included) replaced by a
    value of the wrong type or range, as JSON or YAML."""
    base = draw(st.sampled_from(BASES))
    path = draw(st.sampled_from(_paths(base)))
    doc = _replaced(base, path, draw(BAD_VALUES))
    return orjson.dumps(doc) if _fits_orjson(doc) else _yaml_flow(doc).encode()


def _fits_orjson(value: Any) -> bool:
    if isinstance(value, dict):
        return all(_fits_orjson(v) for v in value.values())
    if isinstance(value, list):
        return all(_fits_orjson(v) for v in value)
    return not isinstance(value, int) or isinstance(value, bool) or -(2**63) <= value < 2**64


def _yaml_flow(value: Any) -> str:
    """YAML flow style (a superset of JSON) that can hold integers of any size."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{orjson.dumps(str(k)).decode()}: {_yaml_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_yaml_flow(v) for v in value) + "]"
    if isinstance(value, bool) or value is None or isinstance(value, (str, float)):
        return orjson.dumps(value).decode()
    return str(value)


OPS = st.sampled_from(["apply", "create", "update", "delete", "APPLY", "patch", ""])
"""Values of the `kafkube.op` header: every op, and some that are not ops."""
