"""`?watch=1`: a chunked stream of `{"type": ADDED|MODIFIED|DELETED|BOOKMARK|ERROR,
"object": ...}` lines from the `ObjectStore`'s change log.

Where it starts: no resourceVersion (or "0"), or `sendInitialEvents=true`: an ADDED for
every current object, then the changes (with `sendInitialEvents`, a BOOKMARK annotated
`k8s.io/initial-events-end` between them); a list's resourceVersion from this process:
exactly the changes after that list. Any other resourceVersion (an object's own, one
from another apiserver replica or process, one older than the log keeps) cannot be
served exactly and gets the 410 Expired ERROR event, after which clients list again.
Events are filtered by namespace and selectors as they are now (an object that stops
matching is not sent as DELETED). Called by `services.apiserver.resources`."""

from __future__ import annotations

import time
from typing import Any

import orjson
from aiohttp import web

from services.apiserver.paths import ResourcePath
from services.apiserver.selectors import Predicate
from services.apiserver.status import expired
from services.apiserver.store import Expired, ObjectStore

DEFAULT_TIMEOUT_S = 1800.0  # kube-apiserver's --min-request-timeout
BOOKMARK_EVERY_S = 30.0
INITIAL_EVENTS_END = "k8s.io/initial-events-end"


def _line(kind: str, obj: dict[str, Any]) -> bytes:
    return orjson.dumps({"type": kind, "object": obj}) + b"\n"


def _bookmark(path: ResourcePath, rv: str, *, initial_end: bool = False) -> bytes:
    meta: dict[str, Any] = {"resourceVersion": rv}
    if initial_end:
        meta["annotations"] = {INITIAL_EVENTS_END: "true"}
    return _line("BOOKMARK", {"kind": path.info.kind, "apiVersion": path.info.api_version, "metadata": meta})


def _mine(path: ResourcePath, wanted: Predicate, obj: dict[str, Any]) -> bool:
    return (not path.namespace or (obj.get("metadata") or {}).get("namespace") == path.namespace) and wanted(obj)


async def serve_watch(request: web.Request, store: ObjectStore, path: ResourcePath,
                      wanted: Predicate) -> web.StreamResponse:
    query = request.query
    rv = query.get("resourceVersion", "")
    initial = query.get("sendInitialEvents") == "true" or rv in ("", "0")
    timeout_s = float(query.get("timeoutSeconds") or DEFAULT_TIMEOUT_S)
    bookmarks = query.get("allowWatchBookmarks") == "true"
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    response.enable_chunked_encoding()
    await response.prepare(request)
    try:
        if initial:
            cursor = store.resource_version  # with the list below: nothing runs in between
            lines = [_line("ADDED", o) for o in store.objects(path.info, path.namespace) if wanted(o)]
            if query.get("sendInitialEvents") == "true":
                lines.append(_bookmark(path, cursor, initial_end=True))
            await response.write(b"".join(lines))
        else:
            store.since(rv)  # Expired now, before any event, when it cannot be served
            cursor = rv
        await _follow(request, response, store, path, wanted, cursor, deadline=time.monotonic() + timeout_s,
                      bookmarks=bookmarks)
    except Expired as exc:
        await response.write(_line("ERROR", expired(str(exc))))
    except ConnectionResetError:
        pass  # the client went away
    return response


def _connected(request: web.Request) -> bool:
    """Is the client still there? A quiet watch notices a departure within a bookmark period."""
    return request.transport is not None and not request.transport.is_closing()


async def _follow(request: web.Request, response: web.StreamResponse, store: ObjectStore, path: ResourcePath,
                  wanted: Predicate, cursor: str, *, deadline: float, bookmarks: bool) -> None:
    quiet_since = time.monotonic()
    while (left := deadline - time.monotonic()) > 0 and _connected(request):
        events, cursor = store.since(cursor), store.resource_version
        lines = [_line(e.type, e.object) for e in events
                 if e.plural == path.info.plural and _mine(path, wanted, e.object)]
        if lines:
            await response.write(b"".join(lines))
            quiet_since = time.monotonic()
        elif bookmarks and time.monotonic() - quiet_since >= BOOKMARK_EVERY_S:
            await response.write(_bookmark(path, cursor))
            quiet_since = time.monotonic()
        await store.changed(min(left, BOOKMARK_EVERY_S))
