"""A producer or consumer that starts while no broker answers waits for one (up to the
connect timeout) instead of failing its component: the broker here is reached through
a port that starts forwarding to the real broker only after the client began to start.
Seen in CI: a kubelet started just as the broker was SIGKILLed ended its process."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator

import pytest
from aiokafka.errors import KafkaConnectionError

from services.runtime.bus import make_consumer, make_producer
from services.runtime.config import Settings
from services.runtime.topics import Topics

pytestmark = pytest.mark.kafka


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        writer.close()


async def _forward(port: int, target: str) -> asyncio.Server:
    """Listen on `port` and pass every connection on to `target` (host:port)."""
    host, target_port = target.rsplit(":", 1)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(host, int(target_port))
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))

    return await asyncio.start_server(handle, "127.0.0.1", port)


@pytest.fixture
async def late_broker(settings: Settings) -> AsyncIterator[tuple[Settings, asyncio.Event]]:
    """Settings whose bootstrap address answers once the event is set."""
    port = _free_port()
    opened = asyncio.Event()
    servers: list[asyncio.Server] = []

    async def open_later() -> None:
        await opened.wait()
        servers.append(await _forward(port, settings.bootstrap_servers.split(",")[0]))

    task = asyncio.create_task(open_later())
    yield settings.model_copy(update={"bootstrap_servers": f"127.0.0.1:{port}"}), opened
    task.cancel()
    for server in servers:
        server.close()


async def test_a_producer_started_before_the_broker_answers_starts_when_it_does(
        late_broker: tuple[Settings, asyncio.Event]) -> None:
    late, opened = late_broker
    producer = make_producer(late)
    starting = asyncio.create_task(producer.start())
    await asyncio.sleep(1.2)
    assert not starting.done(), "the producer gave up (or reached a broker) while none answered"
    opened.set()
    await asyncio.wait_for(starting, 20)
    try:
        sent = await producer.send_and_wait(Topics(late.topic_prefix).events, b"x")
        assert sent.offset >= 0
    finally:
        await producer.stop()


async def test_a_consumer_gives_up_after_the_connect_timeout(settings: Settings) -> None:
    nowhere = settings.model_copy(update={"bootstrap_servers": f"127.0.0.1:{_free_port()}",
                                          "connect_timeout_s": 2.0})
    consumer = make_consumer(nowhere)
    began = time.monotonic()
    with pytest.raises(KafkaConnectionError):
        await consumer.start()
    assert 1.0 <= time.monotonic() - began < 10
    await consumer.stop()
