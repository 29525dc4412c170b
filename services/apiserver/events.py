"""Events over HTTP: core `v1` and `events.k8s.io/v1` Events (get, list, watch) from
`kafkube.events`, apart from the object store of compacted topics. One consumer reads the
topic's retained window from its beginning and follows it; the newest events are held in
an `EventLog` (bounded), whose positions are the lists' resourceVersions. Called by
`services.apiserver.resources` once RBAC allowed the read; built by
`services.apiserver.service`."""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import datetime, timezone
from typing import Any

import orjson
from aiohttp import web
from aiokafka import TopicPartition

from services.apiserver import reads, tables
from services.apiserver.changelog import Expired
from services.apiserver.event_log import EventLog
from services.apiserver.event_objects import EVENT_COLUMNS, EVENTS_GROUP, as_events_v1, event_row, user_event
from services.apiserver.http import error, json_response
from services.apiserver.paths import ResourcePath
from schemas.selectors import SelectorError
from services.apiserver.status import expired, not_found
from services.runtime.bus import make_consumer, partitions_of
from services.runtime.config import Settings
from services.runtime.logging import get_logger
from services.runtime.topics import Topics

Obj = dict[str, Any]
log = get_logger(__name__)
WATCH_TIMEOUT_S = 1800.0  # kube-apiserver's --min-request-timeout
BOOKMARK_EVERY_S = 30.0


class EventStore:
    """The newest events of `kafkube.events`, read from the beginning of what it retains."""

    def __init__(self, settings: Settings) -> None:
        self._topic = Topics(settings.topic_prefix).events
        self._consumer = make_consumer(settings)
        self._log = EventLog(0)
        self._tick = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def log(self) -> EventLog:
        return self._log

    async def __aenter__(self) -> EventStore:
        """Start following, and return once the topic is read to its end as of now."""
        await self._consumer.start()
        try:
            tps = [TopicPartition(self._topic, p) for p in sorted(await partitions_of(self._consumer, self._topic))]
            self._consumer.assign(tps)
            await self._consumer.seek_to_beginning(*tps)
            self._log = EventLog(len(tps))
            for tp, end in (await self._consumer.end_offsets(tps)).items():
                while await self._consumer.position(tp) < end:
                    await self._read()
        except BaseException:
            await self._consumer.stop()
            raise
        self._task = asyncio.create_task(self._follow(), name="apiserver-events")
        log.info("apiserver.events_read", topic=self._topic, held=len(self._log.events()),
                 position=self._log.resource_version)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._consumer.stop()

    async def failed(self) -> None:
        """Return (raising its error) only if the events consumer stopped: the process must
        then stop too, as it would serve ever older events."""
        assert self._task is not None
        await asyncio.shield(self._task)
        raise RuntimeError("the events consumer stopped")

    async def changed(self, timeout_s: float) -> None:
        """Return when an event arrives or after `timeout_s`."""
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._tick.wait(), timeout_s)

    async def _follow(self) -> None:
        while True:
            await self._read()

    async def _read(self) -> None:
        batches = await self._consumer.getmany(timeout_ms=500)
        added = False
        for tp, records in batches.items():
            for record in records:
                event = _decoded(record.value)
                if event is not None and user_event(event):
                    self._log.add(tp.partition, record.offset, event)
                    added = True
                else:
                    self._log.passed(tp.partition, record.offset)
        if added:
            self._tick.set()
            self._tick = asyncio.Event()


def _decoded(value: bytes | None) -> Obj | None:
    try:
        found = orjson.loads(value) if value else None
    except orjson.JSONDecodeError:
        return None
    return found if isinstance(found, dict) else None


def _shaped(path: ResourcePath, event: Obj) -> Obj:
    return as_events_v1(event) if path.info.group == EVENTS_GROUP else event


def _table(request: web.Request, events: list[Obj], shaped: list[Obj], rv: str, cont: str) -> Obj:
    now, include = datetime.now(timezone.utc), request.query.get("includeObject", "Metadata")
    rows = []
    for event, shown in zip(events, shaped):
        row: Obj = {"cells": event_row(event, now)}
        if include == "Object":
            row["object"] = shown
        elif include != "None":
            row["object"] = {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                             "metadata": shown["metadata"]}
        rows.append(row)
    metadata = {"resourceVersion": rv, **({"continue": cont} if cont else {})}
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": metadata,
            "columnDefinitions": EVENT_COLUMNS, "rows": rows}


