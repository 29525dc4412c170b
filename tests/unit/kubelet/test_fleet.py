"""The hollow fleet's shared pods view: one decode per record, pods indexed by node,
each change dispatched to the queues of the nodes it concerns, and per-node views that
answer as a lone kubelet's `pod_decoder` view would."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from typing import Any

import orjson

from schemas.pod import Pod
from services.kubelet.fleet import HollowFleet, PodIndex, fleet_config, fleet_decoder
from services.runtime.config import Settings
from services.runtime.informer import Change
from services.runtime.tasks import cancel_and_wait


def raw(name: str, node: str | None) -> bytes:
    spec: dict[str, Any] = {"containers": [{"name": "c", "image": "img"}]}
    if node:
        spec["nodeName"] = node
    return orjson.dumps({"apiVersion": "v1", "kind": "Pod",
                         "metadata": {"name": name, "namespace": "default", "uid": f"u-{name}"}, "spec": spec})


class Harness:
    """A store fed like the informer feeds it, and the wake-ups the index asked for."""

    def __init__(self, nodes: set[str]) -> None:
        self.decode = fleet_decoder(frozenset(nodes))
        self.store: dict[str, Pod | None] = {}
        self.woken: list[tuple[str, str]] = []
        self.index = PodIndex(self.store, lambda node, key: self.woken.append((node, key)))

    def put(self, name: str, node: str | None) -> None:
        key = f"default/{name}"
        old, new = self.store.get(key), self.decode("t", raw(name, node))
        self.store[key] = new
        self.index.on_change(Change("t", key, old, new, 0, 0))

    def delete(self, name: str) -> None:
        key = f"default/{name}"
        old = self.store.pop(key, None)
        self.index.on_change(Change("t", key, old, None, 0, 0))


def test_decoder_keeps_only_pods_bound_to_the_fleet() -> None:
    decode = fleet_decoder(frozenset({"a", "b"}))
    assert decode("t", raw("p", "a")) is not None
    assert decode("t", raw("p", None)) is None
    assert decode("t", raw("p", "c")) is None
    assert decode("t", raw("a", "c")) is None  # a pod named like a node is not ours


def test_a_bound_pod_wakes_its_node_only_and_is_in_its_view() -> None:
    h = Harness({"a", "b"})
    h.put("p", None)
    assert h.woken == [] and h.index.view("a").known("default/p")
    h.put("p", "a")
    assert h.woken == [("a", "default/p")]
    a, b = h.index.view("a"), h.index.view("b")
    assert a.get("default/p") is not None and set(a.mine()) == {"default/p"}
    assert b.get("default/p") is None and b.mine() == {} and b.known("default/p")


def test_a_deleted_pod_wakes_its_old_node_and_leaves_the_index() -> None:
    h = Harness({"a"})
    h.put("p", "a")
    h.delete("p")
    assert h.woken == [("a", "default/p"), ("a", "default/p")]
    view = h.index.view("a")
    assert view.mine() == {} and view.get("default/p") is None and not view.known("default/p")


def test_a_pod_moving_between_nodes_wakes_both() -> None:
    h = Harness({"a", "b"})
    h.put("p", "a")
    h.woken.clear()
    h.put("p", "b")
    assert sorted(h.woken) == [("a", "default/p"), ("b", "default/p")]
    assert h.index.view("a").mine() == {} and set(h.index.view("b").mine()) == {"default/p"}


def test_a_pod_moving_to_a_foreign_node_is_dropped_by_the_old_one() -> None:
    h = Harness({"a"})
    h.put("p", "a")
    h.woken.clear()
    h.put("p", "elsewhere")
    assert h.woken == [("a", "default/p")]
    assert h.index.view("a").mine() == {} and h.index.view("a").known("default/p")


def test_many_nodes_each_see_their_own_pods() -> None:
    nodes = {f"n{i}" for i in range(20)}
    h = Harness(nodes)
    for i in range(200):
        h.put(f"p{i}", f"n{i % 20}")
    for i in range(20):
        assert set(h.index.view(f"n{i}").mine()) == {f"default/p{j}" for j in range(i, 200, 20)}
    assert len(h.woken) == 200


def test_fleet_config_uses_one_worker_and_long_periods() -> None:
    configs = fleet_config(1000, {"KAFKUBE_NODE_IP": "10.0.0.1", "KAFKUBE_NODE_LABELS": "tier=hollow"})
    config = configs("h-1")
    assert (config.workers, config.relist_s, config.resync_s) == (1, 30.0, 60.0)
    assert config.resync_pods_per_s == 0.5  # the node's share of the fleet's 500 a second
    assert config.node.runtime == "hollow" and config.node.name == "h-1"
    assert (config.node.address, config.node.labels) == ("10.0.0.1", {"tier": "hollow"})
    other = configs("h-2")
    assert other.node.name == "h-2" and replace(other.node, name="h-1") == config.node
    assert other.node.labels is not config.node.labels  # each node's own (they go into its Node)
    tuned = fleet_config(1, {"KAFKUBE_NODE_IP": "10.0.0.1", "KAFKUBE_RESYNC_SECONDS": "5"})("h-1")
    assert tuned.resync_s == 5.0


async def test_the_fleet_queues_nothing_while_it_replays_and_each_change_once_synced(tmp_path: Any) -> None:
    fleet = HollowFleet(Settings(), ["n1", "n2"],
                        config=lambda node: replace(fleet_config(2, {"KAFKUBE_NODE_IP": "10.0.0.1"})(node), root=tmp_path))
    store: Any = fleet.index.store  # the informer's, fed here as the informer feeds it
    decode = fleet_decoder(frozenset({"n1"}))

    def put(name: str) -> None:
        store[f"default/{name}"] = pod = decode("t", raw(name, "n1"))
        fleet.index.on_change(Change("t", f"default/{name}", None, pod, 0, 0))

    put("p")
    assert set(fleet.index.view("n1").mine()) == {"default/p"} and len(fleet.kubelets["n1"].queue) == 0
    fleet._synced.set()
    put("q")
    assert set(fleet.index.view("n1").mine()) == {"default/p", "default/q"} and len(fleet.kubelets["n1"].queue) == 1
    assert len(fleet.kubelets["n2"].queue) == 0


async def test_a_hollow_nodes_resync_pass_asks_its_pods_at_its_pace(tmp_path: Any) -> None:
    fleet = HollowFleet(Settings(), ["n1"], config=lambda node: replace(
        fleet_config(1, {"KAFKUBE_NODE_IP": "10.0.0.1"})(node), root=tmp_path, resync_s=0.01, resync_pods_per_s=20.0))
    kubelet = fleet.kubelets["n1"]
    kubelet.pods = fleet.index.view("n1")
    store: Any = fleet.index.store
    for name in ["c", "a", "b"]:
        store[f"default/{name}"] = pod = fleet_decoder(frozenset({"n1"}))("t", raw(name, "n1"))
        fleet.index.on_change(Change("t", f"default/{name}", None, pod, 0, 0))
    asked: list[tuple[float, str]] = []
    kubelet.queue.add = lambda key: asked.append((time.monotonic(), key))  # type: ignore[method-assign]
    task = asyncio.create_task(kubelet._resync_loop())
    try:
        while len(asked) < 3:
            await asyncio.sleep(0.01)
    finally:
        await cancel_and_wait([task])
    assert [key for _, key in asked[:3]] == ["default/a", "default/b", "default/c"]
    assert all(b[0] - a[0] >= 0.05 * 0.9 for a, b in zip(asked, asked[1:3]))  # 20 a second
