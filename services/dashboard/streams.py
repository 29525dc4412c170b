"""Server-sent event streams to the browser: a view (`/api/stream/{name}`) sent whole when
it is opened and again whenever the informer or the events consumer brings a change that
alters it (changes within `BATCH_S` are sent once); a container's log lines
(`/api/logs`, from `kafkube.logs`, `services.runtime.podlogs`). Nothing reads Kafka per
view: views are computed from the in-memory timeline. A stream ends when its caller's
session or token stops being accepted (an `event: logout`). Built by
`services.dashboard.service`."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import orjson
from aiohttp import web

from services.api.rbac_policy import Attributes
from services.apiserver.status import failure
from services.apiserver.http import status_response
from services.dashboard.access import refused, unauthenticated
from services.dashboard.app import Dashboard, Handler, view_payload
from services.runtime.podlogs import LogsError, pick_container, pod_lines
from services.runtime.topics import Topics

BATCH_S = 0.2
KEEPALIVE_S = 15.0
LOG_TAIL = 500


def sse(event: str, data: Any) -> bytes:
    """One server-sent event; the data as JSON on one line."""
    return f"event: {event}\ndata: ".encode() + orjson.dumps(data) + b"\n\n"


async def _opened(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache",
                                           "X-Accel-Buffering": "no"})
    await response.prepare(request)
    return response


def stream_handlers(dashboard: Dashboard) -> dict[str, Handler]:
    async def view_stream(request: web.Request) -> web.StreamResponse:
        caller = dashboard.caller(request)
        if caller is None:
            return unauthenticated()
        name, query = request.match_info["name"], {k: v for k, v in request.query.items() if k != "at"}
        first = view_payload(dashboard, caller, name, query)
        if isinstance(first, web.Response):
            return first
        response = web.StreamResponse()
        try:
            response = await _opened(request)
            await _follow_view(request, response, first)
        except ConnectionResetError:  # the browser went away (another view, a closed tab)
            pass
        return response

    async def _follow_view(request: web.Request, response: web.StreamResponse, first: dict[str, Any]) -> None:
        name, query = request.match_info["name"], {k: v for k, v in request.query.items() if k != "at"}
        sent = first["items"]
        await response.write(sse("view", first))
        while True:
            waits = [asyncio.ensure_future(dashboard.feed.changed(KEEPALIVE_S)),
                     asyncio.ensure_future(dashboard.events.changed(KEEPALIVE_S))]
            _, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            for waiting in pending:
                waiting.cancel()
            await asyncio.sleep(BATCH_S)
            caller = dashboard.caller(request)
            if caller is None:
                await response.write(sse("logout", {}))
                return
            payload = view_payload(dashboard, caller, name, query)
            if isinstance(payload, web.Response):  # the caller lost the right to see it
                await response.write(sse("refused", orjson.loads(payload.body)))  # type: ignore[arg-type]
                return
            if payload["items"] != sent:
                sent = payload["items"]
                await response.write(sse("view", payload))
            else:
                await response.write(b": keepalive\n\n")

    async def logs(request: web.Request) -> web.StreamResponse:
        caller = dashboard.caller(request)
        if caller is None:
            return unauthenticated()
        namespace, name = request.query.get("namespace", ""), request.query.get("pod", "")
        attrs = Attributes(verb="get", api_group="", resource="pods", subresource="log", namespace=namespace, name=name)
        if (answer := refused(dashboard.door, caller, attrs)) is not None:
            return answer
        pod = dashboard.feed.timeline.snapshot().get("pods", {}).get(f"{namespace}/{name}")
        if pod is None:
            return status_response(failure("NotFound", f'pods "{name}" not found', name=name, kind="pods"))
        try:
            container = pick_container(pod, request.query.get("container") or None)
        except LogsError as exc:
            return status_response(failure("BadRequest", str(exc)))
        response = await _opened(request)
        lines = pod_lines(dashboard.settings, Topics(dashboard.settings.topic_prefix).logs, f"{namespace}/{name}",
                          container, follow=True, tail=LOG_TAIL, timestamps=True)
        checked = time.monotonic()
        try:
            async for line in lines:
                await response.write(sse("line", line))
                if time.monotonic() - checked > KEEPALIVE_S:
                    checked = time.monotonic()
                    if dashboard.caller(request) is None:
                        await response.write(sse("logout", {}))
                        break
        except ConnectionResetError:  # the browser closed the panel
            pass
        finally:
            await lines.aclose()
        return response

    return {"/api/stream/{name}": view_stream, "/api/logs": logs}
