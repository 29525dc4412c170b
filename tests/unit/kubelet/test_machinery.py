"""The kubelet's small machinery: the keyed work queue, the container cache's guard
against stale relists, probe thresholds, and the node's registration and config."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timezone

import pytest

from schemas.pod import Probe
from services.kubelet.cache import ContainerCache
from services.kubelet.node import NodeConfig, node_object, node_status
from services.kubelet.probe_state import ProbeCounter
from services.kubelet.runtime.base import ContainerInfo, PodRef
from services.kubelet.service import KubeletConfig, pod_decoder
from services.runtime.workqueue import WorkQueue
from tests.unit.kubelet.helpers import info


async def test_one_key_is_never_handled_twice_at_once_and_errors_retry() -> None:
    queue = WorkQueue(base_delay_s=0.01)
    active: set[str] = set()
    seen: list[str] = []
    overlaps = 0

    async def handle(key: str) -> None:
        nonlocal overlaps
        overlaps += key in active
        active.add(key)
        seen.append(key)
        await asyncio.sleep(0.01)
        active.discard(key)
        if key == "bad" and seen.count("bad") < 3:
            raise RuntimeError("try again")

    workers = asyncio.create_task(queue.run_workers(handle, workers=4))
    for _ in range(3):
        queue.add("a")
        queue.add("b")
        await asyncio.sleep(0.002)
    queue.add("bad")
    deadline = time.monotonic() + 10
    while seen.count("bad") < 3 and time.monotonic() < deadline:  # retried with back-off
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.05)  # a fourth try would come 0.08 s after the third: none may
    workers.cancel()
    assert overlaps == 0
    assert 2 <= seen.count("a") <= 3 and seen.count("bad") == 3


async def test_add_after_keeps_only_the_earliest_wake() -> None:
    queue = WorkQueue()
    queue.add_after("k", 10)
    queue.add_after("k", 0.01)
    queue.add_after("k", 5)
    await asyncio.sleep(0.05)
    assert len(queue) == 1 and not queue._wakes


class SlowRuntime:
    """list_managed returns what was there when the listing began."""

    def __init__(self, containers: list[ContainerInfo]) -> None:
        self.containers = containers
        self.gate = asyncio.Event()

    async def list_managed(self) -> list[ContainerInfo]:
        snapshot = list(self.containers)
        await self.gate.wait()
        return snapshot


async def test_a_stale_relist_does_not_hide_a_container_just_created() -> None:
    runtime = SlowRuntime([])
    cache = ContainerCache(runtime)  # type: ignore[arg-type]
    listing = asyncio.create_task(cache.relist())
    await asyncio.sleep(0)
    created = info("web")
    cache.put(created)  # a worker started it while the listing was in flight
    runtime.gate.set()
    assert await listing == set()
    assert cache.for_pod("default/p") == [created]
    runtime.containers = [created.model_copy(update={"state": "exited", "exit_code": 1})]
    assert await cache.relist() == {"default/p"}
    assert cache.for_pod("default/p")[0].state == "exited"


async def test_the_cache_indexes_containers_by_pod_through_puts_drops_and_relists() -> None:
    other = info("web").model_copy(update={"pod": PodRef(namespace="default", name="q", uid="u-q")})
    web, side = info("web"), info("side")
    runtime = SlowRuntime([web, other])
    runtime.gate.set()
    cache = ContainerCache(runtime)  # type: ignore[arg-type]
    assert await cache.relist() == {"default/p", "default/q"}
    assert cache.for_pod("default/p") == [web] and cache.for_pod("default/q") == [other]
    cache.put(side)
    assert {c.name for c in cache.for_pod("default/p")} == {"web", "side"}
    cache.drop(web.id)
    cache.drop(other.id)
    assert cache.for_pod("default/p") == [side] and cache.keys() == {"default/p"}
    runtime.containers = []
    assert await cache.relist() == {"default/p"}
    assert cache.for_pod("default/p") == [] and cache.keys() == set() and cache.all() == []


def test_probe_thresholds() -> None:
    probe = Probe.model_validate({"exec": {"command": ["true"]}, "successThreshold": 2, "failureThreshold": 2})
    counter = ProbeCounter().record(True, probe)
    assert counter.verdict is None
    counter = counter.record(True, probe)
    assert counter.verdict is True
    counter = counter.record(False, probe)
    assert counter.verdict is True
    assert counter.record(False, probe).verdict is False


def test_node_object_status_and_config() -> None:
    config = KubeletConfig.from_env("n7", "hollow", env={
        "KAFKUBE_NODE_LABELS": "zone=a,disk=ssd", "KAFKUBE_NODE_TAINTS": "gpu=yes:NoSchedule,spot:NoExecute",
        "KAFKUBE_NODE_CPU": "4", "KAFKUBE_NODE_MEMORY": "8Gi", "KAFKUBE_NODE_IP": "10.9.9.9",
        "KAFKUBE_KUBELET_ROOT": "/tmp/k"})
    node = node_object(config.node)
    assert node["metadata"]["labels"].items() >= {"kubernetes.io/hostname": "n7", "kubernetes.io/os": "linux",
                                                  "zone": "a", "disk": "ssd"}.items()
    assert node["spec"]["taints"] == [{"key": "gpu", "value": "yes", "effect": "NoSchedule"},
                                      {"key": "spot", "effect": "NoExecute"}]
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    status = node_status(config.node, cpu="4", memory="8Gi", now=now, ready_since=now)
    assert status["capacity"] == {"cpu": "4", "memory": "8Gi", "pods": "110"}
    ready = status["conditions"][0]
    assert ready["type"] == "Ready" and ready["status"] == "True" and ready["lastHeartbeatTime"] == "2026-01-01T00:00:00Z"
    assert {"type": "InternalIP", "address": "10.9.9.9"} in status["addresses"]
    assert status["nodeInfo"]["kubeletVersion"] == "v1.31.0-kafkube"


@pytest.mark.parametrize(("raw", "mine"), [
    (b'{"metadata": {"name": "p", "uid": "u"}, "spec": {"nodeName": "n1", "containers": []}}', True),
    (b'{"metadata": {"name": "p", "uid": "u"}, "spec": {"nodeName": "n10", "containers": []}}', False),
    (b'{"metadata": {"name": "n1", "uid": "u"}, "spec": {"nodeName": "n2", "containers": []}}', False),
])
def test_pod_decoder_keeps_only_this_nodes_pods(raw: bytes, mine: bool) -> None:
    assert (pod_decoder("n1")("t", raw) is not None) == mine
