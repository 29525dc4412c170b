"""HollowRuntime keeps the ContainerRuntime contract where it applies (no real processes)."""

from __future__ import annotations

import asyncio
import secrets
from datetime import timedelta
from typing import Any

import pytest

from services.kubelet.runtime.base import (
    ContainerConfig,
    ContainerRuntime,
    ImageUnavailable,
    PodRef,
    SandboxConfig,
)
from services.kubelet.runtime.errors import ContainerNotFound, ContainerNotRunning
from services.kubelet.runtime.hollow import HollowRuntime


def new_pod(name: str = "pod") -> PodRef:
    return PodRef(namespace="default", name=name, uid=secrets.token_hex(16))


def app(pod: PodRef, name: str, image: str = "kafkube/busybox:1.0", **fields: Any) -> ContainerConfig:
    return ContainerConfig(pod=pod, name=name, role="app", image=image, **fields)


async def test_it_is_a_container_runtime() -> None:
    runtime: ContainerRuntime = HollowRuntime("n1")  # the Protocol, checked by mypy
    assert runtime.node == "n1"


async def test_sandbox_gets_a_unique_ip_and_is_idempotent() -> None:
    one, two = HollowRuntime("a", node_number=300), HollowRuntime("b", node_number=301)
    pod = new_pod()
    sandbox = await one.run_sandbox(SandboxConfig(pod=pod, hostname="pod"))
    assert sandbox.state == "running" and sandbox.role == "infra" and sandbox.name == "POD"
    assert sandbox.ip == "10.1.44.1"
    assert (await one.run_sandbox(SandboxConfig(pod=pod, hostname="pod"))).id == sandbox.id
    ips = {(await rt.run_sandbox(SandboxConfig(pod=new_pod(), hostname="p"))).ip for rt in (one, two, one)}
    assert len(ips) == 3 and sandbox.ip not in ips
    assert (await one.run_sandbox(SandboxConfig(pod=new_pod(), hostname="h", host_network=True))).ip is None


async def test_containers_run_stop_exit_and_are_removed() -> None:
    runtime = HollowRuntime("n")
    pod = new_pod()
    sandbox = await runtime.run_sandbox(SandboxConfig(pod=pod, hostname="pod"))
    config = app(pod, "web", attempt=2)
    web = await runtime.create_and_start(sandbox, config)
    assert (web.state, web.attempt, web.pod, web.name, web.role) == ("running", 2, pod, "web", "app")
    assert web.started_at is not None and web.ip is None
    assert (await runtime.create_and_start(sandbox, config)).id == web.id  # idempotent per attempt
    await runtime.stop(web.id, grace_s=30)
    stopped = await runtime.inspect(web.id)
    assert stopped is not None and (stopped.state, stopped.exit_code) == ("exited", 143)
    assert stopped.finished_at is not None and stopped.finished_at >= web.started_at
    await runtime.stop(web.id, grace_s=30)  # already stopped: nothing changes
    assert await runtime.inspect(web.id) == stopped
    await runtime.remove(web.id)
    await runtime.remove(web.id)  # already gone: fine
    await runtime.stop(web.id, grace_s=1)
    assert await runtime.inspect(web.id) is None
    assert [i.id for i in await runtime.list_managed()] == [sandbox.id]


async def test_image_names_choose_exit_behaviours() -> None:
    runtime = HollowRuntime("n")
    pod = new_pod()
    sandbox = await runtime.run_sandbox(SandboxConfig(pod=pod, hostname="pod"))
    failed = await runtime.create_and_start(sandbox, app(pod, "a", "hollow/exit:3"))
    done = await runtime.create_and_start(sandbox, app(pod, "b", "hollow/exit:0"))
    oom = await runtime.create_and_start(sandbox, app(pod, "c", "hollow/oom"))
    assert (failed.state, failed.exit_code, failed.oom_killed) == ("exited", 3, False)
    assert done.exit_code == 0
    assert (oom.exit_code, oom.oom_killed) == (137, True)
    await runtime.stop(failed.id, grace_s=1)
    assert (await runtime.inspect(failed.id)).exit_code == 3  # type: ignore[union-attr]
    with pytest.raises(ImageUnavailable):
        await runtime.create_and_start(sandbox, app(pod, "d", "hollow/missing:1"))


