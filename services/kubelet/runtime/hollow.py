"""HollowRuntime: the ContainerRuntime contract in memory (kubemark's "hollow node").

Pods "run" at once and nothing executes, so one process can host thousands of hollow
kubelets for controller tests and benchmarks: every operation is O(1) except
`list_managed` (O(containers of this node)).

Behaviours, chosen by the image name (repository part, tag excluded), for tests:

- contains "exit"    the container exits at once, with the tag as exit code when the tag is
                     an integer (`hollow/exit:3` -> 3, `hollow/exit:0` -> 0), else 1.
- contains "oom"     the container exits at once: OOMKilled, exit code 137.
- contains "missing" the image is absent and cannot be pulled (ensure_image fails;
                     creating a container from it raises ImageUnavailable, as DockerRuntime does).

Anything else runs until stopped; `stop` gives exit code 143 (SIGTERM) unless the container
already exited. Sandboxes get a fake IP 10.<a>.<b>.<c>: one /24 per node (65,536 nodes
per process), hosts .1-.254 handed out in turn.
"""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Literal

from services.kubelet.runtime.base import (
    INFRA_CONTAINER,
    ContainerConfig,
    ContainerInfo,
    ExecResult,
    ImageStatus,
    ImageUnavailable,
    ImageUser,
    LogChunk,
    PodRef,
    Role,
    SandboxConfig,
)
from services.kubelet.runtime.docker_config import DEFAULT_PAUSE_IMAGE, container_name
from services.kubelet.runtime.errors import ContainerNotFound, ContainerNotRunning

_node_numbers = itertools.count()


def _repository(image: str) -> tuple[str, str]:
    """('repo/name', 'tag') of an image reference; the tag is '' when absent."""
    name, _, digest = image.partition("@")
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        return name[:colon], name[colon + 1:]
    return name, digest


def _exit_behaviour(image: str) -> tuple[int, bool] | None:
    """(exit code, OOMKilled) for images that exit at once, else None."""
    repo, tag = _repository(image)
    if "oom" in repo:
        return 137, True
    if "exit" in repo:
        return (int(tag) if tag.isdigit() else 1), False
    return None


