"""`pods/log` (`kubectl logs`): a container's output from `kafkube.logs`
(`services.runtime.podlogs`), as `text/plain`, streamed while `follow=true`; with
`container`, `tailLines`, `timestamps`, `previous` (the run before the current one; every
line carries the run that wrote it). Called by
`services.apiserver.resources` once RBAC allowed `get pods/log`."""

from __future__ import annotations

from aiohttp import web

from services.apiserver.http import error, json_response
from services.apiserver.paths import ResourcePath
from services.apiserver.reads import key_of
from services.apiserver.status import not_found
from services.apiserver.store import ObjectStore
from services.runtime.config import Settings
from services.runtime.podlogs import LogsError, attempt_shown, pick_container, pod_lines
from services.runtime.topics import Topics


async def serve_log(request: web.Request, settings: Settings, store: ObjectStore,
                    path: ResourcePath) -> web.StreamResponse:
    query = request.query
    pod = store.get(path.info, key_of(path))
    if pod is None:
        return json_response(not_found(path.info.plural, path.info.group, path.name), status=404)
    try:
        container = pick_container(pod, query.get("container") or None)
        attempt = attempt_shown(pod, container, previous=query.get("previous") == "true")
        tail = int(query["tailLines"]) if query.get("tailLines") else None
    except (LogsError, ValueError) as exc:
        return error("BadRequest", str(exc))
    response = web.StreamResponse(headers={"Content-Type": "text/plain"})
    response.enable_chunked_encoding()
    await response.prepare(request)
    lines = pod_lines(settings, Topics(settings.topic_prefix).logs, key_of(path), container,
                      follow=query.get("follow") == "true", tail=tail, timestamps=query.get("timestamps") == "true",
                      attempt=attempt)
    try:
        async for line in lines:
            await response.write(line.encode() + b"\n")
    except ConnectionResetError:
        pass  # the client went away
    finally:
        await lines.aclose()
    return response
