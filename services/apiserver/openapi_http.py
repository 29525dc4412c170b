"""`/openapi/v2`, `/openapi/v3` and `/openapi/v3/<api/v1|apis/<group>/<version>>` over
HTTP: the documents of `services.apiserver.openapi` as JSON, with their hash as ETag
(`If-None-Match` answers 304) and, when the URL names the current hash as the v3 index
does, cached as immutable (what kube-apiserver does, and kubectl's cache relies on).
Only JSON is served: a client that accepts nothing but protobuf (client-go's
`OpenAPISchema()` asks for `application/com.github.proto-openapi.spec.v2@v1.0+protobuf`)
gets 406 NotAcceptable, on which kubectl falls back to its built-in types.
Registered by `services.apiserver.app`."""

from __future__ import annotations

from aiohttp import web

from services.apiserver import openapi
from services.apiserver.http import error

IMMUTABLE = "public, immutable, max-age=31536000"
REVALIDATE = "no-cache, private"


def _accepts_json(request: web.Request) -> bool:
    accept = request.headers.get("Accept", "")
    return not accept or any(part.split(";")[0].strip() in ("application/json", "application/*", "*/*")
                             for part in accept.split(","))


def _served(request: web.Request, document: openapi.Published) -> web.Response:
    if not _accepts_json(request):
        return error("NotAcceptable", "only the following media types are accepted: application/json")
    etag = f'"{document.hash}"'
    cache = IMMUTABLE if request.query.get("hash") == document.hash else REVALIDATE
    headers = {"ETag": etag, "Cache-Control": cache}
    if request.headers.get("If-None-Match") == etag:
        return web.Response(status=304, headers=headers)
    return web.Response(body=document.body, content_type="application/json", headers=headers)


async def v2(request: web.Request) -> web.Response:
    return _served(request, openapi.v2())


async def v3_index(request: web.Request) -> web.Response:
    return _served(request, openapi.v3_index())


async def v3(request: web.Request) -> web.Response:
    document = openapi.v3_documents().get(request.match_info["group_version"])
    if document is None:
        return error("NotFound", "the server could not find the requested resource")
    return _served(request, document)
