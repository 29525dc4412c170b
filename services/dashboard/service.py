"""Wiring of `kafkube serve dashboard`: the cluster feed (informer and timeline), the events
consumer, the door (authentication and RBAC, the apiserver's), the requests channel, and
the HTTP server on `KAFKUBE_DASHBOARD_ADDRESS`, run as one component under the process
supervisor. Nothing is served until the feed and RBAC have read their topics to the end."""

from __future__ import annotations

import asyncio

from aiohttp import web

from services.apiserver.answers import Requests
from services.apiserver.auth import Door
from services.apiserver.events import EventStore
from services.dashboard.app import Dashboard, build_app
from services.dashboard.feed import ClusterFeed
from services.dashboard.options import dashboard_address
from services.dashboard.sessions import Sessions
from services.dashboard.streams import stream_handlers
from services.runtime.config import Settings
from services.runtime.logging import get_logger
from services.runtime.supervisor import Component

log = get_logger(__name__)


def dashboard_components(settings: Settings) -> dict[str, Component]:
    host, port = dashboard_address()  # a bad address stops `serve` before anything starts

    async def run() -> None:
        async with ClusterFeed(settings) as feed, EventStore(settings) as events, Door(settings) as door, \
                Requests(settings) as requests:
            dashboard = Dashboard(settings, feed, events, door, requests, Sessions())
            runner = web.AppRunner(build_app(dashboard, stream_handlers(dashboard)), access_log=None,
                                   shutdown_timeout=2.0)
            await runner.setup()
            try:
                await web.TCPSite(runner, host, port).start()
                bound = runner.addresses[0]  # the port the system chose when asked for 0
                log.info("dashboard.listening", url=f"http://{bound[0]}:{bound[1]}", records=feed.timeline.seq)
                await asyncio.gather(requests.failed(), events.failed())  # returns only by failing
            finally:
                await runner.cleanup()

    return {"dashboard": run}
