"""The aiohttp application: health and discovery endpoints, the resource endpoints
(`services.apiserver.resources`), `kubectl auth can-i`'s review, the authentication
middleware (every path but the health checks needs a known bearer token: 401 otherwise)
and the one that turns every failure into a `Status`.
Built by `services.apiserver.service`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Middleware

from schemas.limits import MAX_REQUEST_BYTES, entity_too_large
from services.apiserver import aggregated, discovery, openapi_http, protobuf, reviews
from services.apiserver.audit import DoorAudit
from services.apiserver.auth import Door
from services.apiserver.http import PROTOBUF, BadBody, error, json_body, json_response, status_response
from services.apiserver.resources import Resources
from services.apiserver.status import failure, unauthorized
from services.apiserver.store import ObjectStore
from services.runtime.logging import get_logger
from services.runtime.metrics_http import request_metrics

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
log = get_logger(__name__)
PUBLIC = frozenset({"/healthz", "/livez", "/readyz"})


@web.middleware
async def errors_as_status(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every failure as a `Status`: aiohttp's own (413 for a body over 3 MiB, 405...) with
    its code, a fault of this server as a logged 500 InternalError."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        if exc.status == 413:
            return status_response(failure("RequestEntityTooLarge", entity_too_large()))
        reason = {405: "MethodNotAllowed", 404: "NotFound"}.get(exc.status, "BadRequest")
        return status_response(failure(reason, exc.reason, code=exc.status))
    except Exception as exc:  # noqa: BLE001 - one place turns a bug into an answer
        log.exception("apiserver.request_failed", method=request.method, path=request.path)
        return status_response(failure("InternalError", f"an error on the server ({type(exc).__name__}) "
                                       "has prevented the request from succeeding"))


def _authentication(door: Door) -> Middleware:
    @web.middleware
    async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path in PUBLIC:
            return await handler(request)
        tls = request.transport.get_extra_info("ssl_object") if request.transport else None
        caller = door.authenticate(request.headers.get("Authorization"), tls.getpeercert() if tls else None)
        if caller is None:
            return status_response(unauthorized())
        request["caller"] = caller
        return await handler(request)
    return authenticate


def _document(build: Callable[[], object]) -> Handler:
    async def serve(_request: web.Request) -> web.Response:
        return json_response(build())
    return serve


def _discovery_root(legacy: Callable[[], object], aggregated_document: Callable[[], object]) -> Handler:
    """`/api` or `/apis`: the aggregated v2 document when `Accept` asks for it, else the legacy one."""
    async def serve(request: web.Request) -> web.Response:
        if aggregated.wanted(request.headers.get("Accept", "")):
            response = json_response(aggregated_document())
            response.headers["Content-Type"] = aggregated.MEDIA_TYPE
        else:
            response = json_response(legacy())
        response.headers["Vary"] = "Accept"
        return response
    return serve


async def _group(request: web.Request) -> web.Response:
    found = discovery.group(request.match_info["group"])
    return json_response(found) if found else _not_found()


async def _resource_list(request: web.Request) -> web.Response:
    found = discovery.resource_list(request.match_info.get("group", ""), request.match_info["version"])
    return json_response(found) if found else _not_found()


def _not_found() -> web.Response:
    return status_response(failure("NotFound", "the server could not find the requested resource"))


def _review(door: Door) -> Handler:
    async def review(request: web.Request) -> web.Response:
        try:
            body = protobuf.access_review(await request.read()) if request.content_type == PROTOBUF \
                else await json_body(request)
        except (BadBody, protobuf.ProtobufError) as exc:
            return error(getattr(exc, "reason", "BadRequest"), str(exc))
        attrs = reviews.review_attributes(body)
        if attrs is None:
            return error("Invalid", "SelfSubjectAccessReview is invalid: spec: exactly one of "
                         "resourceAttributes or nonResourceAttributes must be set")
        allowed, reason = door.allowed(request["caller"], attrs)
        return json_response(reviews.answered(body, allowed, reason), status=201)
    return review


def _health(store: ObjectStore, *, ready: bool) -> Handler:
    async def health(_request: web.Request) -> web.Response:
        if ready and not store.synced:
            return web.Response(status=503, text="[-]informers not synced\nreadyz check failed")
        return web.Response(text="ok")
    return health


def build_app(store: ObjectStore, door: Door, resources: Resources, audit: DoorAudit) -> web.Application:
    app = web.Application(middlewares=[request_metrics, errors_as_status, audit.middleware(), _authentication(door)],
                          client_max_size=MAX_REQUEST_BYTES)
    router = app.router
    router.add_get("/healthz", _health(store, ready=False))
    router.add_get("/livez", _health(store, ready=False))
    router.add_get("/readyz", _health(store, ready=True))
    router.add_get("/version", _document(discovery.version))
    router.add_get("/api", _discovery_root(discovery.core_versions, aggregated.core))
    router.add_get("/apis", _discovery_root(discovery.group_list, aggregated.groups))
    router.add_get("/openapi/v2", openapi_http.v2)
    router.add_get("/openapi/v3", openapi_http.v3_index)
    router.add_get("/openapi/v3/{group_version:.+}", openapi_http.v3)
    router.add_get("/api/{version}", _resource_list)
    router.add_get("/apis/{group}", _group)
    router.add_get("/apis/{group}/{version}", _resource_list)
    router.add_post(f"/apis/{discovery.AUTHORIZATION_GROUP}/v1/selfsubjectaccessreviews", _review(door))
    router.add_route("*", "/api/v1/{tail:.+}", resources.handle)
    router.add_route("*", "/apis/{group}/{version}/{tail:.+}", resources.handle)
    return app
