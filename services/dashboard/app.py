"""The dashboard's HTTP surface (aiohttp): the page and its static modules, login and
logout, the views (now, or `?at=` an instant of the time slider), one object's history
with its diffs, and the actions. Every `/api/` path but login needs a caller (401 Status
otherwise); views show what RBAC lets the caller list (403 Status when nothing);
actions are write requests carrying the caller's token (`services.apiserver.answers`),
decided and audited by the API as that user. Streams are in `services.dashboard.streams`.
Built by `services.dashboard.service`."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from aiohttp import web

from schemas.records import WriteRequest
from services.api.rbac_policy import Attributes
from services.apiserver.answers import Requests
from services.apiserver.auth import Caller, Door
from services.apiserver.events import EventStore
from services.apiserver.http import BadBody, json_body, json_response, status_response
from services.apiserver.status import failure
from services.dashboard import actions, views
from services.dashboard.access import GROUPS, caller_of, may_list, refused, unauthenticated
from services.dashboard.diff import diff
from services.dashboard.feed import ClusterFeed
from services.dashboard.sessions import COOKIE, TTL_S, Sessions
from services.runtime.config import Settings
from services.runtime.logging import get_logger

log = get_logger(__name__)
STATIC = Path(__file__).with_name("static")
VIEWS = {"nodes": "nodes", "workloads": "deployments", "services": "services", "pods": "pods", "events": "events"}
SECURITY_HEADERS = {"Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'",
                    "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Dashboard:
    """What the handlers stand on."""

    settings: Settings
    feed: ClusterFeed
    events: EventStore
    door: Door
    requests: Requests
    sessions: Sessions

    def caller(self, request: web.Request) -> Caller | None:
        return caller_of(request, self.door, self.sessions)


def bad_request(message: str) -> web.Response:
    return status_response(failure("BadRequest", message))


async def json_object(request: web.Request) -> dict[str, Any]:
    """The JSON object of the body, or BadBody; the content type must say JSON (a
    cross-site form cannot send it): else 415 UnsupportedMediaType."""
    if request.content_type != "application/json":
        raise BadBody("the body of the request must be application/json", reason="UnsupportedMediaType")
    return await json_body(request)  # type: ignore[no-any-return]


def view_payload(dashboard: Dashboard, caller: Caller, name: str,
                 query: Mapping[str, str]) -> web.Response | dict[str, Any]:
    """A view for `caller` (a dict), or the 400/403 Status refusing it."""
    if name not in VIEWS:
        return status_response(failure("NotFound", f'view "{name}" not found'))
    at = query.get("at")
    if at is not None and not at.isdecimal():
        return bad_request(f"at: Invalid value: {at!r}: milliseconds since the epoch")
    timeline = dashboard.feed.timeline
    state = timeline.snapshot(int(at) if at is not None else None)
    may = may_list(dashboard.door, caller)
    plural = VIEWS[name]
    namespaces = [""] + ([] if plural == "nodes" else sorted(state.get("namespaces", {})))
    if not any(may(plural, ns) for ns in namespaces):
        answer = refused(dashboard.door, caller, Attributes(verb="list", api_group=GROUPS.get(plural, ""),
                                                            resource=plural))
        assert answer is not None
        return answer
    body: Any
    if name == "nodes":
        body = [row.model_dump() for row in views.nodes_view(state, may)]
    elif name == "workloads":
        body = [row.model_dump() for row in views.workloads_view(state, may)]
    elif name == "services":
        body = [row.model_dump() for row in views.services_view(state, may)]
    elif name == "pods":
        page = str(query.get("page", "0"))
        body = views.pods_view(state, may, page=int(page) if page.isdecimal() else 0,
                               search=str(query.get("q", ""))).model_dump()
    else:
        body = views.events_view(dashboard.events.log.events(), may)
    return {"view": name, "at": int(at) if at is not None else None, "seq": timeline.seq,
            "bounds": timeline.bounds, "items": body}


def build_app(dashboard: Dashboard, streams: dict[str, Handler]) -> web.Application:
    @web.middleware
    async def secured(request: web.Request, handler: Handler) -> web.StreamResponse:
        response = await handler(request)
        response.headers.update(SECURITY_HEADERS)
        return response

    app = web.Application(middlewares=[secured])

    async def index(_: web.Request) -> web.StreamResponse:
        return web.FileResponse(STATIC / "index.html")

    async def login(request: web.Request) -> web.Response:
        try:
            token = str((await json_object(request)).get("token") or "").strip()
        except BadBody as exc:
            return status_response(failure(exc.reason, str(exc)))
        caller = dashboard.door.authenticate(f"Bearer {token}", None) if token else None
        if caller is None:
            log.info("dashboard.login_refused", peer=request.remote)
            return unauthenticated()
        response = json_response({"user": caller.user.name, "groups": list(caller.user.groups)})
        sid = dashboard.sessions.open(token, now=time.time())
        response.set_cookie(COOKIE, sid, httponly=True, samesite="Strict", path="/", max_age=int(TTL_S))
        log.info("dashboard.login", user=caller.user.name)
        return response

    async def logout(request: web.Request) -> web.Response:
        dashboard.sessions.close(request.cookies.get(COOKIE))
        response = json_response({})
        response.del_cookie(COOKIE, path="/")
        return response

    async def whoami(request: web.Request) -> web.Response:
        caller = dashboard.caller(request)
        if caller is None:
            return unauthenticated()
        return json_response({"user": caller.user.name, "groups": list(caller.user.groups)})

    async def view(request: web.Request) -> web.Response:
        caller = dashboard.caller(request)
        if caller is None:
            return unauthenticated()
        payload = view_payload(dashboard, caller, request.match_info["name"], request.query)
        return payload if isinstance(payload, web.Response) else json_response(payload)

    async def history(request: web.Request) -> web.Response:
        caller = dashboard.caller(request)
        if caller is None:
            return unauthenticated()
        plural, namespace, name = (request.match_info["plural"], request.query.get("namespace", ""),
                                   request.query.get("name", ""))
        if plural not in VIEWS.values() or plural == "events":
            return status_response(failure("NotFound", f'the server could not find the requested resource "{plural}"'))
        attrs = Attributes(verb="get", api_group=GROUPS.get(plural, ""), resource=plural, namespace=namespace,
                           name=name)
        if (answer := refused(dashboard.door, caller, attrs)) is not None:
            return answer
        found = dashboard.feed.timeline.versions(plural, f"{namespace}/{name}" if namespace else name)
        out, previous = [], None
        for version in found:
            out.append({"time": version.time_ms, "deleted": version.obj is None, "object": version.obj,
                        "changes": [c.model_dump() for c in diff(previous, version.obj)]})
            previous = version.obj
        return json_response({"plural": plural, "namespace": namespace, "name": name, "versions": out})

    async def act(request: web.Request) -> web.Response:
        caller = dashboard.caller(request)
        if caller is None:
            return unauthenticated()
        try:
            writes = _requests_of(request.match_info["action"], await json_object(request), caller)
        except BadBody as exc:
            return status_response(failure(exc.reason, str(exc)))
        except actions.BadAction as exc:
            return status_response(failure("Invalid", str(exc)))
        if writes is None:
            return status_response(failure("NotFound", f'action "{request.match_info["action"]}" not found'))
        results = []
        for write in writes:
            answer = await dashboard.requests.send(write, caller=caller)
            if answer is None:
                return status_response(failure("Timeout", "the server was unable to return a response in the time "
                                                          "allotted, but may still be processing the request"))
            log.info("dashboard.action", user=caller.user.name, action=request.match_info["action"], kind=write.kind,
                     key=write.key, answer=answer.reason)
            if answer.rejected:
                return status_response(failure(answer.status_reason or "BadRequest", answer.message, name=write.name))
            results.append({"kind": write.kind, "key": write.key, "reason": answer.reason, "message": answer.message})
        return json_response({"results": results})

    app.router.add_get("/", index)
    app.router.add_static("/static/", STATIC)
    app.router.add_post("/api/login", login)
    app.router.add_post("/api/logout", logout)
    app.router.add_get("/api/whoami", whoami)
    app.router.add_get("/api/views/{name}", view)
    app.router.add_get("/api/history/{plural}", history)
    app.router.add_post("/api/actions/{action}", act)
    for path, handler in streams.items():
        app.router.add_get(path, handler)
    return app


def _requests_of(action: str, raw: dict[str, Any], caller: Caller) -> list[WriteRequest] | None:
    principal = caller.user.name
    if action == "scale":
        return [actions.scale(actions.body_of(actions.ScaleBody, raw), principal=principal)]
    if action == "restart":
        return [actions.restart(actions.body_of(actions.Target, raw), principal=principal,
                                now=datetime.now(timezone.utc))]
    if action == "delete-pod":
        return [actions.delete_pod(actions.body_of(actions.Target, raw), principal=principal)]
    if action == "apply":
        return actions.apply(actions.body_of(actions.ApplyBody, raw), principal=principal)
    return None
