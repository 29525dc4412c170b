"""Kinds served at a version the store does not keep (`schemas.registry.CONVERTED_KINDS`:
autoscaling/v1 HorizontalPodAutoscalers, stored as autoscaling/v2), as kube-apiserver
serves them: a request at the served version is handled on the stored kind, its body
converted to the stored version before it is written (`intake`, `patched`) and every object
it answers converted back (`answer` for a response, `shown` for a watch's events). Pure
but for the aiohttp response it rewrites; used by `services.apiserver.resources` and
`services.apiserver.writes`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import orjson
from aiohttp import web

from schemas.autoscaling_v1 import from_v1, to_v1
from schemas.registry import ALL_KINDS, CONVERTED_KINDS, KindInfo
from services.apiserver.http import json_response
from services.apiserver.paths import ResourcePath

Obj = dict[str, Any]
Converter = Callable[[Obj], Obj]

_STORED = {(k.group, k.plural): k for k in ALL_KINDS}
_CONVERTERS: dict[tuple[str, str], tuple[Converter, Converter]] = {
    ("autoscaling/v1", "HorizontalPodAutoscaler"): (to_v1, from_v1),
}
"""(served apiVersion, kind): (stored -> served, served -> stored)."""


def stored(path: ResourcePath) -> ResourcePath:
    """The path on the stored kind, remembering the version served (`path.served`); as given
    when the path names the stored version."""
    if path.info not in CONVERTED_KINDS:
        return path
    return replace(path, info=_STORED[(path.info.group, path.info.plural)], served=path.info)


def _pair(served: KindInfo) -> tuple[Converter, Converter]:
    return _CONVERTERS[(served.api_version, served.kind)]


def intake(path: ResourcePath, body: Obj) -> Obj:
    """A body sent at the served version, at the stored one."""
    if path.served is None or body.get("apiVersion", path.served.api_version) != path.served.api_version:
        return body
    return _pair(path.served)[1](body)


def patched(path: ResourcePath, apply: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """A patch (or an apply) written against the served version, applied to a stored object
    (None: none yet)."""
    if path.served is None:
        return apply
    to_served, to_stored = _pair(path.served)

    def converted(current: Obj | None) -> Any:
        new = apply(None if current is None else to_served(current))
        return to_stored(new) if isinstance(new, dict) else new
    return converted


def served_object(path: ResourcePath, obj: Any) -> Any:
    """`obj` as the client sees it: a stored object (or a list, or a Table's row objects) at
    the served version; anything else (a Status, metadata) as it is."""
    if path.served is None or not isinstance(obj, dict):
        return obj
    stored_version, served_version = path.info.api_version, path.served.api_version
    if obj.get("kind") == path.info.kind and obj.get("apiVersion") == stored_version:
        return _pair(path.served)[0](obj)
    if obj.get("kind") == f"{path.info.kind}List" and obj.get("apiVersion") == stored_version:
        return {**obj, "apiVersion": served_version, "items": [served_object(path, o) for o in obj.get("items") or []]}
    if obj.get("kind") == "Table" and isinstance(obj.get("rows"), list):
        return {**obj, "rows": [{**r, "object": served_object(path, r.get("object"))} if "object" in r else r
                                for r in obj["rows"]]}
    return obj


async def shown(path: ResourcePath, objs: list[Obj]) -> list[Obj]:
    """A watch's objects at the served version."""
    return [served_object(path, o) for o in objs]


def answer(path: ResourcePath, response: web.StreamResponse) -> web.StreamResponse:
    """A JSON response with its objects at the served version (a stream: as it is; its
    events are converted by `shown`)."""
    if path.served is None or not isinstance(response, web.Response) or not isinstance(response.body, bytes) \
            or response.content_type != "application/json":
        return response
    converted = json_response(served_object(path, orjson.loads(response.body)), status=response.status)
    for name, value in response.headers.items():
        if name.lower() == "warning":
            converted.headers.add(name, value)
    return converted
