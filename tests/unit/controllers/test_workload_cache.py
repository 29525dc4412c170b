"""The workload controllers' cache: pods indexed by namespace and controller, so a
ReplicaSet or Deployment sync reads its own pods (and the orphans) without walking
every pod of the namespace. Records go through the informer's own apply path."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import orjson

from services.controllers.machinery.cache import WorkloadCache
from services.runtime.config import Settings


def pod(name: str, namespace: str = "shop", owner: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": namespace, "uid": f"u-{name}"}
    if owner:
        meta["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": owner,
                                    "uid": owner, "controller": True}]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": {"containers": []}}


class Feed:
    def __init__(self) -> None:
        self.cache = WorkloadCache(Settings())
        self.offset = 0

    def put(self, body: dict[str, Any] | None, key: str) -> None:
        self.offset += 1
        record = SimpleNamespace(key=key.encode(), value=orjson.dumps(body) if body else None,
                                 offset=self.offset, timestamp=0, partition=0)
        informer = self.cache.informer
        assert hasattr(informer, "_apply")
        informer._apply(self.cache.desired["pods"], record)

    def names(self, namespace: str, owners: list[str], *, orphans: bool = False) -> list[str]:
        return [p.name for p in self.cache.pods_of(namespace, owners, orphans=orphans)]


def test_pods_are_read_by_controller_and_orphans_by_namespace() -> None:
    feed = Feed()
    feed.put(pod("a1", owner="rs-a"), "shop/a1")
    feed.put(pod("a2", owner="rs-a"), "shop/a2")
    feed.put(pod("b1", owner="rs-b"), "shop/b1")
    feed.put(pod("lone"), "shop/lone")
    feed.put(pod("far"), "other/far")
    assert feed.names("shop", ["rs-a"]) == ["a1", "a2"]
    assert feed.names("shop", ["rs-a"], orphans=True) == ["a1", "a2", "lone"]
    assert feed.names("shop", ["rs-a", "rs-b"]) == ["a1", "a2", "b1"]
    assert feed.names("other", [], orphans=True) == ["far"]
    names = feed.cache.pod_names("shop")
    assert "b1" in names and "lone" in names and "far" not in names


def test_adoption_release_and_deletion_move_a_pod_between_owners() -> None:
    feed = Feed()
    feed.put(pod("p"), "shop/p")
    feed.put(pod("p", owner="rs-a"), "shop/p")  # adopted
    assert feed.names("shop", [], orphans=True) == [] and feed.names("shop", ["rs-a"]) == ["p"]
    feed.put(pod("p", owner="rs-b"), "shop/p")  # released, then taken by another
    assert feed.names("shop", ["rs-a"]) == [] and feed.names("shop", ["rs-b"]) == ["p"]
    feed.put(None, "shop/p")
    assert feed.names("shop", ["rs-b"], orphans=True) == [] and "p" not in feed.cache.pod_names("shop")
