"""The workload controllers' cache: pods indexed by namespace and controller, so a
ReplicaSet or Deployment sync reads its own pods (and the orphans) without walking
every pod of the namespace. Records go through the informer's own apply path, the
cache fed by the informer's changes as a controller's host feeds it."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import orjson

from services.controllers.machinery.cache import WorkloadCache, workload_topics
from services.runtime.config import Settings
from services.runtime.informer import Change, Informer
from services.runtime.topics import Topics

TOPICS = Topics("t.")


def pod(name: str, namespace: str = "shop", owner: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": namespace, "uid": f"u-{name}"}
    if owner:
        meta["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": owner,
                                    "uid": owner, "controller": True}]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": {"containers": []}}


class Feed:
    def __init__(self) -> None:
        self.informer: Informer[Any] = Informer(Settings(), workload_topics(TOPICS, ["replicasets"]))
        self.cache = WorkloadCache(self.informer, TOPICS, ["replicasets"])
        self.observed: list[str | None] = []  # the plural of each change, after indexing it
        self.informer.add_handler(self._observe)
        self.offset = 0

    def _observe(self, change: Change[Any]) -> None:
        self.cache.observe(change)
        self.observed.append(self.cache.plural_of(change))

    def put(self, body: dict[str, Any] | None, key: str, topic: str = TOPICS.desired("pods")) -> None:
        self.offset += 1
        record = SimpleNamespace(key=key.encode(), value=orjson.dumps(body) if body else None,
                                 offset=self.offset, timestamp=0, partition=0)
        self.informer._apply(topic, record)

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


def test_the_cache_reads_the_pods_and_its_kinds_and_says_which_plural_a_change_concerns() -> None:
    feed = Feed()
    assert workload_topics(TOPICS, ["replicasets"]) == ["t.desired.pods", "t.desired.replicasets",
                                                         "t.observed.pods", "t.observed.replicasets"]
    feed.put(pod("a1", owner="rs-a"), "shop/a1")
    assert [v.phase for v in feed.cache.pods_of("shop", ["rs-a"])] == ["Pending"]
    feed.put({"metadata": {"name": "a1", "namespace": "shop", "uid": "u-a1"}, "status": {"phase": "Running"}},
             "shop/a1", TOPICS.observed("pods"))
    assert [v.phase for v in feed.cache.pods_of("shop", ["rs-a"])] == ["Running"]  # the kubelet's status, not a stale view
    rs = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "a", "namespace": "shop", "uid": "rs-a"}}
    feed.put(rs, "shop/a", TOPICS.desired("replicasets"))
    feed.put({"metadata": {"name": "a", "namespace": "shop"}, "status": {"replicas": 1}}, "shop/a",
             TOPICS.observed("replicasets"))
    assert feed.observed == ["pods", "pods", "replicasets", None]  # its own status concerns no key
    assert [o["metadata"]["name"] for o in feed.cache.in_namespace("replicasets", "shop")] == ["a"]
    assert feed.cache.keys("replicasets") == ["shop/a"]
