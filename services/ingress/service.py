"""Wiring of the ingress controller (`kafkube serve ingress`).

An informer follows desired Ingresses, IngressClasses, Services, Endpoints (desired, for
Services without selector, and observed, the endpoints controller's), Secrets (for their
versions: values are asked of the API, `secrets.TlsSecrets`) and its own output,
`kafkube.observed.ingresses`. Every change marks the state dirty; one loop then: picks
the Ingresses of our class (`classes.served`) that the model reads, loads the TLS Secrets they name, builds
the routing table (`routing.build`) and hands it to the `Forwarder`, and writes the
`status.loadBalancer` it owes (`classes.status_changes`), signed as
`system:kafkube-ingress`. The HTTP and HTTPS listeners serve from the current table.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import ssl
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from aiokafka import AIOKafkaProducer

from schemas.auth import INGRESS_USER
from schemas.records import Observed, ObservedMeta, WriteRequest
from services.ingress.classes import CONTROLLER, served, status_changes, unusable
from services.ingress.forward import Forwarder
from services.ingress.routing import Table, build
from services.ingress.secrets import TlsSecrets
from services.ingress.tls import Certificates
from services.runtime.bus import encode, make_producer
from services.runtime.buskeys import bus_trust
from services.runtime.config import Settings
from services.runtime.hostnet import node_address
from services.runtime.identity import token_headers
from services.runtime.informer import Informer
from services.runtime.logging import get_logger
from services.runtime.address import BadAddress, parse_address
from services.runtime.supervisor import Component
from services.runtime.topics import Topics

log = get_logger(__name__)
WRITER = "ingress-controller"
RESYNC_S = 30.0


@dataclass(frozen=True, slots=True)
class IngressOptions:
    http_address: str = "0.0.0.0:80"
    https_address: str | None = "0.0.0.0:443"  # None: no TLS listener
    status_address: str = ""  # status.loadBalancer.ingress[].ip; "" : the node's address

    @classmethod
    def from_env(cls) -> "IngressOptions":
        env = os.environ
        https = env.get("KAFKUBE_INGRESS_HTTPS_ADDRESS", "0.0.0.0:443")
        options = cls(http_address=env.get("KAFKUBE_INGRESS_HTTP_ADDRESS", "0.0.0.0:80"),
                      https_address=None if https.lower() in ("", "off") else https,
                      status_address=env.get("KAFKUBE_INGRESS_STATUS_ADDRESS") or node_address())
        for name, value in (("KAFKUBE_INGRESS_HTTP_ADDRESS", options.http_address),
                            ("KAFKUBE_INGRESS_HTTPS_ADDRESS", options.https_address)):
            if value is not None:
                try:
                    parse_address(value)
                except BadAddress:
                    raise BadAddress(f"{name}={value!r}: expected host:port, e.g. 0.0.0.0:80") from None
        return options


def ingress_components(settings: Settings) -> dict[str, Component]:
    return {"ingress": IngressController(settings, IngressOptions.from_env()).run}


class IngressController:
    def __init__(self, settings: Settings, options: IngressOptions) -> None:
        self._settings, self._options = settings, options
        topics = Topics(settings.topic_prefix)
        self._requests_t = topics.requests
        self._ing_t, self._cls_t = topics.desired("ingresses"), topics.desired("ingressclasses")
        self._svc_t, self._secret_t = topics.desired("services"), topics.desired("secrets")
        self._ep_t, self._ep_obs_t = topics.desired("endpoints"), topics.observed("endpoints")
        self._out_t = topics.observed("ingresses")
        trust = bus_trust(settings)
        self._signer = trust.observed_signer(INGRESS_USER)
        self._view: Informer[Any] = Informer(
            settings, [self._ing_t, self._cls_t, self._svc_t, self._secret_t, self._ep_t, self._ep_obs_t, self._out_t],
            name="ingress", trust=trust)
        self._dirty = asyncio.Event()
        self._forwarder = Forwarder()
        self._producer: AIOKafkaProducer | None = None
        self._secrets = TlsSecrets(settings, self._send, principal=INGRESS_USER)
        self._written: dict[str, dict[str, Any] | None] = {}
        self._skipped: dict[str, str] = {}  # Ingress key -> the resourceVersion logged as unusable

    async def run(self) -> None:
        self._view.add_handler(lambda _change: self._dirty.set())
        self._producer = make_producer(self._settings)
        await self._producer.start()
        await self._forwarder.start()
        runner = web.ServerRunner(web.Server(self._forwarder.handler("http")))
        secure = web.ServerRunner(web.Server(self._forwarder.handler("https")))
        try:
            async with self._view:
                await self._view.wait_synced()
                await self._listen(runner, self._options.http_address, None, "http")
                if self._options.https_address:
                    certificates = Certificates(self._pick)
                    await self._listen(secure, self._options.https_address, certificates.context, "https")
                log.info("ingress.started", controller=CONTROLLER, address=self._options.status_address)
                while True:
                    self._dirty.clear()
                    await self.reconcile()
                    with contextlib.suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(self._dirty.wait(), RESYNC_S)
        finally:
            await runner.cleanup()
            await secure.cleanup()
            await self._forwarder.close()
            await self._producer.stop()

    async def _listen(self, runner: web.ServerRunner, address: str, context: ssl.SSLContext | None,
                      scheme: str) -> None:
        host, port = parse_address(address)
        await runner.setup()
        site = web.TCPSite(runner, host, port, ssl_context=context)
        await site.start()
        server = getattr(site, "_server", None)
        bound = [s.getsockname() for s in getattr(server, "sockets", None) or []]
        log.info("ingress.serving", scheme=scheme, address=address,
                 bound=[f"{b[0]}:{b[1]}" for b in bound])

    def _pick(self, server_name: str) -> ssl.SSLContext | None:
        key = self._forwarder.table.secret_for(server_name)
        return self._secrets.get(key) if key else None

    async def reconcile(self) -> None:
        ours = self._usable(served(self._view.items(self._ing_t), self._view.items(self._cls_t)))
        services = self._view.items(self._svc_t)
        endpoints = {**self._view.items(self._ep_t), **self._view.items(self._ep_obs_t)}
        table = build(ours.values(), services, endpoints)
        await self._secrets.refresh(set(table.tls.values()), self._view.items(self._secret_t))
        if table != self._forwarder.table:
            self._log_table(table)
        self._forwarder.table = table
        observed = {**self._view.items(self._out_t), **self._written}
        for key, status in status_changes(ours, observed, address=self._options.status_address,
                                          writer=WRITER).items():
            await self._write_status(key, ours.get(key), status)

    def _usable(self, ingresses: dict[str, Any]) -> dict[str, Any]:
        """The Ingresses the model reads; each other one is logged once per version and skipped."""
        out = {}
        for key, ingress in ingresses.items():
            problem = unusable(ingress)
            if problem is None:
                out[key] = ingress
                continue
            version = str((ingress.get("metadata") or {}).get("resourceVersion") or "")
            if self._skipped.get(key) != version:
                namespace, _, name = key.partition("/")
                log.warning("ingress.unusable", kind="Ingress", namespace=namespace, name=name, error=problem)
            self._skipped[key] = version
        return out

    @staticmethod
    def _log_table(table: Table) -> None:
        log.info("ingress.routes", hosts=sorted(table.exact), wildcards=sorted("*" + w for w in table.wildcard),
                 any_host=len(table.any_host), default=table.default.service if table.default else None,
                 tls=sorted(table.tls), no_endpoints=sorted({t.service for t in table.targets() if not t.backends}))

    async def _write_status(self, key: str, ingress: Any, status: dict[str, Any] | None) -> None:
        assert self._producer is not None
        record = None
        if status is not None:
            meta = ingress.get("metadata") or {}
            name = str(meta.get("name") or key.partition("/")[2])
            record = Observed(apiVersion="networking.k8s.io/v1", kind="Ingress", writer=WRITER, status=status,
                              metadata=ObservedMeta(name=name, namespace=meta.get("namespace"), uid=meta.get("uid")))
        value = encode(record)
        await self._producer.send_and_wait(self._out_t, key=key.encode(), value=value,
                                           headers=self._signer.headers(self._out_t, key, value))
        self._written[key] = None if record is None else record.model_dump(mode="json", by_alias=True)
        namespace, _, name = key.partition("/")
        log.info("ingress.status", kind="Ingress", namespace=namespace, name=name, status=status)

    async def _send(self, request: WriteRequest) -> None:
        assert self._producer is not None
        await self._producer.send_and_wait(self._requests_t, key=request.key.encode(), value=encode(request),
                                           headers=token_headers(self._settings))
