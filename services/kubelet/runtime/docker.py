"""DockerRuntime: the ContainerRuntime contract (base.py) on a real Docker Engine (aiodocker).

The kubelet creates one per node (`async with DockerRuntime(node) as runtime:`). Every
container it creates carries the base.py labels, so `list_managed()` finds this node's
containers again after a kubelet restart, and kubelets sharing one Engine never touch each
other's. Engine JSON is built by `docker_config`, parsed by `docker_parse`, logs are read
by `docker_logs`, and every aiodocker error is translated by `docker_errors.boundary`.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

import aiodocker
from aiodocker.containers import DockerContainer
from aiodocker.exceptions import DockerError

from services.kubelet.runtime import docker_config as cfg
from services.kubelet.runtime.base import (
    LABEL_UID,
    ContainerConfig,
    ContainerInfo,
    ExecResult,
    ImageStatus,
    ImageUnavailable,
    ImageUser,
    LogChunk,
    SandboxConfig,
    UsageSample,
)
from services.kubelet.runtime.docker_errors import boundary
from services.kubelet.runtime.docker_logs import follow_logs, read_logs
from services.kubelet.runtime.docker_stats import usage_sample
from services.kubelet.runtime.docker_streams import StreamSession, attach_session, exec_session
from services.kubelet.runtime.docker_oom import OomWatch
from services.kubelet.runtime.errors import (
    ContainerNotFound,
    ContainerNotRunning,
    ContainerStartFailed,
    RuntimeApiError,
)
from services.kubelet.runtime.docker_parse import container_info, image_user
from services.runtime.logging import get_logger

log = get_logger(__name__)

EXEC_TIMEOUT_EXIT = 124  # like coreutils `timeout`


def default_seccomp_dir() -> Path:
    """KAFKUBE_KUBELET_SECCOMP_DIR, else `seccomp` under KAFKUBE_KUBELET_ROOT (upstream's
    kubelet reads `<root-dir>/seccomp`)."""
    explicit = os.environ.get("KAFKUBE_KUBELET_SECCOMP_DIR")
    return Path(explicit) if explicit else Path(os.environ.get("KAFKUBE_KUBELET_ROOT", "/var/lib/kafkube")) / "seccomp"


class DockerRuntime:
    """ContainerRuntime on the Docker Engine at `docker_url` (default: DOCKER_HOST / socket);
    Localhost seccomp profiles are read from `seccomp_dir` (default: `default_seccomp_dir()`)."""

    def __init__(self, node: str, *, docker_url: str | None = None,
                 pause_image: str = cfg.DEFAULT_PAUSE_IMAGE, pull_timeout_s: float = 30.0,
                 seccomp_dir: Path | None = None) -> None:
        self.node = node
        self._seccomp_dir = seccomp_dir or default_seccomp_dir()
        self._url = docker_url
        self._pause_image = pause_image
        self._pull_timeout_s = pull_timeout_s
        self._client: aiodocker.Docker | None = None
        self._oom: OomWatch | None = None

    async def __aenter__(self) -> DockerRuntime:
        """Connect, and fail now (RuntimeUnavailable) if the Engine does not answer."""
        try:
            with boundary("connect to the Docker Engine"):
                await self._docker.version()
        except BaseException:
            await self.close()
            raise
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.close()

    async def close(self) -> None:
        if self._oom is not None:
            await self._oom.stop()
            self._oom = None
        client, self._client = self._client, None
        if client is not None:
            await client.close()

    @property
    def _docker(self) -> aiodocker.Docker:
        if self._client is None:
            self._client = aiodocker.Docker(url=self._url)
        return self._client

    def _oom_watch(self) -> OomWatch:
        if self._oom is None:
            self._oom = OomWatch(self._docker, self.node)
            self._oom.start()
        return self._oom

    def _container(self, container_id: str) -> DockerContainer:
        return self._docker.containers.container(container_id)

    # ---- images -----------------------------------------------------------------------

    async def ensure_image(self, image: str, policy: Literal["Always", "IfNotPresent", "Never"]) -> ImageStatus:
        present = await self._image_present(image)
        if policy == "Never" or (policy == "IfNotPresent" and present):
            if present:
                return ImageStatus(present=True)
            return ImageStatus(present=False, error=f'Container image "{image}" is not present with pull policy of Never')
        problem = await self._pull(image)
        if problem is None:
            return ImageStatus(present=True, pulled=True)
        message = f'failed to pull image "{image}": {problem}'
        if present:  # Always, registry unreachable: run what we have, and say so
            log.warning("image.pull_failed_using_local", image=image, error=problem)
            return ImageStatus(present=True, pulled=False, error=f"{message} (using the local image)")
        return ImageStatus(present=False, error=message)

    async def image_user(self, image: str) -> ImageUser:
        with boundary(f"inspect image {image}"):
            return image_user(await self._docker.images.inspect(image))

    async def _image_present(self, image: str) -> bool:
        try:
            with boundary(f"inspect image {image}"):
                await self._docker.images.inspect(image)
        except (ImageUnavailable, ContainerNotFound):  # the Engine's 404 "No such image"
            return False
        return True

    async def _pull(self, image: str) -> str | None:
        """None when pulled, else why not. Errors come as `{"error": ...}` stream items."""
        try:
            async with asyncio.timeout(self._pull_timeout_s):
                async for item in self._docker.images.pull(image, stream=True):
                    if item.get("error"):
                        return str(item.get("error")).strip()
        except TimeoutError:
            return f"timed out after {self._pull_timeout_s:g}s"
        except DockerError as exc:
            return str(exc.message).strip()
        except OSError as exc:
            return f"{type(exc).__name__}: {exc}"
        return None if await self._image_present(image) else "the pull ended without the image"

    # ---- containers -------------------------------------------------------------------

    async def run_sandbox(self, config: SandboxConfig) -> ContainerInfo:
        """The pod's running infra container, created if none runs (a dead one is left for
        the caller to remove; the new one gets the next attempt). `ip` is the bridge IP;
        None with host_network (the pod uses the node's address)."""
        existing = await self._sandboxes(config.pod.uid)
        for info in existing:
            if info.state == "running":
                return info
        attempt = max((i.attempt + 1 for i in existing), default=0)
        body = cfg.sandbox_body(config, node=self.node, image=self._pause_image, attempt=attempt)
        name = cfg.container_name(config.pod, "POD", attempt)
        return await self._create_and_start(name, body, what=f"sandbox of {config.pod.key}")

    async def _sandboxes(self, uid: str) -> list[ContainerInfo]:
        with boundary(f"list sandboxes of pod {uid}"):
            found = await self._docker.containers.list(all=True, filters=cfg.sandbox_filter(self.node, uid))
        infos = await asyncio.gather(*(self.inspect(c.id) for c in found))
        return [i for i in infos if i is not None]

    async def create_and_start(self, sandbox: ContainerInfo, config: ContainerConfig) -> ContainerInfo:
        """Idempotent per (pod uid, container, attempt): a running twin is returned as is;
        a stale one of the same name (a crash between create and start) is replaced.
        Raises ImageUnavailable (image absent), ContainerStartFailed (e.g. command not found;
        the container is removed), ContainerNotRunning / ContainerNotFound (the sandbox is
        stopped / gone)."""
        body = cfg.container_body(sandbox, config, node=self.node,
                                  seccomp_profile=self._seccomp_profile(config.security.seccomp_localhost))
        name = cfg.container_name(config.pod, config.name, config.attempt)
        return await self._create_and_start(name, body, what=f"container {config.name} of {config.pod.key}")

    def _seccomp_profile(self, name: str | None) -> str | None:
        """The text of Localhost profile `name` (relative, checked by the kubelet); a missing
        or unreadable file refuses the container (400), as the Engine would."""
        if name is None:
            return None
        path = self._seccomp_dir / name
        try:
            return path.read_text()
        except OSError as exc:
            raise RuntimeApiError(400, f'cannot load seccomp profile "{path}": {exc.strerror or exc}') from None

    async def _create_and_start(self, name: str, body: dict[str, Any], *, what: str) -> ContainerInfo:
        try:
            with boundary(f"create {what}"):
                container = await self._docker.containers.create(body, name=name)
        except RuntimeApiError as exc:
            if exc.status != 409:
                raise
            twin = await self.inspect(name)
            if twin is not None and twin.state == "running" and twin.pod.uid == body["Labels"][LABEL_UID]:
                return twin
            await self.remove(name)
            with boundary(f"create {what}"):
                container = await self._docker.containers.create(body, name=name)
        try:
            with boundary(f"start {what}"):
                await container.start()
        except RuntimeApiError as exc:
            await self.remove(container.id)  # leave no created-but-never-started leftovers
            if isinstance(exc, ContainerNotRunning):  # its sandbox stopped
                raise
            raise ContainerStartFailed(exc.status, str(exc)) from exc
        info = await self.inspect(container.id)
        if info is None:
            raise ContainerNotFound(f"{what}: container {container.id[:12]} vanished after start")
        log.info("container.started", name=name, id=container.id[:12])
        return info

    async def stop(self, container_id: str, *, grace_s: int) -> None:
        """TERM (or the image's StopSignal), KILL after `grace_s`; gone or stopped is fine."""
        grace = max(0, int(grace_s))
        try:
            with boundary(f"stop {container_id[:12]}"):
                await self._container(container_id).stop(t=grace, timeout=grace + 30)
        except ContainerNotFound:
            pass

    async def remove(self, container_id: str) -> None:
        try:
            with boundary(f"remove {container_id[:12]}"):
                await self._container(container_id).delete(force=True, v=True)
        except RuntimeApiError as exc:
            if exc.status not in (404, 409):  # 409: a removal is already in progress
                raise

    async def inspect(self, container_id: str) -> ContainerInfo | None:
        try:
            with boundary(f"inspect {container_id[:12]}"):
                body = await self._container(container_id).show()
        except ContainerNotFound:
            return None
        info = container_info(body)
        if info.state == "exited" and not info.oom_killed and self._oom_watch().oom_killed(info.id):
            info = info.model_copy(update={"oom_killed": True})
        return info

    async def list_managed(self) -> list[ContainerInfo]:
        self._oom_watch()  # the kubelet lists first: OOMs are watched before any pod runs
        with boundary(f"list containers of node {self.node}"):
            found = await self._docker.containers.list(all=True, filters=cfg.node_filter(self.node))
        infos = await asyncio.gather(*(self.inspect(c.id) for c in found))
        return [i for i in infos if i is not None]  # removed between list and inspect

    async def usage(self, container_id: str) -> UsageSample | None:
        """The container's CPU time and working set now (None: gone or not running)."""
        try:
            with boundary(f"stats of {container_id[:12]}"):
                answers = await self._container(container_id).stats(stream=False)
        except ContainerNotFound:
            return None
        return usage_sample(answers[0]) if answers else None

    # ---- exec and logs ----------------------------------------------------------------

    async def exec_session(self, container_id: str, command: list[str], *, stdin: bool, tty: bool) -> StreamSession:
        """An interactive exec (`kubectl exec`), for the streaming endpoint."""
        return await exec_session(self._docker, container_id, command, stdin=stdin, tty=tty)

    def attach_session(self, container_id: str, *, stdin: bool) -> StreamSession:
        """An attach to the container's main process (`kubectl attach`)."""
        return attach_session(self._docker, container_id, stdin=stdin)

    async def exec(self, container_id: str, command: list[str], *, timeout_s: float) -> ExecResult:
        """Run `command` in the container; a timeout gives exit code 124 (the process may
        linger: the Engine cannot kill an exec)."""
        output: list[bytes] = []
        try:
            async with asyncio.timeout(timeout_s):
                with boundary(f"exec in {container_id[:12]}"):
                    execution = await self._container(container_id).exec(command, stdout=True, stderr=True)
                    async with execution.start(detach=False) as stream:
                        while (message := await stream.read_out()) is not None:
                            output.append(message.data)
                    code = await self._exec_exit_code(execution)
        except TimeoutError:
            text = b"".join(output).decode(errors="replace")
            return ExecResult(exit_code=EXEC_TIMEOUT_EXIT, output=f"{text}command timed out after {timeout_s:g}s")
        return ExecResult(exit_code=code, output=b"".join(output).decode(errors="replace"))

    @staticmethod
    async def _exec_exit_code(execution: Any) -> int:
        for _ in range(50):  # the exec may still read as running right after its output ends
            details = await execution.inspect()
            if not details.get("Running") and details.get("ExitCode") is not None:
                return int(details["ExitCode"])
            await asyncio.sleep(0.02)
        return 1

    async def logs(self, container_id: str, *, since: datetime | None = None,
                   follow: bool = True) -> AsyncIterator[LogChunk]:
        container = self._container(container_id)
        if not follow:
            with boundary(f"logs of {container_id[:12]}"):
                chunks = await read_logs(container, since)
            for chunk in chunks:
                yield chunk
            return
        stream = follow_logs(container, since)
        try:
            while True:
                with boundary(f"logs of {container_id[:12]}"):
                    try:
                        chunk = await anext(stream)
                    except StopAsyncIteration:
                        return
                yield chunk
        finally:
            await stream.aclose()
