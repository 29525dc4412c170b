"""Wiring of `kafkube serve apiserver`: the object store, the door (authentication and
the RBAC view), the requests/answers channel, and the HTTPS server on
`KAFKUBE_APISERVER_ADDRESS`, run as one component under the process supervisor.
Nothing is served until the store and RBAC view have read their topics to the end."""

from __future__ import annotations

import asyncio
import ssl

from aiohttp import web

from services.apiserver.answers import Requests
from services.apiserver.app import build_app
from services.apiserver.audit import DoorAudit
from services.apiserver.auth import Door
from services.apiserver.events import EventStore
from services.apiserver.options import ApiServerOptions, NoCertificate
from services.apiserver.resources import Resources
from services.apiserver.secrets import SecretValues
from services.apiserver.store import ObjectStore
from services.apiserver.writes import Writer
from services.runtime.config import Settings
from services.runtime.logging import get_logger
from services.runtime.metrics_feed import MetricsFeed
from services.runtime.supervisor import Component

log = get_logger(__name__)


def tls_context(options: ApiServerOptions) -> ssl.SSLContext:
    if not options.cert_file or not options.key_file:
        raise NoCertificate("set KAFKUBE_APISERVER_CERT_FILE and KAFKUBE_APISERVER_KEY_FILE "
                            "(kafkube init DIR writes DIR/apiserver.crt and DIR/apiserver.key)")
    # Not ssl.create_default_context: for CLIENT_AUTH it trusts the system's CAs, and a
    # client certificate any public CA signed must not name a user here.
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(options.cert_file, options.key_file)
    if options.client_ca_file:
        # Optional, as kube-apiserver's --client-ca-file: a client without a certificate
        # presents a bearer token; a certificate the CA did not sign fails the handshake.
        context.verify_mode = ssl.CERT_OPTIONAL
        context.load_verify_locations(cafile=options.client_ca_file)
    return context


def apiserver_components(settings: Settings, options: ApiServerOptions) -> dict[str, Component]:
    context = tls_context(options)  # a missing certificate stops `serve` before anything starts

    async def run() -> None:
        async with ObjectStore(settings) as store, Door(settings) as door, Requests(settings) as requests, \
                EventStore(settings) as events, DoorAudit(settings) as audit, \
                MetricsFeed(settings, follow=True) as metrics:
            writer = Writer(store, requests, SecretValues(requests))
            resources = Resources(settings, store, door, writer, events=events, metrics=metrics.latest)
            app = build_app(store, door, resources, audit)
            runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
            await runner.setup()
            try:
                host, port = options.host_port
                await web.TCPSite(runner, host, port, ssl_context=context).start()
                log.info("apiserver.listening", url=options.url)
                await asyncio.gather(requests.failed(), events.failed(), metrics.failed())  # returns only by failing
            finally:
                await runner.cleanup()

    return {"apiserver": run}
