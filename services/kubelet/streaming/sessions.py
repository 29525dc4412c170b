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

from services.runtime.logging import get_logger
from services.runtime.remotecommand import (
    CLOSE, ERROR, RESIZE, STDERR, STDIN, STDOUT, Frame, FrameError, closed_channel, error_status, exit_status, frame,
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
    code = await session.exit_code()
    if ticket.verb == "attach":
        return exit_status((), 0)
    return error_status("the exit code of the command is unknown") if code is None else \
        exit_status(ticket.command, code)


async def _output(ws: web.WebSocketResponse, session: Session, ticket: StreamTicket) -> None:
    while (message := await session.read()) is not None:
        stream, data = message
        channel = STDERR if stream == 2 and not ticket.tty else STDOUT
        if (ticket.stderr if channel == STDERR else ticket.stdout) and data:
            await ws.send_bytes(frame(channel, data))


async def _input(ws: web.WebSocketResponse, session: Session, ticket: StreamTicket) -> None:
    """Frames from the caller until it closes the socket."""
    async for message in ws:
        if message.type != WSMsgType.BINARY:
            continue
        try:
            await _apply(session, ticket, parse(message.data))
        except FrameError as exc:
            log.warning("stream.bad_frame", pod=ticket.pod_key, container=ticket.container, error=str(exc))


async def _apply(session: Session, ticket: StreamTicket, received: Frame) -> None:
    channel, data = received.channel, received.data
    if channel == STDIN and ticket.stdin:
        await session.write(data)
    elif channel == CLOSE and closed_channel(data) == STDIN and ticket.stdin:
        session.close_stdin()
    elif channel == RESIZE and ticket.tty:
        width, height = terminal_size(data)
        await session.resize(width=width, height=height)
