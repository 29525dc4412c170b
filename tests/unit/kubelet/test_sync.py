"""PodSyncer against the in-memory hollow runtime (no Kafka): a pod comes up with its
events and status, a restarted kubelet adopts containers without restarting them,
orphans are removed, and a deletion stops, removes and confirms."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from schemas.pod import Pod
from services.kubelet.cache import ContainerCache
from services.kubelet.logs import LogStreamer
from services.kubelet.probes import ProbeManager
from services.kubelet.runtime.hollow import HollowRuntime
from services.kubelet.sync import PodSyncer, Views
from services.kubelet.tokens import TokenError
from services.kubelet.volumes import VolumeManager
from tests.unit.kubelet.helpers import pod


class FakeEmitter:
    """Records what the kubelet would write to Kafka."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []
        self.statuses: dict[str, dict[str, Any]] = {}
        self.gone: list[str] = []
        self.confirmed: list[str] = []
        self.lines: list[Any] = []

    async def event(self, pod: Pod, reason: str, message: str, **_: Any) -> None:
        self.events.append((reason, message))

    async def pod_status(self, namespace: str, name: str, uid: str | None, status: dict[str, Any]) -> None:
        self.statuses[f"{namespace}/{name}"] = status

    async def pod_gone(self, key: str) -> None:
        self.gone.append(key)

    async def confirm_deletion(self, namespace: str, name: str, uid: str | None) -> None:
        self.confirmed.append(f"{namespace}/{name}")

    async def log_line(self, line: Any) -> None:
        self.lines.append(line)


def kubelet(runtime: HollowRuntime, pods: dict[str, Pod], tmp_path: Path) -> tuple[PodSyncer, FakeEmitter]:
    emitter = FakeEmitter()
    cache = ContainerCache(runtime)
    views = Views(pod=pods.get, pod_known=lambda k: k in pods, configmaps=dict, secrets=dict)
    syncer = PodSyncer(node="n1", runtime=runtime, cache=cache, views=views,
                       volumes=VolumeManager(tmp_path, "n1"),
                       probes=ProbeManager(runtime, emitter, lambda _k: None),  # type: ignore[arg-type]
                       logs=LogStreamer(runtime, emitter),  # type: ignore[arg-type]
                       emitter=emitter, wake_after=lambda _k, _d: None, host_ip="192.168.0.9")  # type: ignore[arg-type]
    return syncer, emitter


async def test_pod_runs_is_adopted_after_restart_and_is_deleted(tmp_path: Path) -> None:
    runtime = HollowRuntime("n1")
    pods = {"default/p": pod("web", "side")}
    syncer, emitter = kubelet(runtime, pods, tmp_path)
    await syncer.cache.relist()
    await syncer.sync("default/p")
    status = emitter.statuses["default/p"]
    assert status["phase"] == "Running" and status["podIP"].startswith("10.")
    assert [r for r, _ in emitter.events].count("Started") == 2
    ids = sorted(c.id for c in await runtime.list_managed())
    assert len(ids) == 3

    restarted, emitter2 = kubelet(runtime, pods, tmp_path)  # a new kubelet, same engine
    await restarted.cache.relist()
    await restarted.sync("default/p")
    assert sorted(c.id for c in await runtime.list_managed()) == ids
    assert emitter2.events == [] and emitter2.statuses["default/p"]["phase"] == "Running"
    await restarted.sync("default/p")  # converged: nothing new is written
    assert emitter2.events == []

    pods["default/p"] = pod("web", "side", deleting=True, grace=1)
    await restarted.sync("default/p")
    assert await runtime.list_managed() == []
    assert emitter2.confirmed == ["default/p"]
    final = emitter2.statuses["default/p"]["containerStatuses"]
    assert all(c["state"]["terminated"]["exitCode"] == 143 for c in final)
    assert ("Killing", "Stopping container web") in emitter2.events

    del pods["default/p"]
    await restarted.sync("default/p")
    assert emitter2.gone == ["default/p"]


