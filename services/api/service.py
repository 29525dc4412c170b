"""Wiring of the API service: topics, the namespace view, the manifest intake and
the request writer, run under the process supervisor by `kafkube serve api`."""

from __future__ import annotations

from services.api.intake import ManifestPartition
from services.api.cluster_views import BUILTIN_NAMESPACES, ClusterViews
from services.api.writer import RequestPartition
from services.runtime.identity import token_headers
from services.runtime.bus import encode, make_producer
from services.runtime.config import Settings
from services.runtime.supervisor import Component
from services.runtime.topics import Topics
from services.runtime.transactional import TransactionalLoop
from schemas.records import Op, WriteRequest



def api_components(settings: Settings) -> dict[str, Component]:
    topics = Topics(settings.topic_prefix)
    intake = TransactionalLoop(settings, topics.manifests, group="api-intake",
                               factory=lambda _p: ManifestPartition(settings, topics))

    async def run_writer() -> None:
        views = ClusterViews.of(settings, topics)
        await views.start()
        try:
            writer = TransactionalLoop(
                settings, topics.requests, group="api-writer",
                factory=lambda p: RequestPartition(settings, topics, views, p))
            await ensure_builtin_namespaces(settings, topics)
            await writer.run()
        finally:
            await views.stop()

    return {"api-intake": intake.run, "api-writer": run_writer}


async def ensure_builtin_namespaces(settings: Settings, topics: Topics) -> None:
    """Ask for the built-in namespaces; ENSURE is a no-op where they exist."""
    async with make_producer(settings) as producer:
        for name in BUILTIN_NAMESPACES:
            request = WriteRequest(op=Op.ENSURE, apiVersion="v1", kind="Namespace", name=name,
                                   body={"apiVersion": "v1", "kind": "Namespace",
                                         "metadata": {"name": name}}, writer="api", reply=False)
            await producer.send_and_wait(topics.requests, key=name.encode(), value=encode(request),
                                         headers=token_headers(settings))