def _get(request: web.Request, store: EventStore, path: ResourcePath) -> web.Response:
    event = store.log.get(path.namespace, path.name)
    if event is None:
        return json_response(not_found(path.info.plural, path.info.group, path.name), status=404)
    rv = str(event["metadata"]["resourceVersion"])
    if tables.wants_table(request.headers.get("Accept", "")):
        return json_response(_table(request, [event], [_shaped(path, event)], rv, ""))
    return json_response(_shaped(path, event))


def _list(request: web.Request, store: EventStore, path: ResourcePath) -> web.Response:
    try:
        wanted = reads.predicate(request.query, path)
        limit = int(request.query.get("limit") or 0)
        after = reads.decode_continue(request.query["continue"]) if request.query.get("continue") else ""
    except (SelectorError, ValueError) as exc:
        return error("BadRequest", str(exc))
    rv = store.log.resource_version
    pairs = {_key(e): (e, s) for e in store.log.events(path.namespace) if wanted(s := _shaped(path, e))}
    chosen, cont = reads.page([s for _, s in pairs.values()], limit=limit, after=after)
    if tables.wants_table(request.headers.get("Accept", "")):
        return json_response(_table(request, [pairs[_key(s)][0] for s in chosen], chosen, rv, cont))
    metadata = {"resourceVersion": rv, **({"continue": cont} if cont else {})}
    return json_response({"kind": "EventList", "apiVersion": path.info.api_version, "metadata": metadata,
                          "items": chosen})


def _key(event: Obj) -> str:
    return f"{event['metadata']['namespace']}/{event['metadata']['name']}"


def _line(kind: str, obj: Obj) -> bytes:
    return orjson.dumps({"type": kind, "object": obj}) + b"\n"


async def _watch(request: web.Request, store: EventStore, path: ResourcePath) -> web.StreamResponse:
    try:
        wanted = reads.predicate(request.query, path)
    except SelectorError as exc:
        return error("BadRequest", str(exc))
    query = request.query
    rv = query.get("resourceVersion", "")
    initial = query.get("sendInitialEvents") == "true" or rv in ("", "0")
    deadline = time.monotonic() + float(query.get("timeoutSeconds") or WATCH_TIMEOUT_S)
    bookmarks = query.get("allowWatchBookmarks") == "true"
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    response.enable_chunked_encoding()
    await response.prepare(request)

    def mine(events: list[Obj]) -> bytes:
        here = (e for e in events if not path.namespace or e["metadata"]["namespace"] == path.namespace)
        shaped = (_shaped(path, e) for e in here)
        return b"".join(_line("ADDED", s) for s in shaped if wanted(s))

    def bookmark(initial_end: bool = False) -> bytes:
        meta: Obj = {"resourceVersion": store.log.resource_version}
        if initial_end:
            meta["annotations"] = {"k8s.io/initial-events-end": "true"}
        return _line("BOOKMARK", {"kind": "Event", "apiVersion": path.info.api_version, "metadata": meta})

    try:
        seq = store.log.seq  # with the reads below: nothing runs in between
        if initial:
            first = mine(store.log.events(path.namespace))
            if query.get("sendInitialEvents") == "true":
                first += bookmark(initial_end=True)
        else:
            first = mine([h.event for h in store.log.after_position(rv)])
        await response.write(first)
        quiet_since = time.monotonic()
        while (left := deadline - time.monotonic()) > 0 and request.transport is not None \
                and not request.transport.is_closing():
            newer = store.log.after_seq(seq)
            if newer:
                seq = newer[-1].seq
            if lines := mine([h.event for h in newer]):
                await response.write(lines)
                quiet_since = time.monotonic()
            elif bookmarks and time.monotonic() - quiet_since >= BOOKMARK_EVERY_S:
                await response.write(bookmark())
                quiet_since = time.monotonic()
            await store.changed(min(left, BOOKMARK_EVERY_S))
    except Expired as exc:
        await response.write(_line("ERROR", expired(str(exc))))
    except ConnectionResetError:
        pass  # the client went away
    return response


async def serve_events(request: web.Request, store: EventStore, path: ResourcePath) -> web.StreamResponse:
    """GET of one Event, a list, or a watch (RBAC already allowed it)."""
    if request.query.get("watch") in ("1", "true"):
        return await _watch(request, store, path)
    if path.name:
        return _get(request, store, path)
    return _list(request, store, path)
