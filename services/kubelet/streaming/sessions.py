"""One `kubectl exec` or `kubectl attach` on the kubelet's side: the WebSocket from the
apiserver (channel frames, `services.runtime.remotecommand`) joined to a runtime
`StreamSession` — stdin frames written to the process, the v5 close of stdin as its end
of input, resizes applied, the output sent as stdout/stderr frames, and when the process
ends its exit status on the error channel before the socket closes. A caller that goes
away ends the session (the process itself runs on: the Engine cannot kill an exec).
Called by `services.kubelet.streaming.endpoint` once the ticket is checked."""

from __future__ import annotations

import asyncio
from typing import Protocol

from aiohttp import WSMsgType, web

from services.kubelet.runtime.base import RuntimeFailure
from services.runtime.logging import get_logger
from services.runtime.remotecommand import (
    CLOSE, ERROR, RESIZE, STDERR, STDIN, STDOUT, FrameError, closed_channel, error_status, exit_status, frame,
    parse, terminal_size,
)
from services.runtime.stream_tickets import StreamTicket
from services.runtime.tasks import cancel_and_wait

log = get_logger(__name__)


class Session(Protocol):
    """What a runtime's interactive stream offers (`runtime.docker_streams.StreamSession`)."""

    async def read(self) -> tuple[int, bytes] | None: ...
    async def write(self, data: bytes) -> None: ...
    def close_stdin(self) -> None: ...
    async def resize(self, *, width: int, height: int) -> None: ...
    async def exit_code(self) -> int | None: ...


async def relay(ws: web.WebSocketResponse, session: Session, ticket: StreamTicket) -> None:
    """Run the session over `ws` until the process ends or the caller leaves."""
    output = asyncio.create_task(_output(ws, session, ticket), name=f"stream-out-{ticket.nonce}")
    inbound = asyncio.create_task(_input(ws, session, ticket), name=f"stream-in-{ticket.nonce}")
    try:
        await asyncio.wait((output, inbound), return_when=asyncio.FIRST_COMPLETED)
        if output.done():
            output.result()
            await ws.send_bytes(frame(ERROR, await _status(session, ticket)))
    finally:
        await cancel_and_wait([output, inbound])
        await ws.close()


async def _status(session: Session, ticket: StreamTicket) -> bytes:
    """The error channel's last word: an attach ends when the process's output does."""
    if ticket.verb == "attach":
        return exit_status((), 0)
    code = await session.exit_code()
    return error_status("the exit code of the command is unknown") if code is None else \
        exit_status(ticket.command, code)


async def _output(ws: web.WebSocketResponse, session: Session, ticket: StreamTicket) -> None:
    while (message := await session.read()) is not None:
        stream, data = message
        channel = STDERR if stream == 2 and not ticket.tty else STDOUT
        if (ticket.stderr if channel == STDERR else ticket.stdout) and data:
            await ws.send_bytes(frame(channel, data))


async def _input(ws: web.WebSocketResponse, session: Session, ticket: StreamTicket) -> None:
    """Frames from the caller until it closes the socket. Input the process no longer
    takes (it closed its stdin, or ended) is dropped; output goes on."""
    stdin_open = ticket.stdin
    async for message in ws:
        if message.type != WSMsgType.BINARY:
            continue
        try:
            received = parse(message.data)
            if received.channel == STDIN and stdin_open:
                await session.write(received.data)
            elif received.channel == CLOSE and closed_channel(received.data) == STDIN and stdin_open:
                stdin_open = False
                session.close_stdin()
            elif received.channel == RESIZE and ticket.tty:
                width, height = terminal_size(received.data)
                await session.resize(width=width, height=height)
        except FrameError as exc:
            log.warning("stream.bad_frame", pod=ticket.pod_key, container=ticket.container, error=str(exc))
        except (OSError, RuntimeError, RuntimeFailure) as exc:  # RuntimeError: aiodocker's closed transport
            stdin_open = False
            log.info("stream.input_dropped", pod=ticket.pod_key, container=ticket.container,
                     error=f"{type(exc).__name__}: {exc}"[:200])
