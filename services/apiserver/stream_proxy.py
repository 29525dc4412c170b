"""`pods/exec`, `pods/attach` and `pods/portforward` (`kubectl exec`, `attach`,
`port-forward`): authorise (RBAC
`create` on the subresource, as kube-apiserver does for WebSocket upgrades), build the
stream ticket (`services.apiserver.streams`), sealed with the pod's node's streaming key,
open a WebSocket to that node's kubelet with it, and only then accept the caller's
WebSocket with the same subprotocol (`v5.channel.k8s.io`, `v4.channel.k8s.io`; for
port-forward the SPDY tunnel `SPDY/3.1+portforward.k8s.io`); from there every message is relayed as it is, both
ways, until either side closes. A failure before the upgrade is a `Status` with its code,
so kubectl prints it. Called by `services.apiserver.resources`."""

from __future__ import annotations

import asyncio
import time

import aiohttp
from aiohttp import WSMsgType, web

from schemas.registry import resolve_resource
from services.api.rbac import Attributes
from services.apiserver.auth import Caller, Door
from services.apiserver.http import error, json_response
from services.apiserver.paths import ResourcePath
from services.apiserver.reads import key_of
from services.apiserver.status import not_found
from services.apiserver.store import ObjectStore
from services.apiserver.streams import StreamRefused, kubelet_address, stream_ticket
from services.runtime.buskeys import bus_trust
from services.runtime.config import Settings
from services.runtime.logging import get_logger
from services.runtime.remotecommand import PROTOCOLS
from services.runtime.spdy import TUNNEL_PROTOCOL
from services.runtime.stream_tickets import HEADER, StreamTicket, Verb, new_nonce, seal, ticket_key
from services.runtime.tasks import cancel_and_wait

log = get_logger(__name__)
Socket = web.WebSocketResponse | aiohttp.ClientWebSocketResponse
NODES = resolve_resource("nodes")


class StreamProxy:
    """The handler of the streaming subresources of pods."""

    def __init__(self, settings: Settings, store: ObjectStore, door: Door) -> None:
        self._trust, self._store, self._door = bus_trust(settings), store, door

    async def serve(self, request: web.Request, path: ResourcePath, verb: Verb, caller: Caller) -> web.StreamResponse:
        attrs = Attributes("create", "", "pods", verb, path.namespace, path.name)
        if refusal := self._door.forbidden(caller, attrs):
            return error("Forbidden", refusal, name=path.name, kind="pods")
        pod = self._store.get(path.info, key_of(path))
        if pod is None:
            return json_response(not_found("pods", "", path.name), status=404)
        try:
            ticket = stream_ticket(pod, verb, request.query, user=caller.user.name, now=time.time(), nonce=new_nonce())
            host, port = kubelet_address(self._store.get(NODES, ticket.node), ticket.node)
            key = ticket_key(self._trust, ticket.node)
        except StreamRefused as exc:
            return error(exc.reason, str(exc), name=path.name, kind="pods")
        if key is None:
            return error("ServiceUnavailable", "exec, attach and port-forward need bus keys (the bus is insecure)")
        protocols = (TUNNEL_PROTOCOL,) if verb == "portforward" else PROTOCOLS
        if not web.WebSocketResponse(protocols=protocols).can_prepare(request).ok:
            return error("BadRequest", f"Upgrade request required: a WebSocket ({', '.join(protocols)}) is served")
        return await self._relay(request, ticket, f"http://{_host(host)}:{port}/{verb}", seal(ticket, key),
                                 protocols)

    async def _relay(self, request: web.Request, ticket: StreamTicket, url: str, sealed: str,
                     protocols: tuple[str, ...]) -> web.StreamResponse:
        bound = log.bind(pod=ticket.pod_key, container=ticket.container, node=ticket.node, user=ticket.user)
        async with aiohttp.ClientSession() as session:
            try:
                kubelet = await session.ws_connect(url, protocols=_asked(request, protocols), headers={HEADER: sealed},
                                                   autoping=True, heartbeat=None, max_msg_size=0)
            except aiohttp.WSServerHandshakeError as exc:
                reason = "NotFound" if exc.status == 404 else "InternalError"
                return error(reason, f"unable to upgrade connection: {exc.message}")
            except aiohttp.ClientError as exc:
                return error("InternalError", f"error dialing backend: {exc}")
            async with kubelet:
                caller = web.WebSocketResponse(protocols=(kubelet.protocol or protocols[0],), max_msg_size=0)
                await caller.prepare(request)
                bound.info(f"apiserver.{ticket.verb}", command=list(ticket.command))
                await _join(caller, kubelet)
                return caller


def _host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _asked(request: web.Request, served: tuple[str, ...]) -> tuple[str, ...]:
    """The subprotocols the caller asked for that are served, in its order."""
    asked = [p.strip() for p in request.headers.get("Sec-WebSocket-Protocol", "").split(",")]
    return tuple(p for p in asked if p in served) or served


async def _join(caller: web.WebSocketResponse, kubelet: aiohttp.ClientWebSocketResponse) -> None:
    """Relay both ways until one side closes; then close the other."""
    tasks = [asyncio.create_task(_pipe(caller, kubelet)), asyncio.create_task(_pipe(kubelet, caller))]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        await cancel_and_wait(tasks)
        await caller.close()
        await kubelet.close()


async def _pipe(source: Socket, sink: Socket) -> None:
    async for message in source:
        if message.type == WSMsgType.BINARY:
            await sink.send_bytes(message.data)
        elif message.type == WSMsgType.TEXT:
            await sink.send_str(message.data)
