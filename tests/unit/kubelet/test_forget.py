"""What a pod's sync forgets: the log streams' and probes' bookkeeping of that pod's
containers that are gone, never another pod's (`forget` runs at every sync of every
pod of a node), and a stream still sending its last lines keeps its state until it
ends."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timezone
from typing import Any

from services.kubelet.logs import LogStreamer
from services.kubelet.probe_state import Health
from services.kubelet.probes import ProbeManager
from services.kubelet.runtime.base import ContainerInfo, LogChunk, PodRef


def container(cid: str, pod_uid: str, state: str = "running") -> ContainerInfo:
    return ContainerInfo(id=cid, pod=PodRef(namespace="shop", name=f"pod-{pod_uid}", uid=pod_uid), name=f"c-{cid}",
                         role="app", image="kafkube/busybox:1.0", state=state)  # type: ignore[arg-type]


class Runtime:
    """Each container's log: one line, then the stream ends; `hold` keeps one open."""

    def __init__(self) -> None:
        self.hold: dict[str, asyncio.Event] = {}

    async def logs(self, cid: str, *, since: datetime | None, follow: bool) -> AsyncIterator[LogChunk]:
        yield LogChunk(stream="stdout", timestamp=datetime(2026, 11, 29, tzinfo=timezone.utc), line=f"hello {cid}")
        if cid in self.hold:
            await self.hold[cid].wait()

    async def inspect(self, cid: str) -> ContainerInfo | None:
        return None  # gone: the stream ends after its lines


class Emitter:
    def __init__(self) -> None:
        self.lines: list[Any] = []

    async def log_line(self, line: Any) -> None:
        self.lines.append(line)


async def settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


async def streaming_held(cid: str, uid: str) -> tuple[Runtime, Emitter, LogStreamer]:
    """A streamer following one container whose stream stays open until `runtime.hold[cid]` is set."""
    runtime, emitter = Runtime(), Emitter()
    runtime.hold[cid] = asyncio.Event()
    logs = LogStreamer(runtime, emitter)  # type: ignore[arg-type]
    logs.follow(container(cid, uid))
    await settle()
    return runtime, emitter, logs


async def test_a_pods_sync_forgets_only_its_own_gone_containers_logs() -> None:
    runtime, emitter = Runtime(), Emitter()
    logs = LogStreamer(runtime, emitter)  # type: ignore[arg-type]
    for cid, uid in (("a1", "A"), ("a2", "A"), ("b1", "B")):
        logs.follow(container(cid, uid))
    await settle()
    assert len(emitter.lines) == 3 and logs._finished == {"a1", "a2", "b1"}

    logs.forget({"a1"}, {"A"})  # a2 is gone; b1 is another pod's
    assert logs._finished == {"a1", "b1"} and "a2" not in logs._last and "b1" in logs._last
    logs.follow(container("b1", "B"))  # streamed to its end: not again
    await settle()
    assert len(emitter.lines) == 3


async def test_a_stream_sending_its_last_lines_is_forgotten_when_it_ends() -> None:
    runtime, emitter, logs = await streaming_held("a1", "A")
    logs.forget((), {"A"})  # the pod is gone while its stream still reads
    assert "a1" in logs._tasks and "a1" in logs._last
    runtime.hold["a1"].set()
    await settle()
    assert not logs._tasks and not logs._last and not logs._finished and not logs._followed


async def test_forgetting_a_pods_probes_leaves_other_pods_probing() -> None:
    probes = ProbeManager(runtime=None, emitter=None, wake=lambda _key: None)  # type: ignore[arg-type]
    tasks = {}
    for cid, uid in (("a1", "A"), ("a2", "A"), ("b1", "B")):
        tasks[cid] = asyncio.create_task(asyncio.sleep(60))
        probes._tasks[(cid, "liveness")] = tasks[cid]
        probes._health[cid] = Health()
        probes._probed.setdefault(uid, set()).add(cid)
    probes.forget_pod({"A"}, keep={"a1"})
    await settle()
    assert tasks["a2"].cancelled() and not tasks["a1"].cancelled() and not tasks["b1"].cancelled()
    assert set(probes._health) == {"a1", "b1"} and probes._probed == {"A": {"a1"}, "B": {"b1"}}
    probes.forget_pod({"A", "B"})
    await settle()
    assert not probes._tasks and not probes._health and not probes._probed


async def test_a_container_seen_again_while_its_stream_drains_keeps_what_it_sent() -> None:
    runtime, emitter, logs = await streaming_held("a1", "A")
    logs.forget((), {"A"})
    logs.forget((), {"A"})  # every sync of the pod asks again: one drop waits, not two
    assert logs._draining == {"a1"}
    logs.follow(container("a1", "A"))  # back in the cache after all (a relist raced the sync)
    runtime.hold["a1"].set()
    await settle()
    assert not logs._draining and "a1" in logs._finished and "a1" in logs._last
    logs.follow(container("a1", "A"))
    await settle()
    assert len(emitter.lines) == 1  # not streamed again from the start
