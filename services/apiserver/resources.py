"""The resource endpoints under `/api/v1/...` and `/apis/<group>/<version>/...`: parse
the path (`services.apiserver.paths`), authorise reads at the door with RBAC, and hand
the request to `reads`, `watch` or `writes`. Registered by `services.apiserver.app`."""

from __future__ import annotations

from functools import partial

from aiohttp import web

from schemas.metrics import METRICS_GROUP
from services.api.rbac import Attributes
from services.apiserver import conversion, fieldvalidation, reads, watch, writes
from services.apiserver.auth import Caller, Door
from services.apiserver.deletecollection import delete_collection
from services.apiserver.events import EventStore, serve_events
from services.apiserver.eviction import serve_eviction
from services.apiserver.http import error, status_response
from services.apiserver.logs import serve_log
from services.apiserver.metrics_api import serve_metrics
from services.apiserver.scale import SCALABLE, serve_scale
from services.apiserver.paths import ResourcePath, UnknownPath, parse
from schemas.selectors import SelectorError
from services.apiserver.stream_proxy import StreamProxy
from services.apiserver.streams import STREAMS
from services.apiserver.status import failure
from services.apiserver.store import ObjectStore
from services.apiserver.tokenrequest import serve_token
from services.runtime.config import Settings
from services.runtime.metrics_feed import LatestMetrics

WRITES = {"POST": writes.create, "PUT": writes.update, "PATCH": writes.patch, "DELETE": writes.delete}


def read_verb(path: ResourcePath, watching: bool) -> str:
    """RBAC's verb of a GET: get (one object), list, or watch."""
    return "watch" if watching else "get" if path.name else "list"


def _unknown(request: web.Request) -> web.Response:
    return status_response(failure("NotFound", "the server could not find the requested resource"))


def _method_not_allowed(request: web.Request, path: ResourcePath) -> web.Response:
    return error("MethodNotAllowed", f"the server does not allow this method on the requested resource "
                 f"({request.method} {path.info.plural}{'/' + path.subresource if path.subresource else ''})")


class Resources:
    """One aiohttp handler for every resource path."""

    def __init__(self, settings: Settings, store: ObjectStore, door: Door, writer: writes.Writer, *,
                 events: EventStore, metrics: LatestMetrics) -> None:
        self._settings, self._store, self._door, self._writer = settings, store, door, writer
        self._streams = StreamProxy(settings, store, door)
        self._events, self._metrics = events, metrics

    async def handle(self, request: web.Request) -> web.StreamResponse:
        try:
            asked = parse(request.path)
        except UnknownPath:
            return _unknown(request)
        path = conversion.stored(asked)  # a version the store does not keep: served converted
        return conversion.answer(path, await self._handle(request, asked, path))

    async def _handle(self, request: web.Request, asked: ResourcePath, path: ResourcePath) -> web.StreamResponse:
        caller: Caller = request["caller"]
        if path.info.group == METRICS_GROUP:  # the kubelets' samples, read only
            return await serve_metrics(request, self._door, self._metrics, self._store, path, caller)
        if request.method != "GET" and request.query.get("dryRun") and path.subresource:
            return error("BadRequest", "dryRun is not served on subresources yet: the request was not applied")
        if path.subresource == "scale" and path.info.plural in SCALABLE:
            return await self._scale(request, path, caller)
        if path.subresource == "log" and path.info.plural == "pods" and request.method == "GET":
            attrs = Attributes("get", "", "pods", "log", path.namespace, path.name)
            if refusal := self._door.forbidden(caller, attrs):
                return error("Forbidden", refusal, name=path.name, kind="pods")
            return await serve_log(request, self._settings, self._store, path)
        if path.info.plural == "pods" and (verb := STREAMS.get(path.subresource)):
            return await self._streams.serve(request, path, verb, caller)
        if path.subresource == "eviction" and path.info.plural == "pods":
            return await serve_eviction(request, self._door, self._writer, path, caller)
        if path.subresource == "token" and path.info.plural == "serviceaccounts":
            return await serve_token(request, self._writer.requests, path, caller)
        if path.subresource and path.subresource != "status":
            return _unknown(request)
        if request.method == "GET":
            return await self._read(request, path, caller)
        if path.info.kind == "Event":  # read only: Kafkube's components write them to kafkube.events
            return _method_not_allowed(request, path)
        if request.method == "DELETE" and not path.name and not path.subresource:
            return await delete_collection(request, self._door, self._writer, path, caller)
        handler = WRITES.get(request.method)
        if handler is None or path.subresource or (request.method == "POST") == bool(path.name):
            return _method_not_allowed(request, path)
        return await fieldvalidation.validated(request, asked, partial(handler, request, self._writer, path, caller))

    async def _scale(self, request: web.Request, path: ResourcePath, caller: Caller) -> web.Response:
        """Reads of a Scale are authorised here (`get` of `<plural>/scale`); writes by the API,
        as a patch of the object."""
        if request.method == "GET":
            attrs = Attributes("get", path.info.group, path.info.plural, "scale", path.namespace, path.name)
            if refusal := self._door.forbidden(caller, attrs):
                return error("Forbidden", refusal, name=path.name, group=path.info.group, kind=path.info.plural)
        return await serve_scale(request, self._writer, path, caller)

    async def _read(self, request: web.Request, path: ResourcePath, caller: Caller) -> web.StreamResponse:
        watching = request.query.get("watch") in ("1", "true")
        attrs = Attributes(read_verb(path, watching), path.info.group, path.info.plural, path.subresource,
                           path.namespace, path.name)
        if refusal := self._door.forbidden(caller, attrs):
            return error("Forbidden", refusal, name=path.name, group=path.info.group, kind=path.info.plural)
        if path.info.kind == "Event":
            return await serve_events(request, self._events, path)
        if watching:
            try:
                wanted = reads.predicate(request.query, path)
            except SelectorError as exc:
                return error("BadRequest", str(exc))
            return await watch.serve_watch(request, self._store, path, wanted, shown=self._shown(path, caller))
        if path.name:
            return await reads.get_one(request, self._store, path, shown=self._shown(path, caller))
        return await reads.list_all(request, self._store, path, shown=self._shown(path, caller))

    def _shown(self, path: ResourcePath, caller: Caller) -> reads.Shown | None:
        """Secrets are read with their values, opened by the API for the caller; a converted
        kind at the version asked."""
        if path.served is not None:
            return partial(conversion.shown, path)
        if path.info.kind != "Secret":
            return None
        return lambda objs: self._writer.secrets.shown(objs, caller)
