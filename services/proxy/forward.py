"""Userspace forwarding for one frontend: TCP (accept, pick a backend, copy both ways)
and UDP (a session per client address, each with its own socket to one backend).

A frontend's backends change under it (`balancer.update`); established TCP connections
and UDP sessions keep their backend (no connection is dropped by an endpoints change;
one to a vanished backend ends when that backend stops answering). Closing a frontend
(Service deleted) closes its listener and its connections. Used by `services.proxy.service`.

Limits (`policy.Limits`): a TCP connection takes a slot of its Service's `Budget`
(shared by all the Service's frontends) or is closed at once when none is left; one
with no byte in either direction for `idle_s` is closed. A UDP frontend keeps at most
`max_sessions` client sessions (datagrams of further clients are dropped until one
expires).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from typing import Any

from services.proxy.policy import Limits
from services.proxy.table import Backend, Frontend, RoundRobin
from services.runtime.logging import get_logger

log = get_logger(__name__)
CONNECT_TIMEOUT_S = 2.0
CONNECT_TRIES = 3
CHUNK = 64 * 1024


class Budget:
    """Connection slots of one Service; `full` says when the last refusal was logged."""

    def __init__(self, service: str, limit: int) -> None:
        self.service, self.limit, self.used = service, limit, 0
        self.full = False

    def take(self) -> bool:
        if self.used >= self.limit:
            if not self.full:
                log.warning("proxy.conn_limit", service=self.service, limit=self.limit)
            self.full = True
            return False
        self.used += 1
        return True

    def give_back(self) -> None:
        self.used -= 1
        if self.used < self.limit:
            self.full = False


class _Activity:
    """The last time a byte crossed a connection in either direction."""

    def __init__(self) -> None:
        self.last = time.monotonic()


class TcpFrontend:
    def __init__(self, frontend: Frontend, balancer: RoundRobin, *, budget: Budget | None = None,
                 idle_s: float = 3600.0) -> None:
        self.frontend, self.balancer = frontend, balancer
        self.budget = budget or Budget("", 1 << 30)
        self.idle_s = idle_s
        self._server: asyncio.Server | None = None
        self._conns: set[asyncio.Task[None]] = set()
        self.accepted = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._accept, self.frontend.ip, self.frontend.port, reuse_address=True, backlog=256)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._conns):
            task.cancel()
        await asyncio.gather(*self._conns, return_exceptions=True)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        if not self.budget.take():
            writer.close()
            return
        self._conns.add(task)
        self.accepted += 1
        try:
            upstream = await self._connect()
            if upstream is None:
                return
            up_reader, up_writer = upstream
            activity = _Activity()
            try:
                await asyncio.gather(_pipe(reader, up_writer, activity, self.idle_s),
                                     _pipe(up_reader, writer, activity, self.idle_s))
            finally:
                up_writer.close()
        except TimeoutError:  # before OSError, its base class
            log.info("proxy.idle_closed", frontend=_show(self.frontend), service=self.budget.service,
                     idle_s=self.idle_s)
        except (ConnectionError, OSError):
            pass
        finally:
            self.budget.give_back()
            self._conns.discard(task)
            writer.close()

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        """A connection to a backend, trying the next one when one refuses (as the
        userspace kube-proxy did); None when no backend answers."""
        tried: list[Backend] = []
        for _ in range(CONNECT_TRIES):
            backend = self.balancer.pick(exclude=tried)
            if backend is None:
                break
            tried.append(backend)
            try:
                return await asyncio.wait_for(asyncio.open_connection(backend.ip, backend.port),
                                              CONNECT_TIMEOUT_S)
            except (OSError, asyncio.TimeoutError) as exc:
                log.info("proxy.backend_failed", frontend=_show(self.frontend),
                         backend=f"{backend.ip}:{backend.port}", error=type(exc).__name__)
        if not tried:
            log.info("proxy.no_endpoints", frontend=_show(self.frontend))
        return None


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, activity: _Activity,
                idle_s: float) -> None:
    """Copy until EOF, then half-close the other side. TimeoutError when neither
    direction moved a byte for `idle_s` (the caller closes both sides)."""
    try:
        while data := await _read(reader, activity, idle_s):
            activity.last = time.monotonic()
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except TimeoutError:
        raise
    except (ConnectionError, OSError):
        writer.close()


async def _read(reader: asyncio.StreamReader, activity: _Activity, idle_s: float) -> bytes:
    while True:
        left = activity.last + idle_s - time.monotonic()
        if left <= 0:
            raise TimeoutError
        try:
            return await asyncio.wait_for(reader.read(CHUNK), left)
        except asyncio.TimeoutError:
            continue  # the other direction may have moved meanwhile: re-check


class UdpFrontend(asyncio.DatagramProtocol):
    """Datagrams from one client address go to one backend while the session lives;
    replies come back from the frontend address. Sessions idle for `idle_s` end."""

    def __init__(self, frontend: Frontend, balancer: RoundRobin, *, idle_s: float = 60.0,
                 max_sessions: int = 1024) -> None:
        self.frontend, self.balancer, self.idle_s = frontend, balancer, idle_s
        self.max_sessions = max_sessions
        self._full = False
        self._transport: asyncio.DatagramTransport | None = None
        self._sessions: dict[Any, _UdpSession] = {}
        self._sweeper: asyncio.Task[None] | None = None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.frontend.ip, self.frontend.port))
        await loop.create_datagram_endpoint(lambda: self, sock=sock)
        self._sweeper = asyncio.create_task(self._sweep())

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: Any) -> None:
        session = self._sessions.get(addr)
        if session is None or session.closed:
            if session is None and len(self._sessions) >= self.max_sessions:
                if not self._full:
                    log.warning("proxy.udp_session_limit", frontend=_show(self.frontend), limit=self.max_sessions)
                self._full = True
                return
            backend = self.balancer.pick()
            if backend is None:
                return
            session = self._sessions[addr] = _UdpSession(self, addr, backend)
            session.open()
        session.send(data)

    def reply(self, data: bytes, addr: Any) -> None:
        if self._transport is not None:
            self._transport.sendto(data, addr)

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(min(5.0, self.idle_s))
            now = time.monotonic()
            for addr, session in list(self._sessions.items()):
                if session.closed or now - session.last > self.idle_s:
                    session.close()
                    self._sessions.pop(addr, None)
            self._full = len(self._sessions) >= self.max_sessions

    async def close(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
        for session in self._sessions.values():
            session.close()
        self._sessions.clear()
        if self._transport is not None:
            self._transport.close()


class _UdpSession(asyncio.DatagramProtocol):
    def __init__(self, front: UdpFrontend, client: Any, backend: Backend) -> None:
        self.front, self.client, self.backend = front, client, backend
        self.last = time.monotonic()
        self.closed = False
        self._transport: asyncio.DatagramTransport | None = None
        self._pending: list[bytes] = []
        self._opening: asyncio.Task[Any] | None = None

    def open(self) -> None:
        loop = asyncio.get_running_loop()
        self._opening = asyncio.create_task(loop.create_datagram_endpoint(
            lambda: self, remote_addr=(self.backend.ip, self.backend.port)))
        self._opening.add_done_callback(self._opened)

    def _opened(self, task: asyncio.Task[Any]) -> None:
        if not task.cancelled() and task.exception() is not None:
            self.close()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = udp = transport  # type: ignore[assignment]
        for data in self._pending:
            udp.sendto(data)  # type: ignore[attr-defined]
        self._pending.clear()

    def send(self, data: bytes) -> None:
        self.last = time.monotonic()
        if self._transport is None:
            self._pending.append(data)
        else:
            self._transport.sendto(data)

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.last = time.monotonic()
        self.front.reply(data, self.client)

    def error_received(self, exc: Exception) -> None:  # e.g. ICMP port unreachable
        self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True

    def close(self) -> None:
        self.closed = True
        if self._transport is not None:
            self._transport.close()
        elif self._opening is not None:
            self._opening.cancel()


def _show(front: Frontend) -> str:
    return f"{front.ip}:{front.port}/{front.protocol}"


async def open_frontend(frontend: Frontend, balancer: RoundRobin, *, limits: Limits,
                        budget: Budget) -> TcpFrontend | UdpFrontend:
    front: TcpFrontend | UdpFrontend
    if frontend.protocol == "UDP":
        front = UdpFrontend(frontend, balancer, idle_s=limits.udp_idle_s, max_sessions=limits.udp_sessions_per_port)
    else:
        front = TcpFrontend(frontend, balancer, budget=budget, idle_s=limits.tcp_idle_s)
    await front.start()
    return front


async def close_quietly(front: TcpFrontend | UdpFrontend) -> None:
    with contextlib.suppress(Exception):
        await front.close()
