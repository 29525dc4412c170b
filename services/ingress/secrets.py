"""The TLS Secrets the served Ingresses name, as loaded certificates.

A Secret stored encrypted (the shipped deployments encrypt at rest) opens only in the
API: the controller sends a `SecretRequest` as its own identity (`system:kafkube-ingress`,
allowed `get secrets` by its ClusterRole) with a one-off X25519 key, and opens the sealed
answer (services/runtime/secret_requests.py), as `kafkube get secret -o yaml` does. A
Secret stored in clear is used as stored. Each is asked for once per resourceVersion.
A Secret that is missing, not `kubernetes.io/tls`, refused or unusable is logged, its
hosts get the default certificate, and it is tried again 30 s later. Called by `services.ingress.service`.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import ssl
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import orjson
from aiokafka import TopicPartition

from schemas.records import REQUEST_ID_ANNOTATION, WriteRequest
from services.ingress.tls import CertificateError, server_context
from services.runtime.bus import make_consumer, partition_for, partitions_of
from services.runtime.config import Settings
from services.runtime.events import event_key, involved_object
from services.runtime.logging import get_logger
from services.runtime.sealing import Recipient
from services.runtime.secret_requests import SecretReadError, answer_data, secret_request
from services.runtime.secret_values import has_encrypted_data
from services.runtime.topics import Topics

log = get_logger(__name__)
TLS_TYPE = "kubernetes.io/tls"
WRITER = "ingress"
Send = Callable[[WriteRequest], Awaitable[None]]


class SecretUnusable(Exception):
    """This Secret cannot serve TLS (the message says why)."""


def tls_pair(secret: Mapping[str, Any], data: Mapping[str, Any]) -> tuple[bytes, bytes]:
    """`tls.crt` and `tls.key` of a `kubernetes.io/tls` Secret's (opened) data."""
    if secret.get("type") != TLS_TYPE:
        raise SecretUnusable(f'type is "{secret.get("type") or "Opaque"}", not "{TLS_TYPE}"')
    try:
        return base64.b64decode(str(data["tls.crt"])), base64.b64decode(str(data["tls.key"]))
    except KeyError as exc:
        raise SecretUnusable(f"no {exc.args[0]} in data") from None
    except (binascii.Error, ValueError):
        raise SecretUnusable("tls.crt or tls.key is not base64") from None


async def ask(settings: Settings, send: Send, request: WriteRequest, *, timeout_s: float) -> dict[str, Any]:
    """Send `request` and return the API's answer event (read from the one partition of
    `kafkube.events` it lands on, matched by request id)."""
    events = Topics(settings.topic_prefix).events
    involved = involved_object(api_version=request.api_version, kind=request.kind, name=request.name,
                               namespace=request.namespace)
    consumer = make_consumer(settings)
    await consumer.start()
    try:
        tp = TopicPartition(events, partition_for(event_key(involved), len(await partitions_of(consumer, events))))
        consumer.assign([tp])
        consumer.seek(tp, (await consumer.end_offsets([tp]))[tp])
        await send(request)
        return await asyncio.wait_for(_answer(consumer, request.id), timeout_s)
    except asyncio.TimeoutError:
        raise SecretReadError(f'secret "{request.name}": the API did not answer within {timeout_s:.0f}s') from None
    finally:
        await consumer.stop()


async def _answer(consumer: Any, request_id: str) -> dict[str, Any]:
    while True:
        for records in (await consumer.getmany(timeout_ms=500)).values():
            for record in records:
                try:
                    event = orjson.loads(record.value or b"null")
                except orjson.JSONDecodeError:
                    continue
                annotations = ((event.get("metadata") or {}).get("annotations") or {}) if isinstance(event, dict) else {}
                if annotations.get(REQUEST_ID_ANNOTATION) == request_id:
                    return dict(event)


class TlsSecrets:
    """Loaded certificates by Secret key, refreshed when the Secret's version changes; a
    Secret that could not be loaded is tried again after `retry_s` (at the next reconcile)."""

    def __init__(self, settings: Settings, send: Send, *, principal: str, timeout_s: float = 30.0,
                 retry_s: float = 30.0) -> None:
        self._settings, self._send, self._principal, self._timeout_s = settings, send, principal, timeout_s
        self._retry_s = retry_s
        # key -> (resourceVersion, context or None when unusable, monotonic time of the load)
        self._loaded: dict[str, tuple[str, ssl.SSLContext | None, float]] = {}

    def get(self, key: str) -> ssl.SSLContext | None:
        held = self._loaded.get(key)
        return held[1] if held else None

    async def refresh(self, keys: set[str], stored: Mapping[str, Mapping[str, Any] | None]) -> None:
        """Load each Secret of `keys` whose stored version is new (or that failed a while
        ago); forget the others."""
        for key in [k for k in self._loaded if k not in keys]:
            del self._loaded[key]
        for key in sorted(keys):
            secret = stored.get(key)
            version = str(((secret or {}).get("metadata") or {}).get("resourceVersion") or "")
            held = self._loaded.get(key)
            if held and held[0] == version and (held[1] is not None or time.monotonic() - held[2] < self._retry_s):
                continue
            self._loaded[key] = (version, await self._load(key, secret), time.monotonic())

    async def _load(self, key: str, secret: Mapping[str, Any] | None) -> ssl.SSLContext | None:
        namespace, _, name = key.partition("/")
        try:
            if secret is None:
                raise SecretUnusable("not found")
            data = secret.get("data") or {}
            if has_encrypted_data(secret):
                recipient = Recipient()
                request = secret_request(namespace, name, writer=WRITER, principal=self._principal,
                                         recipient=recipient)
                answer = await ask(self._settings, self._send, request, timeout_s=self._timeout_s)
                data = answer_data(answer, request, recipient=recipient)
            context = server_context(*tls_pair(secret, data))
        except (SecretUnusable, SecretReadError, CertificateError) as exc:
            log.warning("ingress.tls_secret_unusable", kind="Secret", namespace=namespace, name=name, error=str(exc))
            return None
        log.info("ingress.tls_secret_loaded", kind="Secret", namespace=namespace, name=name)
        return context
