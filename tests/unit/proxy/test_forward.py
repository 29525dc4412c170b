"""Userspace forwarding on loopback (no privileges): TCP spread over backends, a
refusing backend skipped, UDP sessions relayed both ways."""

from __future__ import annotations

import asyncio
import socket

from services.proxy.forward import TcpFrontend, UdpFrontend
from services.proxy.table import Backend, Frontend, RoundRobin


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def backend(tag: bytes) -> tuple[asyncio.Server, int]:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        data = await reader.read(100)
        writer.write(tag + b":" + data)
        await writer.drain()
        writer.close()
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


class _Echo(asyncio.DatagramProtocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: object) -> None:
        self.transport.sendto(b"echo:" + data, addr)  # type: ignore[attr-defined]


async def udp_echo() -> tuple[asyncio.DatagramTransport, Backend]:
    """A UDP server on loopback that answers `echo:<datagram>`, and it as a backend."""
    echo, _ = await asyncio.get_running_loop().create_datagram_endpoint(_Echo, local_addr=("127.0.0.1", 0))
    return echo, Backend("127.0.0.1", echo.get_extra_info("sockname")[1])


async def call(port: int, data: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    await writer.drain()
    writer.write_eof()
    reply = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    return reply


async def test_tcp_spreads_over_backends_and_skips_a_dead_one() -> None:
    servers = [await backend(t) for t in (b"a", b"b")]
    dead = Backend("127.0.0.1", free_port())
    balancer = RoundRobin((Backend("127.0.0.1", servers[0][1]), Backend("127.0.0.1", servers[1][1]), dead))
    front = TcpFrontend(Frontend("127.0.0.1", free_port(), "TCP"), balancer)
    await front.start()
    try:
        replies = [await call(front.frontend.port, b"hi") for _ in range(6)]
        assert sorted(set(replies)) == [b"a:hi", b"b:hi"]
        assert replies.count(b"a:hi") >= 2 and replies.count(b"b:hi") >= 2
        balancer.update(())
        try:  # no endpoints: closed at once (a reset, as the client's data was never read)
            assert await call(front.frontend.port, b"hi") == b""
        except ConnectionResetError:
            pass
    finally:
        await front.close()
        for server, _ in servers:
            server.close()


async def test_udp_sessions_relay_replies() -> None:
    loop = asyncio.get_running_loop()
    echo, target = await udp_echo()
    front = UdpFrontend(Frontend("127.0.0.1", free_port(socket.SOCK_DGRAM), "UDP"), RoundRobin((target,)))
    await front.start()
    client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    client.settimeout(3)
    try:
        for word in (b"one", b"two"):
            client.sendto(word, ("127.0.0.1", front.frontend.port))
            data = await loop.run_in_executor(None, client.recv, 100)
            assert data == b"echo:" + word
    finally:
        client.close()
        await front.close()
        echo.close()
