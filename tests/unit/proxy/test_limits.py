"""The proxy's limits on real sockets (loopback, no privileges): a Service's TCP
connection cap and idle timeout, the UDP session cap with idle expiry, and the DNS
server's TCP read timeout and connection cap."""

from __future__ import annotations

import asyncio
import socket
import struct
import time

from dnslib import DNSRecord

from services.proxy.dns import DnsServer, DnsView
from services.proxy.forward import Budget, TcpFrontend, UdpFrontend
from services.proxy.table import Backend, Frontend, RoundRobin
from tests.unit.proxy.test_forward import free_port, udp_echo


async def echo_server() -> tuple[asyncio.Server, Backend]:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(100):
            writer.write(data)
            await writer.drain()
        writer.close()
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, Backend("127.0.0.1", server.sockets[0].getsockname()[1])


async def roundtrip(writer: asyncio.StreamWriter, reader: asyncio.StreamReader, data: bytes) -> bytes:
    writer.write(data)
    await writer.drain()
    return await asyncio.wait_for(reader.read(100), 2)


async def test_a_service_takes_at_most_its_connections() -> None:
    server, target = await echo_server()
    budget = Budget("default/web", 2)
    fronts = [TcpFrontend(Frontend("127.0.0.1", free_port(), "TCP"), RoundRobin((target,)), budget=budget)
              for _ in range(2)]  # two frontends (a ClusterIP and a NodePort) share the Service's budget
    for front in fronts:
        await front.start()
    try:
        held = [await asyncio.open_connection("127.0.0.1", f.frontend.port) for f in fronts]
        for reader, writer in held:
            assert await roundtrip(writer, reader, b"hi") == b"hi"
        reader, writer = await asyncio.open_connection("127.0.0.1", fronts[0].frontend.port)
        assert await asyncio.wait_for(reader.read(100), 2) == b""  # closed at once: over the limit
        assert budget.full and budget.used == 2
        held[0][1].close()
        for _ in range(50):
            if budget.used < 2:
                break
            await asyncio.sleep(0.05)
        reader, writer = await asyncio.open_connection("127.0.0.1", fronts[1].frontend.port)
        assert await roundtrip(writer, reader, b"again") == b"again"
        writer.close()
        held[1][1].close()
    finally:
        for front in fronts:
            await front.close()
        server.close()


async def test_idle_connections_are_closed_busy_ones_are_not() -> None:
    server, target = await echo_server()
    front = TcpFrontend(Frontend("127.0.0.1", free_port(), "TCP"), RoundRobin((target,)), idle_s=0.5)
    await front.start()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", front.frontend.port)
        for _ in range(6):  # 1.2 s of traffic, longer than idle_s
            assert await roundtrip(writer, reader, b"x") == b"x"
            await asyncio.sleep(0.2)
        started = time.monotonic()
        assert await asyncio.wait_for(reader.read(100), 3) == b""  # then silence: closed
        assert 0.2 < time.monotonic() - started < 2.0  # idle_s after the last byte (0.2 s before)
        assert front.budget.used == 0
    finally:
        await front.close()
        server.close()


async def test_udp_sessions_are_capped_and_expire() -> None:
    loop = asyncio.get_running_loop()
    echo, target = await udp_echo()
    front = UdpFrontend(Frontend("127.0.0.1", free_port(socket.SOCK_DGRAM), "UDP"), RoundRobin((target,)),
                        idle_s=0.5, max_sessions=1)
    await front.start()
    first, second = (socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(2))
    for s in (first, second):
        s.settimeout(0.5)
    address = ("127.0.0.1", front.frontend.port)

    async def ask(client: socket.socket, word: bytes) -> bytes | None:
        client.sendto(word, address)
        try:
            return await loop.run_in_executor(None, client.recv, 100)
        except TimeoutError:
            return None
    try:
        assert await ask(first, b"a") == b"echo:a"
        assert await ask(second, b"b") is None  # the one session slot is taken
        await asyncio.sleep(1.2)  # first's session expires
        assert await ask(second, b"c") == b"echo:c"
    finally:
        first.close()
        second.close()
        await front.close()
        echo.close()


async def test_dns_over_tcp_times_out_silent_clients_and_caps_connections() -> None:
    server = DnsServer("127.0.0.1", free_port(), DnsView("cluster.local", {"web.default.svc.cluster.local": ("10.96.0.5",)}),
                       max_tcp=1, read_s=0.5)
    await server.start()
    try:
        silent_r, silent_w = await asyncio.open_connection("127.0.0.1", server.port)
        await asyncio.sleep(0.05)
        other_r, _ = await asyncio.open_connection("127.0.0.1", server.port)
        assert await asyncio.wait_for(other_r.read(10), 0.4) == b""  # over the cap: closed at once
        started = time.monotonic()
        assert await asyncio.wait_for(silent_r.read(10), 3) == b""  # silent: closed after read_s
        assert 0.3 < time.monotonic() - started < 2.0
        slow_r, slow_w = await asyncio.open_connection("127.0.0.1", server.port)
        slow_w.write(struct.pack("!H", 40) + b"\x00\x01")  # promises 40 bytes, sends 2
        await slow_w.drain()
        assert await asyncio.wait_for(slow_r.read(10), 3) == b""
        await asyncio.sleep(0.05)
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        query = DNSRecord.question("web.default.svc.cluster.local").pack()
        writer.write(struct.pack("!H", len(query)) + query)
        size = struct.unpack("!H", await asyncio.wait_for(reader.readexactly(2), 2))[0]
        reply = DNSRecord.parse(await reader.readexactly(size))
        assert str(reply.rr[0].rdata) == "10.96.0.5"
        writer.close()
        silent_w.close()
        slow_w.close()
    finally:
        await server.close()