class HollowRuntime:
    """In-memory ContainerRuntime for node `node`."""

    def __init__(self, node: str, *, node_number: int | None = None) -> None:
        self.node = node
        number = next(_node_numbers) if node_number is None else node_number
        self._subnet = f"10.{(number >> 8) & 255}.{number & 255}"
        self._hosts = itertools.cycle(range(1, 255))
        self._containers: dict[str, ContainerInfo] = {}
        self._by_name: dict[str, str] = {}  # docker-style name -> id
        self._sandboxes: dict[str, str] = {}  # pod uid -> id of its latest infra container
        self._stopped: dict[str, asyncio.Event] = {}  # only for containers whose logs are followed

    async def __aenter__(self) -> HollowRuntime:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def close(self) -> None:
        for event in self._stopped.values():
            event.set()

    async def ensure_image(self, image: str, policy: Literal["Always", "IfNotPresent", "Never"]) -> ImageStatus:
        if "missing" not in _repository(image)[0]:
            return ImageStatus(present=True, pulled=policy == "Always")
        if policy == "Never":
            return ImageStatus(present=False, error=f'Container image "{image}" is not present with pull policy of Never')
        return ImageStatus(present=False, error=f'failed to pull image "{image}": hollow image is missing')

    async def image_user(self, image: str) -> ImageUser:
        """Hollow images set no USER: they run as root, as busybox does."""
        return ImageUser()

    async def run_sandbox(self, config: SandboxConfig) -> ContainerInfo:
        current = self._containers.get(self._sandboxes.get(config.pod.uid, ""))
        if current is not None and current.state == "running":
            return current
        attempt = 0 if current is None else current.attempt + 1
        ip = None if config.host_network else f"{self._subnet}.{next(self._hosts)}"
        info = self._new(config.pod, INFRA_CONTAINER, "infra", DEFAULT_PAUSE_IMAGE, attempt, ip=ip)
        self._sandboxes[config.pod.uid] = info.id
        return info

    async def create_and_start(self, sandbox: ContainerInfo, config: ContainerConfig) -> ContainerInfo:
        infra = self._containers.get(sandbox.id)
        if infra is None:
            raise ContainerNotFound(f"No such container: {sandbox.id} (the sandbox)")
        if infra.state != "running":
            raise ContainerNotRunning(f"cannot join the network of sandbox {sandbox.id[:12]}: not running")
        if "missing" in _repository(config.image)[0]:
            raise ImageUnavailable(f"No such image: {config.image}")
        twin = self._containers.get(self._by_name.get(container_name(config.pod, config.name, config.attempt), ""))
        if twin is not None and twin.state == "running":
            return twin
        if twin is not None:
            await self.remove(twin.id)
        info = self._new(config.pod, config.name, config.role, config.image, config.attempt)
        behaviour = _exit_behaviour(config.image)
        if behaviour is not None:
            info = self._exit(info, behaviour[0], oom_killed=behaviour[1])
        return info

    def _new(self, pod: PodRef, name: str, role: Role, image: str, attempt: int, *,
             ip: str | None = None) -> ContainerInfo:
        info = ContainerInfo(
            id=uuid.uuid4().hex + uuid.uuid4().hex, pod=pod, name=name, role=role, image=image,
            image_id=f"sha256:hollow-{image}", state="running", started_at=datetime.now(UTC),
            attempt=attempt, ip=ip,
        )
        self._containers[info.id] = info
        self._by_name[container_name(pod, name, attempt)] = info.id
        return info

    def _exit(self, info: ContainerInfo, code: int, *, oom_killed: bool = False) -> ContainerInfo:
        done = info.model_copy(update={"state": "exited", "exit_code": code, "oom_killed": oom_killed,
                                       "finished_at": datetime.now(UTC)})
        self._containers[info.id] = done
        event = self._stopped.get(info.id)
        if event is not None:
            event.set()
        return done

    async def stop(self, container_id: str, *, grace_s: int) -> None:
        info = self._containers.get(container_id)
        if info is not None and info.state == "running":
            self._exit(info, 0 if info.role == "infra" else 143)  # pause exits 0 on TERM

    async def remove(self, container_id: str) -> None:
        info = self._containers.pop(container_id, None)
        if info is None:
            return
        self._by_name.pop(container_name(info.pod, info.name, info.attempt), None)
        if self._sandboxes.get(info.pod.uid) == container_id:
            del self._sandboxes[info.pod.uid]
        event = self._stopped.pop(container_id, None)
        if event is not None:
            event.set()

    async def inspect(self, container_id: str) -> ContainerInfo | None:
        return self._containers.get(container_id)

    async def list_managed(self) -> list[ContainerInfo]:
        return list(self._containers.values())

    async def exec(self, container_id: str, command: list[str], *, timeout_s: float) -> ExecResult:
        info = self._containers.get(container_id)
        if info is None:
            raise ContainerNotFound(f"No such container: {container_id}")
        if info.state != "running":
            raise ContainerNotRunning(f"Container {container_id} is not running")
        return ExecResult(exit_code=0, output="")

    async def logs(self, container_id: str, *, since: datetime | None = None,
                   follow: bool = True) -> AsyncIterator[LogChunk]:
        """One stdout line per container ("hollow container <name> started"); with `follow`,
        the iterator then waits until the container stops (as Docker's stream does)."""
        info = self._containers.get(container_id)
        if info is None:
            raise ContainerNotFound(f"No such container: {container_id}")
        assert info.started_at is not None
        if since is None or info.started_at >= since:
            yield LogChunk(stream="stdout", timestamp=info.started_at, line=f"hollow container {info.name} started")
        if follow and info.state == "running":
            await self._stopped.setdefault(container_id, asyncio.Event()).wait()
