"""The CLI's Kafka side: publish manifests and wait for their answers, read
snapshots of state topics, follow events. No printing here."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from uuid import uuid4

import orjson
from aiokafka import TopicPartition

from schemas.records import DOCUMENT_ANNOTATION, OP_HEADER, REQUEST_ID_ANNOTATION, REQUEST_ID_HEADER, WriteRequest
from services.runtime.bus import encode, make_consumer, make_producer, partitions_of, wait_for_kafka
from services.runtime.config import Settings
from services.runtime.identity import token_headers
from services.runtime.informer import Informer
from services.runtime.topics import Topics


@dataclass(frozen=True, slots=True)
class Answer:
    """The API's answer to one document we published."""

    reason: str  # Created / Updated / Unchanged / Deleted / Rejected
    message: str
    status_reason: str | None
    event: dict[str, Any]

    @property
    def warnings(self) -> list[str]:
        """What the API admitted but warns about (PodSecurity `warn`), as kubectl prints it."""
        raw = (self.event.get("metadata", {}).get("annotations") or {}).get("kafkube.io/warnings")
        return list(orjson.loads(raw)) if raw else []


class Client:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.topics = Topics(settings.topic_prefix)

    async def connect(self) -> None:
        await wait_for_kafka(self.settings)

    async def publish(self, documents: list[bytes], *, op: str = "apply", timeout_s: float = 30.0,
                      extra_headers: list[tuple[str, bytes]] | None = None) -> list[Answer | None]:
        """Publish each document as one manifest record; return the answers in order
        (None where none came within the timeout)."""
        if not documents:
            return []
        request_ids = [uuid4().hex for _ in documents]
        waiting = {rid: i for i, rid in enumerate(request_ids)}
        answers: list[Answer | None] = [None] * len(documents)
        async with self._events_from_now() as events:
            async with make_producer(self.settings, linger_ms=0) as producer:
                for rid, doc in zip(request_ids, documents):
                    headers = [(REQUEST_ID_HEADER, rid.encode()), (OP_HEADER, op.encode()),
                               *token_headers(self.settings), *(extra_headers or [])]
                    await producer.send_and_wait(self.topics.manifests, value=doc, headers=headers)
            await self._collect(events, waiting, answers, timeout_s)
        return answers

    async def request(self, request: WriteRequest, *, timeout_s: float = 30.0) -> Answer | None:
        """Send one write request (or review) as this client's identity; its answer, or
        None if none came within the timeout."""
        answers: list[Answer | None] = [None]
        async with self._events_from_now() as events:
            async with make_producer(self.settings, linger_ms=0) as producer:
                await producer.send_and_wait(self.topics.requests, key=request.key.encode(), value=encode(request),
                                             headers=token_headers(self.settings))
            await self._collect(events, {request.id: 0}, answers, timeout_s)
        return answers[0]

    async def _collect(self, events: Any, waiting: dict[str, int],
                       answers: list[Answer | None], timeout_s: float) -> None:
        async def gather() -> None:
            async for event in read_events(events, follow=True):
                annotations = event.get("metadata", {}).get("annotations") or {}
                index = waiting.get(annotations.get(REQUEST_ID_ANNOTATION, ""))
                if index is None or annotations.get(DOCUMENT_ANNOTATION, "0") != "0":
                    continue
                answers[index] = Answer(event.get("reason", ""), event.get("message", ""),
                                        annotations.get("kafkube.io/status-reason"), event)
                if all(a is not None for a in answers):
                    return
        try:
            await asyncio.wait_for(gather(), timeout_s)
        except asyncio.TimeoutError:
            pass

    def _events_from_now(self) -> "_EventsCursor":
        return _EventsCursor(self.settings, self.topics.events, from_beginning=False)

    def events(self, *, from_beginning: bool = True) -> "_EventsCursor":
        return _EventsCursor(self.settings, self.topics.events, from_beginning=from_beginning)

    async def snapshot(self, plural: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """The desired and observed objects of one kind, as committed now."""
        desired, observed = self.topics.desired(plural), self.topics.observed(plural)
        view: Informer[Any] = Informer(self.settings, [desired, observed], follow=False, name="cli-get")
        async with view:
            await view.wait_synced()
            return dict(view.items(desired)), dict(view.items(observed))

    def watch(self, plural: str) -> Informer[Any]:
        return Informer(self.settings, [self.topics.desired(plural), self.topics.observed(plural)],
                        name="cli-watch")


class _EventsCursor:
    """An events consumer positioned at the beginning, or at the end as of now."""

    def __init__(self, settings: Settings, topic: str, *, from_beginning: bool) -> None:
        self._settings, self._topic, self._from_beginning = settings, topic, from_beginning
        self.consumer = make_consumer(settings)
        self.end: dict[TopicPartition, int] = {}

    async def __aenter__(self) -> "_EventsCursor":
        await self.consumer.start()
        parts = await partitions_of(self.consumer, self._topic)
        tps = [TopicPartition(self._topic, p) for p in sorted(parts)]
        self.consumer.assign(tps)
        self.end = await self.consumer.end_offsets(tps)
        if self._from_beginning:
            await self.consumer.seek_to_beginning(*tps)
        else:
            for tp, offset in self.end.items():
                self.consumer.seek(tp, offset)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.consumer.stop()

    async def caught_up(self) -> bool:
        for tp, end in self.end.items():
            if await self.consumer.position(tp) < end:
                return False
        return True


async def read_events(cursor: _EventsCursor, *, follow: bool) -> AsyncIterator[dict[str, Any]]:
    """Events from the cursor; without `follow`, stop at the end offsets of the start."""
    idle = 0
    while True:
        batches = await cursor.consumer.getmany(timeout_ms=300)
        for records in batches.values():
            for record in records:
                if record.value is not None:
                    try:
                        yield orjson.loads(record.value)
                    except orjson.JSONDecodeError:
                        continue
        idle = 0 if batches else idle + 1
        if not follow and (await cursor.caught_up() or idle >= 3):
            return
