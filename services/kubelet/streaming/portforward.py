"""One `kubectl port-forward` session on the kubelet's side: a SPDY/3 session tunnelled
through the WebSocket from the apiserver (`services.runtime.spdy`). kubectl opens an
error stream and a data stream per local connection (same `requestid`, a `port`); each
gets its SYN_REPLY, and once both exist the kubelet connects to the pod's IP (its sandbox's
address on the Docker network: the pod's network namespace, where every container of the
pod listens) on that port and copies both ways. The pod's end of output is a FIN on the
data stream and then on the error stream; a failed connection is upstream's message on
the error stream. A port the ticket does not name (when it names any) is refused the same
way. Called by `services.kubelet.streaming.endpoint`."""

from __future__ import annotations

import asyncio
import contextlib
import os
from dataclasses import dataclass, field

from aiohttp import WSMsgType, web

from services.runtime import spdy
from services.runtime.logging import get_logger
from services.runtime.stream_tickets import StreamTicket
from services.runtime.tasks import cancel_and_wait

log = get_logger(__name__)
CHUNK = 32 * 1024


@dataclass
class Forward:
    """One forwarded connection: its two streams, and what kubectl sent not yet written."""

    request_id: str
    port: int
    error_stream: int | None = None
    data_stream: int | None = None
    inbound: asyncio.Queue[bytes | None] = field(default_factory=asyncio.Queue)
    task: asyncio.Task[None] | None = None


class PortForwardSession:
    def __init__(self, ws: web.WebSocketResponse, ticket: StreamTicket, pod_ip: str) -> None:
        self._ws, self._ticket, self._pod_ip = ws, ticket, pod_ip
        self._codec = spdy.HeaderCodec()
        self._send_lock = asyncio.Lock()
        self._forwards: dict[str, Forward] = {}  # by request id
        self._by_stream: dict[int, Forward] = {}
        self._tasks: list[asyncio.Task[None]] = []

    async def run(self) -> None:
        """Until the apiserver closes the socket or kubectl says GOAWAY."""
        frames = spdy.FrameBuffer()
        try:
            async for message in self._ws:
                if message.type != WSMsgType.BINARY:
                    continue
                for frame in frames.feed(message.data):
                    if not await self._on(frame):
                        return
        except spdy.SpdyError as exc:
            log.warning("kubelet.portforward_protocol_error", pod=self._ticket.pod_key, error=str(exc))
        finally:
            await cancel_and_wait(self._tasks)

    async def _send(self, data: bytes) -> None:
        async with self._send_lock:
            await self._ws.send_bytes(data)

    async def _on(self, frame: spdy.Frame) -> bool:
        if isinstance(frame, spdy.DataFrame):
            forward = self._by_stream.get(frame.stream_id)
            if forward is not None and frame.stream_id == forward.data_stream:
                if frame.data:
                    forward.inbound.put_nowait(frame.data)
                if frame.fin:
                    forward.inbound.put_nowait(None)
        elif frame.type == spdy.SYN_STREAM:
            await self._open_stream(frame)
        elif frame.type == spdy.RST_STREAM:
            await self._reset(frame.stream_id)
        elif frame.type == spdy.PING:
            await self._send(spdy.encode(frame))
        elif frame.type == spdy.GOAWAY:
            return False
        return True  # SETTINGS, WINDOW_UPDATE, HEADERS: nothing to do

    async def _open_stream(self, frame: spdy.ControlFrame) -> None:
        stream_id, headers = frame.stream_id, spdy.syn_stream_headers(frame, self._codec)
        await self._send(spdy.syn_reply(stream_id, self._codec))
        try:
            port = int(headers.get("port", ""))
        except ValueError:
            await self._send(spdy.rst_stream(stream_id))
            return
        request_id = headers.get("requestid", "")
        forward = self._forwards.setdefault(request_id, Forward(request_id, port))
        if headers.get("streamtype") == "error":
            forward.error_stream = stream_id
        else:
            forward.data_stream = stream_id
        self._by_stream[stream_id] = forward
        if forward.error_stream is not None and forward.data_stream is not None:
            forward.task = asyncio.create_task(self._forward(forward), name=f"portforward-{stream_id}")
            self._tasks.append(forward.task)

    async def _reset(self, stream_id: int) -> None:
        """kubectl is done with a stream: a reset data stream ends its connection to the pod."""
        forward = self._by_stream.pop(stream_id, None)
        if forward is None or stream_id != forward.data_stream:
            return
        if forward.task is not None:
            await cancel_and_wait([forward.task])
        await self._finish(forward)

    async def _forward(self, forward: Forward) -> None:
        assert forward.error_stream is not None and forward.data_stream is not None
        try:
            if self._ticket.ports and forward.port not in self._ticket.ports:
                raise OSError(f"port {forward.port} is not among the forwarded ports")
            reader, writer = await asyncio.open_connection(self._pod_ip, forward.port)
        except OSError as exc:
            detail = f"dial tcp {self._pod_ip}:{forward.port}: connect: {os.strerror(exc.errno).lower()}" \
                if exc.errno else str(exc)
            message = f"error forwarding port {forward.port} to pod {self._ticket.pod}, uid {self._ticket.uid}: {detail}"
            log.info("kubelet.portforward_failed", pod=self._ticket.pod_key, port=forward.port, error=detail)
            await self._send(spdy.data_frame(forward.error_stream, message.encode()))
            await self._finish(forward)
            return
        inbound = asyncio.create_task(_drain(forward.inbound, writer))
        try:
            while chunk := await reader.read(CHUNK):
                await self._send(spdy.data_frame(forward.data_stream, chunk))
            await self._finish(forward)
        finally:
            await cancel_and_wait([inbound])
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    async def _finish(self, forward: Forward) -> None:
        """The pod's side is done: FIN on the data stream, then on the error stream (once)."""
        if self._forwards.pop(forward.request_id, None) is None:
            return
        for stream_id in (forward.data_stream, forward.error_stream):
            if stream_id is not None and stream_id in self._by_stream:
                await self._send(spdy.data_frame(stream_id, fin=True))


async def _drain(inbound: asyncio.Queue[bytes | None], writer: asyncio.StreamWriter) -> None:
    """What kubelet sent, to the pod; its end of input as a half-close."""
    while (chunk := await inbound.get()) is not None:
        writer.write(chunk)
        await writer.drain()
    if writer.can_write_eof():
        writer.write_eof()
