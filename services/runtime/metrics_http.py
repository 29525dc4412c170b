"""`/metrics`, `/healthz` and `/readyz` of every `kafkube serve` process, on
KAFKUBE_METRICS_ADDRESS (`host:port`; port 0: any free port; the address bound is logged
as `metrics.serving`). A supervised component on the service's own loop (aiohttp).
Also the HTTP API's request metrics middleware (services/apiserver/app.py)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from services.runtime.address import parse_address
from services.runtime.logging import get_logger
from services.runtime.metrics import APISERVER_REQUEST_SECONDS, APISERVER_REQUESTS, LIVE, LiveObjects

log = get_logger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def health_answer(failing: list[str], check: str) -> web.Response:
    """kube-apiserver's shape: `ok`, or one `[-]name failed` line per failing check and a 500."""
    if not failing:
        return web.Response(text="ok")
    lines = "".join(f"[-]{name} failed\n" for name in failing)
    return web.Response(status=500, text=f"{lines}{check} check failed")


def metrics_app(live: LiveObjects = LIVE) -> web.Application:
    async def metrics(_request: web.Request) -> web.Response:
        return web.Response(body=generate_latest(REGISTRY), headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def healthz(_request: web.Request) -> web.Response:
        return health_answer(live.not_live(), "healthz")

    async def readyz(_request: web.Request) -> web.Response:
        return health_answer(live.not_live() + live.not_ready(), "readyz")

    app = web.Application()
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/livez", healthz)
    app.router.add_get("/readyz", readyz)
    return app


async def serve_metrics(address: str) -> None:
    """Serve until cancelled."""
    host, port = parse_address(address)
    runner = web.AppRunner(metrics_app(), access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound = runner.addresses[0]
        log.info("metrics.serving", address=f"{bound[0]}:{bound[1]}", configured=address)
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


_VERBS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})


@web.middleware
async def request_metrics(request: web.Request, handler: Handler) -> web.StreamResponse:
    """`apiserver_request_total` and `apiserver_request_duration_seconds` of each request;
    verb as upstream's where the method tells it (WATCH for `?watch=`, else the method)."""
    verb = request.method if request.method in _VERBS else "OTHER"  # bounded: never a client's word
    if verb == "GET" and request.query.get("watch") in ("1", "true"):
        verb = "WATCH"
    started = time.perf_counter()
    code = 500
    try:
        response = await handler(request)
        code = response.status
        return response
    except web.HTTPException as exc:
        code = exc.status
        raise
    finally:
        APISERVER_REQUESTS.labels(verb, str(code)).inc()
        APISERVER_REQUEST_SECONDS.labels(verb).observe(time.perf_counter() - started)
