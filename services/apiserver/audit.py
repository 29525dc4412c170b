"""The door's audit: one record on `kafkube.audit` (the API's `AuditRecord`, DESIGN.md §8)
for every resource request this server decides itself: reads (`get`, `list`, `watch`,
`pods/log`, `scale`), the streams (`pods/exec`, `attach`, `portforward`), refusals at the
door (403) and callers it does not know (401). Writes are audited by the API, which
decides them (the caller's token travels with the request), so they are not recorded
twice. `audit_entry` is pure; `DoorAudit` sends without waiting for the broker, so an
audited read costs no round trip."""

from __future__ import annotations

import asyncio
import uuid
from functools import partial
from http import HTTPStatus
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from schemas.auth import AuditObject, AuditRecord, Decision, UserInfo, utcnow
from services.apiserver.auth import Caller
from services.apiserver.paths import ResourcePath, UnknownPath, parse
from services.runtime.bus import encode, make_producer
from services.runtime.config import Settings
from services.runtime.logging import get_logger
from services.runtime.topics import Topics

log = get_logger(__name__)
STREAMS = frozenset({"exec", "attach", "portforward"})
UNKNOWN_CALLER = UserInfo(username="(unknown token)")


def _verb(method: str, path: ResourcePath, query: Any) -> str | None:
    """RBAC's verb of a request this door decides; None for a write (the API audits it)."""
    if path.subresource in STREAMS:
        return "create"
    if method != "GET":
        return None
    if query.get("watch") in ("1", "true"):
        return "watch"
    return "get" if path.name else "list"


def _decision(status: int) -> Decision:
    return {401: "unauthenticated", 403: "forbid"}.get(status, "allow")  # type: ignore[return-value]


def audit_entry(*, method: str, url_path: str, query: Any, status: int, caller: Caller | None,
                source_ip: str | None) -> tuple[str, AuditRecord] | None:
    """(key, record) of one answered request, or None when the door does not audit it (a
    write the API decided, a path that names no resource)."""
    try:
        path = parse(url_path)
    except UnknownPath:
        return None
    verb = _verb(method, path, query)
    if verb is None and status != 401:
        return None
    info = path.info
    resource = f"{info.plural}/{path.subresource}" if path.subresource else info.plural
    record = AuditRecord.model_construct(
        audit_id=str(uuid.uuid4()), verb=verb or method.lower(), user=caller.user if caller else UNKNOWN_CALLER,
        object_ref=AuditObject.model_construct(api_version=info.api_version, resource=resource,
                                               namespace=path.namespace or None, name=path.name or None),
        decision=_decision(status), reason="", response_status=HTTPStatus(status).phrase, source=None,
        request_record="", writer="apiserver", annotations={"sourceIP": source_ip} if source_ip else {},
        stage_timestamp=utcnow())
    key = f"{path.namespace}/{path.name}" if path.namespace and path.name else path.namespace or path.name
    return key, record


def _delivered(record: AuditRecord, delivery: asyncio.Future[Any]) -> None:
    """A record the broker refused (an ACL, a timeout) is logged: it is never silently lost."""
    if not delivery.cancelled() and (exc := delivery.exception()) is not None:
        log.error("apiserver.audit_failed", audit_id=record.audit_id, verb=record.verb,
                  resource=record.object_ref.resource, error=str(exc))


class DoorAudit:
    """Sends the door's audit records (one producer; a send only queues the record)."""

    def __init__(self, settings: Settings) -> None:
        self._topic = Topics(settings.topic_prefix).audit
        self._producer = make_producer(settings)

    async def __aenter__(self) -> DoorAudit:
        await self._producer.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._producer.stop()

    async def send(self, key: str, record: AuditRecord) -> None:
        delivery = await self._producer.send(self._topic, key=key.encode(), value=encode(record))
        delivery.add_done_callback(partial(_delivered, record))

    def middleware(self) -> Middleware:
        """Audit every answered request (outside authentication, so 401s are seen too)."""
        @web.middleware
        async def audited(request: web.Request, handler: Handler) -> web.StreamResponse:
            response = await handler(request)
            entry = audit_entry(method=request.method, url_path=request.path, query=request.query,
                                status=response.status, caller=request.get("caller"), source_ip=request.remote)
            if entry is not None:
                try:
                    await self.send(*entry)
                except Exception:  # noqa: BLE001 - an audit that cannot be queued is logged, the answer stands
                    log.exception("apiserver.audit_failed", verb=entry[1].verb, resource=entry[1].object_ref.resource)
            return response
        return audited