async def test_orphans_are_removed(tmp_path: Path) -> None:
    runtime = HollowRuntime("n1")
    pods = {"default/p": pod("web")}
    syncer, _ = kubelet(runtime, pods, tmp_path)
    await syncer.cache.relist()
    await syncer.sync("default/p")
    pods.clear()  # force-deleted while we were away
    await syncer.sync("default/p")
    assert await runtime.list_managed() == []


async def test_a_missing_image_waits_with_its_reason(tmp_path: Path) -> None:
    runtime = HollowRuntime("n1")
    body = pod("web").model_dump(by_alias=True, exclude_none=True)
    body["spec"]["containers"][0] |= {"image": "hollow/missing:1", "imagePullPolicy": "Never"}
    pods = {"default/p": Pod.model_validate(body)}
    syncer, emitter = kubelet(runtime, pods, tmp_path)
    await syncer.cache.relist()
    await syncer.sync("default/p")
    waiting = emitter.statuses["default/p"]["containerStatuses"][0]["state"]["waiting"]
    assert waiting["reason"] == "ErrImageNeverPull"
    assert ("Failed", "Error: ErrImageNeverPull") in emitter.events


def test_the_sandbox_is_stopped_after_the_containers_not_with_them() -> None:
    from services.kubelet.plan import Action, Kill, Remove
    from services.kubelet.sync import _groups

    actions: list[Action] = [Kill("a", "web", 30, "deletion"), Kill("b", "side", 30, "deletion"),
               Kill("s", "POD", 0, "deletion"), Remove("s")]
    assert _groups(actions) == [actions[:2], [actions[2]], [actions[3]]]


class FakeTokens:
    """The API's answer to a token request: refused `refusals` times (its view had not seen
    the pod yet), then issued once the test opens `gate` (the round trip)."""

    def __init__(self, refusals: int = 0) -> None:
        self.refusals = refusals
        self.gate = asyncio.Event()
        self.gate.set()

    async def token_for(self, pod: Pod) -> str:
        if self.refusals:
            self.refusals -= 1
            raise TokenError('pods "p" not found')
        await self.gate.wait()
        return "header.payload.signature"

    def forget(self, uid: str) -> None:
        pass


async def test_the_sandbox_starts_while_the_token_is_fetched_and_the_app_waits_for_it(tmp_path: Path) -> None:
    runtime = HollowRuntime("n1")
    pods = {"default/p": pod("web")}
    syncer, emitter = kubelet(runtime, pods, tmp_path)
    syncer.tokens = tokens = FakeTokens()  # type: ignore[assignment]
    tokens.gate.clear()
    await syncer.cache.relist()
    sync = asyncio.create_task(syncer.sync("default/p"))
    for _ in range(200):
        if [c.role for c in await runtime.list_managed()] == ["infra"]:
            break
        await asyncio.sleep(0.01)
    assert [c.role for c in await runtime.list_managed()] == ["infra"]  # the sandbox, before the token
    assert not sync.done() and ("Started", "Started container web") not in emitter.events
    tokens.gate.set()
    await asyncio.wait_for(sync, 5)
    assert sorted(c.role for c in await runtime.list_managed()) == ["app", "infra"]
    assert emitter.statuses["default/p"]["phase"] == "Running"
    [token] = tmp_path.rglob("token")
    assert token.read_text() == "header.payload.signature"


async def test_a_failed_mount_is_tried_again_soon_then_less_often(tmp_path: Path) -> None:
    runtime = HollowRuntime("n1")
    pods = {"default/p": pod("web")}
    syncer, emitter = kubelet(runtime, pods, tmp_path)
    syncer.tokens = FakeTokens(refusals=2)  # type: ignore[assignment]
    wakes: list[tuple[str, float]] = []
    syncer.wake_after = lambda key, delay: wakes.append((key, delay))
    await syncer.cache.relist()
    await syncer.sync("default/p")
    await syncer.sync("default/p")
    assert wakes == [("default/p", 0.5), ("default/p", 1.0)]
    assert [r for r, _ in emitter.events].count("FailedMount") == 1  # the same failure is one event
    assert [c.role for c in await runtime.list_managed()] == ["infra"]
    await syncer.sync("default/p")
    assert emitter.statuses["default/p"]["phase"] == "Running" and syncer.memory["default/p"].mount_failures == 0
    assert len(wakes) == 2
