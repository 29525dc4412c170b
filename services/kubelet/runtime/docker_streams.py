"""Interactive streams into a Docker container: an exec (`kubectl exec`) or an attach to
its main process (`kubectl attach`), as one `StreamSession` — output messages by stream
(1 stdout, 2 stderr; a tty's output is all stdout), input written to stdin, stdin closed
on its own (a half-close of the hijacked connection, so the output can still be read),
terminal resizes, and the exit code at the end. Used by
`services.kubelet.streaming.sessions`; errors are the runtime's (`docker_errors.boundary`)."""

from __future__ import annotations

import asyncio
from types import TracebackType

import aiodocker
from aiodocker.execs import Exec
from aiodocker.stream import Stream

from services.kubelet.runtime.docker_errors import boundary

EXIT_CODE_POLLS = 50  # the exec may still read as running right after its output ends


class StreamSession:
    """One exec or attach: use as `async with`; `read` until None, then `exit_code`."""

    def __init__(self, docker: aiodocker.Docker, container_id: str, stream: Stream, execution: Exec | None) -> None:
        self._docker, self._container_id, self._stream, self._exec = docker, container_id, stream, execution

    async def __aenter__(self) -> StreamSession:
        with boundary(f"stream of {self._container_id[:12]}"):
            await self._stream.__aenter__()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self._stream.close()

    async def read(self) -> tuple[int, bytes] | None:
        """(stream, data) of the next output, None once the process closed its output."""
        message = await self._stream.read_out()
        return None if message is None else (message.stream, message.data)

    async def write(self, data: bytes) -> None:
        await self._stream.write_in(data)

    def close_stdin(self) -> None:
        """End of input: half-close the connection (aiodocker's `close` ends both halves)."""
        response = self._stream._resp  # noqa: SLF001 - aiodocker offers no half-close
        transport = response.connection.transport if response is not None and response.connection else None
        if transport is not None and transport.can_write_eof():
            transport.write_eof()

    async def resize(self, *, width: int, height: int) -> None:
        with boundary(f"resize in {self._container_id[:12]}"):
            if self._exec is not None:
                await self._exec.resize(h=height, w=width)
            else:
                await self._docker.containers.container(self._container_id).resize(h=height, w=width)

    async def exit_code(self) -> int | None:
        """The exec's exit code (None for an attach, or if the Engine never tells)."""
        if self._exec is None:
            return None
        with boundary(f"exec in {self._container_id[:12]}"):
            for _ in range(EXIT_CODE_POLLS):
                details = await self._exec.inspect()
                if not details.get("Running") and details.get("ExitCode") is not None:
                    return int(details["ExitCode"])
                await asyncio.sleep(0.02)
        return None


async def exec_session(docker: aiodocker.Docker, container_id: str, command: list[str], *,
                       stdin: bool, tty: bool) -> StreamSession:
    """`command` in the container, as the container's user, with the streams asked for."""
    with boundary(f"exec in {container_id[:12]}"):
        execution = await docker.containers.container(container_id).exec(
            command, stdout=True, stderr=True, stdin=stdin, tty=tty)
    return StreamSession(docker, container_id, execution.start(detach=False), execution)


def attach_session(docker: aiodocker.Docker, container_id: str, *, stdin: bool) -> StreamSession:
    """The container's main process: its output from now on, and its stdin if it has one open."""
    stream = docker.containers.container(container_id).attach(stdout=True, stderr=True, stdin=stdin, logs=False)
    return StreamSession(docker, container_id, stream, None)
