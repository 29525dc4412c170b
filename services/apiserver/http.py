"""JSON responses and request bodies for the handlers: orjson bodies, `Status` errors
with their code (`services.apiserver.status`). Used by every handler module."""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from services.apiserver.status import CODES, failure


def json_response(body: Any, *, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(body), status=status, content_type="application/json")


def status_response(status: dict[str, Any]) -> web.Response:
    """A `Status` with the HTTP code it names."""
    return json_response(status, status=int(status.get("code") or 200))


def error(reason: str, message: str, *, name: str = "", group: str = "", kind: str = "") -> web.Response:
    return status_response(failure(reason, message, name=name, group=group, kind=kind))


class BadBody(ValueError):
    """A request body that is not the JSON object the verb needs (400 BadRequest;
    415 UnsupportedMediaType for a body in another encoding, `reason`)."""

    def __init__(self, message: str, *, reason: str = "BadRequest") -> None:
        super().__init__(message)
        self.reason = reason


PROTOBUF = "application/vnd.kubernetes.protobuf"


async def json_body(request: web.Request, *, kind: type = dict) -> Any:
    """The request's JSON body (an object, or with `kind=list` a list), or BadBody."""
    if request.content_type == PROTOBUF:
        raise BadBody(f"the body of the request was in an unknown format - accepted media types include: "
                      f"application/json, application/yaml ({PROTOBUF} is not served)", reason="UnsupportedMediaType")
    raw = await request.read()
    try:
        body = orjson.loads(raw) if raw else None
    except orjson.JSONDecodeError as exc:
        raise BadBody(f"the body of the request is not valid JSON: {exc}") from exc
    if not isinstance(body, kind):
        raise BadBody(f"the body of the request must be a JSON {'object' if kind is dict else 'list'}")
    return body


__all__ = ["CODES", "BadBody", "error", "json_body", "json_response", "status_response"]
