"""ChildIndex: which children of one topic each owner of a kind controls, kept from
the topic's changes (a child that changes owner moves, one deleted goes, one whose
controller is another kind or version is nobody's)."""

from __future__ import annotations

from typing import Any

from services.controllers.machinery.children import ChildIndex
from services.runtime.informer import Change


def pod(owner: str | None, *, kind: str = "Job", api_version: str = "batch/v1",
        controller: bool = True) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": "p", "namespace": "shop"}
    if owner is not None:
        meta["ownerReferences"] = [{"apiVersion": api_version, "kind": kind, "name": owner,
                                    "uid": f"uid-{owner}", "controller": controller}]
    return {"metadata": meta}


def change(key: str, old: Any, new: Any) -> Change[Any]:
    return Change("t.desired.pods", key, old, new, offset=0, timestamp_ms=0)


def test_children_follow_their_controller_and_go_when_deleted() -> None:
    index = ChildIndex("Job", "batch/v1")
    created = change("shop/a", None, pod("pi"))
    index.update(created)
    index.update(change("shop/b", None, pod("pi")))
    assert index.of("shop/pi") == {"shop/a", "shop/b"}
    assert index.owners(created) == ["shop/pi"]

    moved = change("shop/a", pod("pi"), pod("tau"))
    index.update(moved)
    assert index.of("shop/pi") == {"shop/b"} and index.of("shop/tau") == {"shop/a"}
    assert sorted(index.owners(moved)) == ["shop/pi", "shop/tau"]

    index.update(change("shop/b", pod("pi"), None))
    assert index.of("shop/pi") == set()
    assert index.owners_with_children() == ["shop/tau"]


def test_a_child_of_another_kind_version_or_without_controller_is_nobodys() -> None:
    index = ChildIndex("Job", "batch/v1")
    for i, body in enumerate([pod("web", kind="ReplicaSet", api_version="apps/v1"),
                              pod("pi", api_version="batch/v2"), pod("pi", controller=False), pod(None),
                              "not a mapping"]):
        index.update(change(f"shop/{i}", None, body))
        assert index.owner_key(body) is None
    assert index.owners_with_children() == []
    assert index.owner_key(pod("pi")) == "shop/pi"