async def test_containers_need_a_running_sandbox_and_a_stopped_one_is_replaced() -> None:
    runtime = HollowRuntime("n")
    pod = new_pod()
    sandbox = await runtime.run_sandbox(SandboxConfig(pod=pod, hostname="pod"))
    await runtime.stop(sandbox.id, grace_s=1)
    assert (await runtime.inspect(sandbox.id)).exit_code == 0  # type: ignore[union-attr]
    with pytest.raises(ContainerNotRunning):
        await runtime.create_and_start(sandbox, app(pod, "web"))
    replacement = await runtime.run_sandbox(SandboxConfig(pod=pod, hostname="pod"))
    assert replacement.id != sandbox.id and replacement.attempt == 1 and replacement.state == "running"
    await runtime.remove(sandbox.id)
    with pytest.raises(ContainerNotFound):
        await runtime.create_and_start(sandbox, app(pod, "web"))


async def test_list_managed_is_per_node() -> None:
    mine, other = HollowRuntime("mine"), HollowRuntime("other")
    sandbox = await mine.run_sandbox(SandboxConfig(pod=new_pod(), hostname="p"))
    await other.run_sandbox(SandboxConfig(pod=new_pod(), hostname="q"))
    assert [i.id for i in await mine.list_managed()] == [sandbox.id]


async def test_ensure_image_follows_the_pull_policy() -> None:
    runtime = HollowRuntime("n")
    assert (await runtime.ensure_image("kafkube/busybox:1.0", "Never")).present
    assert (await runtime.ensure_image("kafkube/busybox:1.0", "IfNotPresent")).present
    always = await runtime.ensure_image("kafkube/busybox:1.0", "Always")
    assert always.present and always.pulled
    never = await runtime.ensure_image("x/missing:1", "Never")
    assert not never.present and never.error == 'Container image "x/missing:1" is not present with pull policy of Never'
    for policy in ("IfNotPresent", "Always"):
        status = await runtime.ensure_image("x/missing:1", policy)
        assert not status.present and status.error and status.error.startswith('failed to pull image "x/missing:1"')


async def test_exec_and_logs() -> None:
    runtime = HollowRuntime("n")
    pod = new_pod()
    sandbox = await runtime.run_sandbox(SandboxConfig(pod=pod, hostname="pod"))
    web = await runtime.create_and_start(sandbox, app(pod, "web"))
    assert (await runtime.exec(web.id, ["true"], timeout_s=1)).exit_code == 0
    [line] = [c async for c in runtime.logs(web.id, follow=False)]
    assert (line.stream, line.timestamp) == ("stdout", web.started_at)
    assert web.started_at is not None
    later = web.started_at + timedelta(seconds=1)
    assert [c async for c in runtime.logs(web.id, since=later, follow=False)] == []

    async def follow() -> list[str]:
        return [c.line async for c in runtime.logs(web.id, follow=True)]

    following = asyncio.create_task(follow())
    await asyncio.sleep(0.01)
    assert not following.done()  # a running container's stream stays open ...
    await runtime.stop(web.id, grace_s=1)
    assert len(await asyncio.wait_for(following, 1)) == 1  # ... and ends when it stops
    with pytest.raises(ContainerNotRunning):
        await runtime.exec(web.id, ["true"], timeout_s=1)
    with pytest.raises(ContainerNotFound):
        await runtime.exec("nope", ["true"], timeout_s=1)


async def test_a_thousand_hollow_nodes_are_cheap() -> None:
    nodes = [HollowRuntime(f"hollow-{i}") for i in range(1000)]
    for runtime in nodes:
        pod = new_pod()
        sandbox = await runtime.run_sandbox(SandboxConfig(pod=pod, hostname="p"))
        await runtime.create_and_start(sandbox, app(pod, "c"))
    assert sum([len(await rt.list_managed()) for rt in nodes]) == 2000
