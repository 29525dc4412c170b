"""Asking the API a question on the bus, as a kubelet does (a TokenRequest, a
SecretRequest): send the request, read its answer event from the one partition of
`kafkube.events` it lands on (events are keyed by their involved object), matched by
request id. Used by services.kubelet.tokens and services.kubelet.secrets."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from aiokafka import TopicPartition

from schemas.records import REQUEST_ID_ANNOTATION, WriteRequest
from services.runtime.bus import make_consumer, partition_for, partitions_of
from services.runtime.config import Settings
from services.runtime.events import event_key, involved_object
from services.runtime.topics import Topics

Send = Callable[[WriteRequest], Awaitable[None]]


class QuestionTimeout(Exception):
    """The API did not answer in time."""


async def ask_api(settings: Settings, send: Send, request: WriteRequest, *, timeout_s: float) -> dict[str, Any]:
    """Send `request` (with `send`: the emitter's, which carries the node's token); its answer event."""
    events = Topics(settings.topic_prefix).events
    involved = involved_object(api_version=request.api_version, kind=request.kind, name=request.name,
                               namespace=request.namespace)
    consumer = make_consumer(settings)
    await consumer.start()
    try:
        partitions = await partitions_of(consumer, events)
        tp = TopicPartition(events, partition_for(event_key(involved), len(partitions)))
        consumer.assign([tp])
        end = (await consumer.end_offsets([tp]))[tp]
        consumer.seek(tp, end)
        await send(request)
        return await asyncio.wait_for(_answer(consumer, request.id), timeout_s)
    except asyncio.TimeoutError:
        raise QuestionTimeout(f"no answer to the {request.kind} for {request.key} within {timeout_s:.0f}s") from None
    finally:
        await consumer.stop()


async def _answer(consumer: Any, request_id: str) -> dict[str, Any]:
    while True:
        batches = await consumer.getmany(timeout_ms=500)
        for records in batches.values():
            for record in records:
                try:
                    event = orjson.loads(record.value or b"null")
                except orjson.JSONDecodeError:
                    continue
                if isinstance(event, dict) and ((event.get("metadata") or {}).get("annotations") or {}).get(
                        REQUEST_ID_ANNOTATION) == request_id:
                    return event
