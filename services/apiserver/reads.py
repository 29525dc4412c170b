"""GET of one object and LIST of a collection, from the `ObjectStore`: label and field
selectors, `limit`/`continue` (a page continues after the last key it held, over the
live store: a later page sees writes made since the first), and a server-side `Table`
when the client asks for one. Called by `services.apiserver.resources` once RBAC allowed
the read."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from typing import Any

from aiohttp import web

from services.apiserver import tables
from services.apiserver.event_objects import event_fields
from services.apiserver.http import error, json_response
from services.apiserver.paths import ResourcePath
from schemas.selectors import Predicate, SelectorError, field_selector, label_selector
from services.apiserver.status import not_found
from services.apiserver.store import ObjectStore

Obj = dict[str, Any]
Shown = Callable[[list[Obj]], Awaitable[list[Obj]]]  # objects as this caller sees them (a Secret's values)


def key_of(path: ResourcePath, name: str | None = None) -> str:
    name = name if name is not None else path.name
    return f"{path.namespace}/{name}" if path.info.namespaced else name


def _key(obj: Obj) -> str:
    meta = obj.get("metadata") or {}
    return f"{meta['namespace']}/{meta['name']}" if meta.get("namespace") else str(meta.get("name", ""))


def encode_continue(key: str) -> str:
    return base64.urlsafe_b64encode(key.encode()).decode()


def decode_continue(token: str) -> str:
    """The last key of the previous page; ValueError for a token this server did not write."""
    try:
        return base64.urlsafe_b64decode(token.encode()).decode()
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise ValueError(f"invalid continue token: {exc}") from exc


def page(objs: list[Obj], *, limit: int, after: str) -> tuple[list[Obj], str]:
    """The objects after key `after` (objs sorted by key), at most `limit` (0: all), and
    the continue token of the next page ("" when this is the last). Pure."""
    rest = [o for o in objs if _key(o) > after] if after else objs
    if limit <= 0 or len(rest) <= limit:
        return rest, ""
    chosen = rest[:limit]
    return chosen, encode_continue(_key(chosen[-1]))


def predicate(query: Any, path: ResourcePath) -> Predicate:
    """The selectors of a list or watch (and its object's name, on a named watch), or SelectorError."""
    labels = label_selector(query.get("labelSelector"))
    fields = field_selector(query.get("fieldSelector"), event_fields(path.info))
    name = path.name
    return lambda o: labels(o) and fields(o) and (not name or (o.get("metadata") or {}).get("name") == name)


async def _render(request: web.Request, path: ResourcePath, objs: list[Obj], *, rv: str, cont: str = "",
                  remaining: int = 0, single: bool = False, shown: Shown | None = None) -> web.Response:
    table = tables.wants_table(request.headers.get("Accept", ""))
    if shown is not None and (not table or request.query.get("includeObject") == "Object"):
        objs = await shown(objs)
    if table:
        return json_response(tables.table(path.info.plural, objs, now=datetime.now(timezone.utc), resource_version=rv,
                                          include_object=request.query.get("includeObject", "Metadata"),
                                          continue_token=cont))
    if single:
        return json_response(objs[0])
    metadata = {"resourceVersion": rv, **({"continue": cont, "remainingItemCount": remaining} if cont else {})}
    return json_response({"kind": f"{path.info.kind}List", "apiVersion": path.info.api_version,
                          "metadata": metadata, "items": objs})


async def get_one(request: web.Request, store: ObjectStore, path: ResourcePath, *,
                  shown: Shown | None = None) -> web.Response:
    obj = store.get(path.info, key_of(path))
    if obj is None:
        return _not_found(path)
    return await _render(request, path, [obj], rv=str((obj.get("metadata") or {}).get("resourceVersion", "")),
                         single=True, shown=shown)


def _not_found(path: ResourcePath) -> web.Response:
    status = not_found(path.info.plural, path.info.group, path.name)
    return json_response(status, status=404)


async def list_all(request: web.Request, store: ObjectStore, path: ResourcePath, *,
                   shown: Shown | None = None) -> web.Response:
    try:
        wanted = predicate(request.query, path)
        limit = int(request.query.get("limit") or 0)
        after = decode_continue(request.query["continue"]) if request.query.get("continue") else ""
    except (SelectorError, ValueError) as exc:
        return error("BadRequest", str(exc))
    rv = store.resource_version(path.info)  # taken with the list: nothing runs in between
    objs = [o for o in store.objects(path.info, path.namespace) if wanted(o)]
    chosen, cont = page(objs, limit=limit, after=after)
    remaining = sum(1 for o in objs if _key(o) > _key(chosen[-1])) if cont else 0
    return await _render(request, path, chosen, rv=rv, cont=cont, remaining=remaining, shown=shown)
