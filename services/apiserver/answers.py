"""Writes through the front door: a `WriteRequest` on `kafkube.requests` carrying the
HTTP caller's bearer token (`kafkube.token`), so the API authenticates, authorises and
admits it as every other write; the call returns when the API's answer event arrives on
`kafkube.events` (matched by request id). One events consumer per process, positioned at
the end when it starts and following from there, routes every answer to its waiter.
Used by `services.apiserver.resources`."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from time import perf_counter
from typing import Any

import orjson
from aiokafka import TopicPartition

from schemas.records import DOCUMENT_ANNOTATION, REQUEST_ID_ANNOTATION, WriteRequest
from services.apiserver.auth import Caller, request_headers
from services.runtime.bus import encode, make_consumer, make_producer, partitions_of
from services.runtime.config import Settings
from services.runtime.events import STATUS_REASON_ANNOTATION
from services.runtime.logging import get_logger
from services.runtime.metrics import APISERVER_WRITE_STAGE_SECONDS
from services.runtime.topics import Topics

log = get_logger(__name__)
REQUESTED, ANSWERED = (APISERVER_WRITE_STAGE_SECONDS.labels(stage) for stage in ("request", "answer"))


@dataclass(frozen=True, slots=True)
class Answer:
    """The API's answer to one request."""

    reason: str  # Created / Updated / Unchanged / Deleted / Rejected
    message: str
    status_reason: str | None  # on a rejection: NotFound, Conflict, Invalid, Forbidden...
    uid: str | None
    resource_version: str | None
    event: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)  # a review's answer is in it

    @property
    def rejected(self) -> bool:
        return self.reason == "Rejected"


def answer_of(event: dict[str, Any]) -> tuple[str, Answer] | None:
    """(request id, answer) of an answer event; None for any other event. Pure."""
    annotations = (event.get("metadata") or {}).get("annotations") or {}
    request_id = annotations.get(REQUEST_ID_ANNOTATION)
    if not request_id or annotations.get(DOCUMENT_ANNOTATION, "0") != "0":
        return None
    involved = event.get("involvedObject") or {}
    return request_id, Answer(event.get("reason", ""), event.get("message", ""),
                              annotations.get(STATUS_REASON_ANNOTATION), involved.get("uid"),
                              involved.get("resourceVersion"), event)


class Requests:
    """Send write requests as their HTTP caller and wait for the API's answers."""

    def __init__(self, settings: Settings) -> None:
        self._settings, self._topics = settings, Topics(settings.topic_prefix)
        self._producer = make_producer(settings, linger_ms=0)  # each request is waited for
        self._events = make_consumer(settings)
        self._waiting: dict[str, asyncio.Future[Answer]] = {}
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self._producer.start()
        await self._events.start()
        topic = self._topics.events
        tps = [TopicPartition(topic, p) for p in sorted(await partitions_of(self._events, topic))]
        self._events.assign(tps)
        for tp, offset in (await self._events.end_offsets(tps)).items():
            self._events.seek(tp, offset)
        self._task = asyncio.create_task(self._follow(), name="apiserver-answers")

    async def __aenter__(self) -> Requests:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def failed(self) -> None:
        """Return (raising its error) only if the answers consumer stopped: the process
        must then stop too, as every write would wait for an answer it cannot see."""
        assert self._task is not None
        await asyncio.shield(self._task)
        raise RuntimeError("the answers consumer stopped")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._events.stop()
        await self._producer.stop()

    async def send(self, request: WriteRequest, *, caller: Caller, timeout_s: float = 30.0) -> Answer | None:
        """Send `request` as `caller` (`auth.request_headers`: their token, or the
        apiserver's impersonating them); its answer, or None after `timeout_s`."""
        future: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        self._waiting[request.id] = future
        try:
            started = perf_counter()
            await self._producer.send_and_wait(self._topics.requests, key=request.key.encode(), value=encode(request),
                                               headers=request_headers(caller, self._settings.token))
            acknowledged = perf_counter()
            REQUESTED.observe(acknowledged - started)
            answer = await asyncio.wait_for(future, timeout_s)
            ANSWERED.observe(perf_counter() - acknowledged)
            return answer
        except asyncio.TimeoutError:
            log.warning("apiserver.no_answer", request=request.id, kind=request.kind, key=request.key)
            return None
        finally:
            self._waiting.pop(request.id, None)

    async def _follow(self) -> None:
        while True:
            batches = await self._events.getmany(timeout_ms=500)
            for records in batches.values():
                for record in records:
                    self._route(record.value)

    def _route(self, value: bytes | None) -> None:
        if not value or not self._waiting:
            return
        try:
            found = answer_of(orjson.loads(value))
        except orjson.JSONDecodeError:
            return
        if found is not None and (future := self._waiting.get(found[0])) is not None and not future.done():
            future.set_result(found[1])
