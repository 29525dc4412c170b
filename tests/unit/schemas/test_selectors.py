"""labelSelector and fieldSelector, as upstream parses them."""

from __future__ import annotations

from typing import Any

import pytest

from schemas.selectors import SelectorError, field_selector, label_selector


def obj(name: str, labels: dict[str, str] | None = None, **extra: Any) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": "default", "labels": labels or {}}, **extra}


@pytest.mark.parametrize(("selector", "matches"), [
    ("", {"a", "b", "c"}),
    ("app=x", {"a"}),
    ("app==x", {"a"}),
    ("app!=x", {"b", "c"}),
    ("app", {"a", "b"}),
    ("!app", {"c"}),
    ("app in (x, y)", {"a", "b"}),
    ("app notin (x)", {"b", "c"}),
    ("app in (x,y),tier=fe", {"b"}),
])
def test_label_selectors(selector: str, matches: set[str]) -> None:
    objs = [obj("a", {"app": "x"}), obj("b", {"app": "y", "tier": "fe"}), obj("c")]
    wanted = label_selector(selector)
    assert {o["metadata"]["name"] for o in objs if wanted(o)} == matches


@pytest.mark.parametrize("bad", ["app in x", "!app=x", "a b"])
def test_bad_label_selectors(bad: str) -> None:
    with pytest.raises(SelectorError):
        label_selector(bad)


def test_field_selectors() -> None:
    pods = [obj("p1", spec={"nodeName": "n1"}, status={"phase": "Running"}),
            obj("p2", spec={"nodeName": "n2"}, status={"phase": "Pending"})]
    names = lambda sel: {p["metadata"]["name"] for p in pods if field_selector(sel)(p)}  # noqa: E731
    assert names("spec.nodeName=n1") == {"p1"}
    assert names("status.phase!=Running") == {"p2"}
    assert names("metadata.name==p2,metadata.namespace=default") == {"p2"}
    assert names("spec.nodeName=") == set()
    with pytest.raises(SelectorError, match='field label not supported: "spec.replicas"'):
        field_selector("spec.replicas=3")
