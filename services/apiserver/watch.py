"""`?watch=1`: a chunked stream of `{"type": ADDED|MODIFIED|DELETED|BOOKMARK|ERROR,
"object": ...}` lines from the `ObjectStore`'s change log.

Where it starts: no resourceVersion (or "0"), or `sendInitialEvents=true`: an ADDED for
every current object, then the changes (with `sendInitialEvents`, a BOOKMARK annotated
`k8s.io/initial-events-end` between them). Any resourceVersion this API gave out (a
list's, an object's, a bookmark's; from any replica, before or after a restart: they are
positions in Kafka, `services.apiserver.versions`): exactly the changes after it, none
skipped, none repeated. One whose changes the log no longer holds, or that is not a
position of the kind, gets the 410 Expired ERROR event, after which clients list again.
Events are filtered by namespace and selectors: an object that comes to match them is
sent as ADDED, one that stops matching as DELETED, as kube-apiserver does. Called by
`services.apiserver.resources`."""

from __future__ import annotations

import time
from typing import Any

import orjson
from aiohttp import web

from services.apiserver.paths import ResourcePath
from services.apiserver.reads import Shown
from schemas.selectors import Predicate
from services.apiserver.status import expired
from services.apiserver.store import Expired, ObjectStore, WatchEvent

DEFAULT_TIMEOUT_S = 1800.0  # kube-apiserver's --min-request-timeout
BOOKMARK_EVERY_S = 30.0
INITIAL_EVENTS_END = "k8s.io/initial-events-end"


def _line(kind: str, obj: dict[str, Any]) -> bytes:
    return orjson.dumps({"type": kind, "object": obj}) + b"\n"


def _bookmark(path: ResourcePath, rv: str, *, initial_end: bool = False) -> bytes:
    meta: dict[str, Any] = {"resourceVersion": rv}
    if initial_end:
        meta["annotations"] = {INITIAL_EVENTS_END: "true"}
    asked = path.served or path.info  # a converted kind's bookmark names the version watched
    return _line("BOOKMARK", {"kind": asked.kind, "apiVersion": asked.api_version, "metadata": meta})


def _mine(path: ResourcePath, wanted: Predicate, obj: dict[str, Any]) -> bool:
    return (not path.namespace or (obj.get("metadata") or {}).get("namespace") == path.namespace) and wanted(obj)


async def serve_watch(request: web.Request, store: ObjectStore, path: ResourcePath,
                      wanted: Predicate, *, shown: Shown | None = None) -> web.StreamResponse:
    query = request.query
    rv = query.get("resourceVersion", "")
    initial = query.get("sendInitialEvents") == "true" or rv in ("", "0")
    timeout_s = float(query.get("timeoutSeconds") or DEFAULT_TIMEOUT_S)
    bookmarks = query.get("allowWatchBookmarks") == "true"
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    response.enable_chunked_encoding()
    await response.prepare(request)
    try:
        cursor, since = store.seq, None  # with what is sent below: nothing runs in between
        if initial:
            objs = [o for o in store.objects(path.info, path.namespace) if wanted(o)]
            lines = [_line("ADDED", o) for o in (await shown(objs) if shown else objs)]
            if query.get("sendInitialEvents") == "true":
                lines.append(_bookmark(path, store.resource_version(path.info), initial_end=True))
        else:
            since = store.position_of(path.info, rv)
            lines = await _lines(store.after_position(path.info, since), path, wanted, since, shown)
        await response.write(b"".join(lines))
        await _follow(request, response, store, path, wanted, cursor, since, deadline=time.monotonic() + timeout_s,
                      bookmarks=bookmarks, shown=shown)
    except Expired as exc:
        await response.write(_line("ERROR", expired(str(exc))))
    except ConnectionResetError:
        pass  # the client went away
    return response


async def _lines(events: list[WatchEvent], path: ResourcePath, wanted: Predicate,
                 since: tuple[int, ...] | None, shown: Shown | None) -> list[bytes]:
    """The events of the watched kind that the client wants and has not had: on a slot
    where this replica is behind the position the client came with, the records up to
    that position were sent by whoever gave it out."""
    chosen = [(kind, e.object) for e in events if e.plural == path.info.plural
              and (since is None or e.offset >= since[e.slot]) and (kind := seen_as(e, path, wanted))]
    objs = [obj for _, obj in chosen]
    return [_line(kind, o) for (kind, _), o in zip(chosen, await shown(objs) if shown else objs)]


def seen_as(event: WatchEvent, path: ResourcePath, wanted: Predicate) -> str | None:
    """The event as this watch sees it: an object that comes to match its selectors is
    ADDED, one that stops matching is DELETED (as kube-apiserver's watch cache sends)."""
    now = _mine(path, wanted, event.object)
    if event.previous is None:
        return event.type if now else None
    before = _mine(path, wanted, event.previous)
    return "MODIFIED" if now and before else "ADDED" if now else "DELETED" if before else None


def _connected(request: web.Request) -> bool:
    """Is the client still there? A quiet watch notices a departure within a bookmark period."""
    return request.transport is not None and not request.transport.is_closing()


async def _follow(request: web.Request, response: web.StreamResponse, store: ObjectStore, path: ResourcePath,
                  wanted: Predicate, cursor: int, since: tuple[int, ...] | None, *, deadline: float,
                  bookmarks: bool, shown: Shown | None) -> None:
    quiet_since = time.monotonic()
    while (left := deadline - time.monotonic()) > 0 and _connected(request):
        events, cursor = store.after_seq(cursor), store.seq
        if lines := await _lines(events, path, wanted, since, shown):
            await response.write(b"".join(lines))
            quiet_since = time.monotonic()
        elif bookmarks and time.monotonic() - quiet_since >= BOOKMARK_EVERY_S:
            await response.write(_bookmark(path, store.resource_version(path.info, at_least=since)))
            quiet_since = time.monotonic()
        await store.changed(min(left, BOOKMARK_EVERY_S))
