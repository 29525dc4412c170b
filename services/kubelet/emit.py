"""Everything the kubelet writes to Kafka, through one idempotent producer: events
(component "kubelet", host = node), observed pod and node status, write requests
(node registration, deletion confirmation), log lines and resource metrics. Observed records are signed
with the node's writer key (`signer`, identity `system:node:<node>`). Used by the sync, the
probe and log tasks and the node heartbeat."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Literal

from aiokafka import AIOKafkaProducer

from schemas.metrics import Metrics
from schemas.records import LogLine, Observed, ObservedMeta, Op, WriteRequest
from services.runtime.bus import encode
from services.runtime.events import event_key, involved_object, make_event
from services.runtime.logging import get_logger
from services.runtime.topics import Topics
from services.runtime.trust import ObservedSigner

log = get_logger(__name__)
WRITER = "kubelet"


class Emitter:
    def __init__(self, producer: AIOKafkaProducer, topics: Topics, node: str, *,
                 identity: list[tuple[str, bytes]] | None = None, signer: ObservedSigner | None = None) -> None:
        self.producer, self.topics, self.node = producer, topics, node
        self.signer = signer  # None: observed records go unsigned (an insecure bus, unit tests)
        self.identity = identity or []  # the kubelet's token header on its write requests

    async def event(self, pod: Any, reason: str, message: str, *,
                    type_: Literal["Normal", "Warning"] = "Normal", container: str | None = None) -> None:
        """One Event about a pod (`pod` is a schemas Pod), optionally one of its containers."""
        meta = pod.metadata
        involved = involved_object(api_version="v1", kind="Pod", name=meta.name,
                                   namespace=meta.namespace or "default", uid=meta.uid,
                                   resource_version=meta.resource_version)
        if container:
            involved["fieldPath"] = f"spec.containers{{{container}}}"
        event = make_event(reason=reason, message=message, involved=involved, component=WRITER,
                           instance=self.node, now=datetime.now(timezone.utc), type_=type_)
        await self.producer.send(self.topics.events, key=event_key(involved).encode(), value=encode(event))
        log.info("pod.event", pod=event_key(involved), reason=reason, message=message[:200])

    async def pod_status(self, namespace: str, name: str, uid: str | None, status: dict[str, Any]) -> None:
        record = Observed(apiVersion="v1", kind="Pod", writer=WRITER, status=status,
                          metadata=ObservedMeta(name=name, namespace=namespace, uid=uid))
        await self._observed("pods", f"{namespace}/{name}", encode(record))

    async def pod_gone(self, key: str) -> None:
        await self._observed("pods", key, None)

    async def node_status(self, name: str, uid: str | None, status: dict[str, Any]) -> None:
        record = Observed(apiVersion="v1", kind="Node", writer=WRITER, status=status,
                          metadata=ObservedMeta(name=name, uid=uid))
        await self._observed("nodes", name, encode(record))

    async def _observed(self, plural: str, key: str, value: bytes | None) -> None:
        topic = self.topics.observed(plural)
        headers = self.signer.headers(topic, key, value) if self.signer is not None else []
        await self.producer.send_and_wait(topic, key=key.encode(), value=value, headers=headers)

    async def request(self, request: WriteRequest) -> None:
        await self.producer.send_and_wait(self.topics.requests, key=request.key.encode(), value=encode(request),
                                          headers=self.identity)

    async def confirm_deletion(self, namespace: str, name: str, uid: str | None) -> None:
        """The pod's containers are gone: ask the API to remove it (grace period 0)."""
        await self.request(WriteRequest(op=Op.DELETE, apiVersion="v1", kind="Pod", namespace=namespace,
                                        name=name, gracePeriodSeconds=0, writer=f"kubelet/{self.node}",
                                        principal=f"system:node:{self.node}", reply=False))

    async def metrics(self, key: str, record: Metrics) -> None:
        """A node's (key: its name) or a pod's (key: `<namespace>/<name>`) resource usage."""
        await self.producer.send(self.topics.metrics, key=key.encode(), value=encode(record))

    async def log_line(self, line: LogLine) -> None:
        await self.producer.send(self.topics.logs, key=f"{line.namespace}/{line.pod}".encode(),
                                 value=encode(line))
