"""The kubelet's streaming endpoint: a small aiohttp server on the node's address
(`KAFKUBE_KUBELET_ADDRESS`, default the node's InternalIP; port `KAFKUBE_KUBELET_PORT`,
default 0: any free one; `off`: none), advertised in the Node's
`status.daemonEndpoints.kubeletEndpoint.Port`, that only the apiserver may use:

    GET /exec    (WebSocket, v5/v4.channel.k8s.io)  kubectl exec
    GET /attach  (WebSocket, v5/v4.channel.k8s.io)  kubectl attach
    GET /portforward  (WebSocket, SPDY/3.1+portforward.k8s.io)  kubectl port-forward

Every request carries a stream ticket (`services.runtime.stream_tickets`, header
`X-Kafkube-Stream-Ticket`) sealed by the apiserver with this node's streaming key after
RBAC allowed the caller; no ticket, a forged, expired, replayed one or one for another
node is a 401. What runs — pod, container, command, streams — is taken from the ticket
only. Started by `services.kubelet.service.Kubelet.serve` on a node whose runtime has
interactive streams (Docker) and whose bus has keys."""

from __future__ import annotations

import time
from types import TracebackType
from typing import Protocol, runtime_checkable

from aiohttp import web

from services.kubelet.cache import ContainerCache
from services.kubelet.runtime.base import ContainerInfo, RuntimeFailure
from services.kubelet.runtime.docker_streams import StreamSession
from services.kubelet.streaming.portforward import PortForwardSession
from services.kubelet.streaming.sessions import relay
from services.runtime import spdy
from services.runtime.logging import get_logger
from services.runtime.remotecommand import ERROR, PROTOCOLS, error_status, frame
from services.runtime.stream_tickets import HEADER, SeenNonces, StreamTicket, TicketRefused, open_ticket

log = get_logger(__name__)
DEFAULT_PORT = 0  # any free port: it is advertised in the Node status (several kubelets may share a host)


@runtime_checkable
class InteractiveRuntime(Protocol):
    """A runtime that can run an interactive exec and attach (Docker; not hollow)."""

    async def exec_session(self, container_id: str, command: list[str], *, stdin: bool, tty: bool) -> StreamSession: ...
    def attach_session(self, container_id: str, *, stdin: bool) -> StreamSession: ...


def running_container(containers: list[ContainerInfo], ticket: StreamTicket) -> ContainerInfo | None:
    """The ticket's container as it runs now: the newest running one of that name (and pod uid)."""
    found = [c for c in containers if c.name == ticket.container and c.role != "infra" and c.state == "running"
             and (ticket.uid is None or c.pod.uid == ticket.uid)]
    return max(found, key=lambda c: c.attempt, default=None)


def pod_address(containers: list[ContainerInfo], ticket: StreamTicket) -> str | None:
    """The pod's IP: its running sandbox's, whose network namespace the pod's containers share."""
    return next((c.ip for c in containers if c.role == "infra" and c.state == "running" and c.ip
                 and (ticket.uid is None or c.pod.uid == ticket.uid)), None)


class StreamingEndpoint:
    """`async with StreamingEndpoint(...) as endpoint:` serves until the block ends; `port` is the bound one."""

    def __init__(self, *, node: str, runtime: InteractiveRuntime, cache: ContainerCache, key: bytes,
                 host: str, port: int) -> None:
        self.node, self.port = node, port
        self._runtime, self._cache, self._key, self._host = runtime, cache, key, host
        self._seen = SeenNonces()
        app = web.Application()
        app.router.add_get("/exec", self._remotecommand)
        app.router.add_get("/attach", self._remotecommand)
        app.router.add_get("/portforward", self._portforward)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)

    async def __aenter__(self) -> StreamingEndpoint:
        await self._runner.setup()
        await web.TCPSite(self._runner, self._host, self.port).start()
        self.port = int(self._runner.addresses[0][1])
        log.info("kubelet.streaming_listening", node=self.node, host=self._host, port=self.port)
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self._runner.cleanup()

    def _ticket(self, request: web.Request) -> StreamTicket:
        """The request's ticket, valid and used for the first time, for this path's verb."""
        now = time.time()
        ticket = open_ticket(request.headers.get(HEADER), self._key, node=self.node, now=now)
        if ticket.verb != request.path.strip("/"):
            raise TicketRefused(f"the ticket is for {ticket.verb}")
        if not self._seen.first_use(ticket, now=now):
            raise TicketRefused("the ticket was used before")
        return ticket

    def _refused(self, request: web.Request, exc: TicketRefused) -> web.Response:
        log.warning("kubelet.stream_refused", node=self.node, path=request.path, remote=request.remote,
                    reason=str(exc))
        return web.Response(status=401, text=f"Unauthorized: {exc}")

    async def _portforward(self, request: web.Request) -> web.StreamResponse:
        try:
            ticket = self._ticket(request)
        except TicketRefused as exc:
            return self._refused(request, exc)
        pod_ip = pod_address(self._cache.for_pod(ticket.pod_key), ticket)
        if pod_ip is None:
            return web.Response(status=404, text=f"pod {ticket.pod_key} has no running sandbox with an IP")
        ws = web.WebSocketResponse(protocols=(spdy.TUNNEL_PROTOCOL,), max_msg_size=0)
        await ws.prepare(request)
        log.info("kubelet.portforward", node=self.node, pod=ticket.pod_key, user=ticket.user, ports=ticket.ports)
        await PortForwardSession(ws, ticket, pod_ip).run()
        await ws.close()
        return ws

    async def _remotecommand(self, request: web.Request) -> web.StreamResponse:
        try:
            ticket = self._ticket(request)
        except TicketRefused as exc:
            return self._refused(request, exc)
        container = running_container(self._cache.for_pod(ticket.pod_key), ticket)
        if container is None:
            return web.Response(status=404, text=f'container not found ("{ticket.container}")')
        bound = log.bind(node=self.node, pod=ticket.pod_key, container=ticket.container, user=ticket.user)
        ws = web.WebSocketResponse(protocols=PROTOCOLS)
        await ws.prepare(request)
        try:
            if ticket.verb == "exec":
                session = await self._runtime.exec_session(container.id, list(ticket.command),
                                                           stdin=ticket.stdin, tty=ticket.tty)
            else:
                session = self._runtime.attach_session(container.id, stdin=ticket.stdin)
            bound.info(f"kubelet.{ticket.verb}", command=list(ticket.command), tty=ticket.tty)
            async with session:
                await relay(ws, session, ticket)
        except RuntimeFailure as exc:
            bound.warning(f"kubelet.{ticket.verb}_failed", error=str(exc)[:300])
            await ws.send_bytes(frame(ERROR, error_status(str(exc))))
            await ws.close()
        return ws
