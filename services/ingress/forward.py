"""The reverse proxy: one aiohttp handler for every request on the HTTP and HTTPS
listeners. It routes by Host and path through the current `routing.Table`, picks a
ready backend in turn (round-robin per Service port), and forwards the request over
HTTP/1.1 with `X-Forwarded-For` (appended), `X-Forwarded-Proto`, `X-Forwarded-Host` and
`X-Forwarded-Port`, the client's Host kept; the answer is streamed back. Hop-by-hop
headers are dropped both ways. Answers of its own: 404 (nothing matches), 503 (the
Service has no ready endpoint), 502 (no backend could be reached: each is tried once).
Called by `services.ingress.service`, which swaps `table` when the cluster changes.
"""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable

import aiohttp
from aiohttp import web
from multidict import CIMultiDict

from services.ingress.routing import Backend, Table, Target, normalize_host
from services.runtime.logging import get_logger

log = get_logger(__name__)
HOP_BY_HOP = frozenset(h.lower() for h in (
    "Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "TE", "Trailer",
    "Transfer-Encoding", "Upgrade", "Proxy-Connection"))
CHUNK = 64 * 1024


def forwarded_headers(request: web.BaseRequest, *, scheme: str) -> CIMultiDict[str]:
    """The request's end-to-end headers plus the X-Forwarded-* ones."""
    headers: CIMultiDict[str] = CIMultiDict((k, v) for k, v in request.headers.items()
                                            if k.lower() not in HOP_BY_HOP and k.lower() != "content-length")
    peer = request.remote or ""
    prior = request.headers.get("X-Forwarded-For")
    headers["X-Forwarded-For"] = f"{prior}, {peer}" if prior else peer
    headers["X-Forwarded-Proto"] = scheme
    headers["X-Forwarded-Host"] = request.headers.get("Host", "")
    sockname = request.transport.get_extra_info("sockname") if request.transport else None
    if sockname:
        headers["X-Forwarded-Port"] = str(sockname[1])
    return headers


class Forwarder:
    """Serves requests against the current table; `table` is replaced, never mutated."""

    def __init__(self, *, connect_timeout_s: float = 5.0, read_timeout_s: float = 60.0) -> None:
        self.table = Table()
        self._turns: dict[tuple[str, str], itertools.count[int]] = {}
        self._timeout = aiohttp.ClientTimeout(total=None, sock_connect=connect_timeout_s, sock_read=read_timeout_s)
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(timeout=self._timeout, auto_decompress=False,
                                              connector=aiohttp.TCPConnector(limit=0))

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    def handler(self, scheme: str) -> Callable[[web.BaseRequest], Awaitable[web.StreamResponse]]:
        async def handle(request: web.BaseRequest) -> web.StreamResponse:
            return await self.serve(request, scheme=scheme)
        return handle

    def _order(self, target: Target) -> list[Backend]:
        """The backends, starting at this target's next turn."""
        turn = next(self._turns.setdefault((target.service, target.port), itertools.count()))
        start = turn % len(target.backends)
        return [*target.backends[start:], *target.backends[:start]]

    async def serve(self, request: web.BaseRequest, *, scheme: str) -> web.StreamResponse:
        host = normalize_host(request.headers.get("Host", ""))
        target = self.table.route(host, request.rel_url.path)
        if target is None:
            return web.Response(status=404, text="404 page not found\n")
        if not target.backends:
            log.info("ingress.no_endpoints", service=target.service, port=target.port, host=host)
            return web.Response(status=503, text=f"503 no ready endpoints for service {target.service}\n")
        body = await request.read()
        headers = forwarded_headers(request, scheme=scheme)
        assert self._session is not None
        for backend in self._order(target):
            url = f"http://{backend.ip}:{backend.port}{request.rel_url.raw_path_qs}"
            try:
                async with self._session.request(request.method, url, headers=headers, data=body or None,
                                                 allow_redirects=False) as answer:
                    return await self._relay(request, answer)
            except (aiohttp.ClientConnectorError, aiohttp.ServerDisconnectedError) as exc:
                log.warning("ingress.backend_failed", service=target.service, backend=f"{backend.ip}:{backend.port}",
                            error=str(exc)[:200])
        return web.Response(status=502, text="502 bad gateway\n")

    @staticmethod
    async def _relay(request: web.BaseRequest, answer: aiohttp.ClientResponse) -> web.StreamResponse:
        response = web.StreamResponse(status=answer.status, reason=answer.reason)
        for key, value in answer.headers.items():
            if key.lower() not in HOP_BY_HOP and key.lower() != "content-length":
                response.headers.add(key, value)
        if answer.content_length is not None:
            response.content_length = answer.content_length
        await response.prepare(request)
        async for chunk in answer.content.iter_chunked(CHUNK):
            await response.write(chunk)
        await response.write_eof()
        return response
