"""Wiring of the namespace controller (component "namespace-controller").

One informer over every namespaced desired topic, desired namespaces and observed
namespaces; an index namespace → its objects. Handlers enqueue namespace names (an
object's change only when its namespace is terminating or gone). A worker re-reads
the caches, runs the pure `reconcile` and executes: observed status records on
`kafkube.observed.namespaces` (this controller is their one writer), DELETEs of the
contents, the PATCH that removes the `kubernetes` finalizer. Contents of a namespace
that is gone are deleted only after a fresh read barrier confirms it is gone.
Replicas split the namespaces by partition (group "namespace-controller").
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any

from schemas.records import Observed, ObservedMeta
from schemas.registry import ALL_KINDS
from services.controllers.machinery.host import ControllerHost
from services.controllers.machinery.informer import SharedInformer
from services.controllers.machinery.writes import delete_request, patch_request
from services.controllers.namespace.reconcile import (
    WRITER, DeleteContent, Finalize, NamespaceFacts, Plan, WriteStatus, needs_contents, reconcile,
)
from services.runtime.config import Settings
from services.runtime.informer import Change
from services.runtime.logging import get_logger
from services.runtime.supervisor import Component
from services.runtime.topics import Topics

log = get_logger(__name__)


def namespace_components(settings: Settings, shared: SharedInformer | None = None) -> dict[str, Component]:
    return {WRITER: NamespaceController(settings, shared).run}


class NamespaceController:
    def __init__(self, settings: Settings, shared: SharedInformer | None = None) -> None:
        topics = Topics(settings.topic_prefix)
        self._ns_t, self._observed_t = topics.desired("namespaces"), topics.observed("namespaces")
        self._content_ts = [topics.desired(i.plural) for i in ALL_KINDS if i.namespaced]
        self.host = ControllerHost(settings, component=WRITER,
                                   topics=[self._ns_t, self._observed_t, *self._content_ts],
                                   ownership_topic=self._ns_t,
                                   controller=self, shared=shared)
        self._contents: dict[str, set[tuple[str, str]]] = {}

    async def run(self) -> None:
        await self.host.run(self)

    # -- keys ------------------------------------------------------------------------------
    def observe(self, change: Change[Any]) -> None:
        if change.topic in (self._ns_t, self._observed_t):
            return
        ns = change.key.split("/", 1)[0]
        ref = (change.topic, change.key)
        if change.new is None:
            found = self._contents.get(ns)
            if found is not None:
                found.discard(ref)
                if not found:
                    del self._contents[ns]
        else:
            self._contents.setdefault(ns, set()).add(ref)

    def keys_for(self, change: Change[Any]) -> Iterable[str]:
        if change.topic in (self._ns_t, self._observed_t):
            return [change.key]
        ns = change.key.split("/", 1)[0]
        current = self.host.informer.get(self._ns_t, ns)
        terminating = current is None or bool((current.get("metadata") or {}).get("deletionTimestamp"))
        return [ns] if terminating else []

    def all_keys(self) -> Iterable[str]:
        informer = self.host.informer
        return {*informer.items(self._ns_t), *informer.items(self._observed_t), *self._contents}

    # -- one namespace ---------------------------------------------------------------------
    async def sync(self, name: str) -> None:
        started = time.monotonic()
        plan = reconcile(self._facts(name), datetime.now(timezone.utc))
        if any(isinstance(a, DeleteContent) for a in plan.actions) and \
                self.host.informer.get(self._ns_t, name) is None:
            await self.host.fresh_view(started)  # gone, or not read yet?
            plan = reconcile(self._facts(name), datetime.now(timezone.utc))
        await self._execute(plan)
        if plan.requeue_after is not None:
            self.host.add_after(name, plan.requeue_after)

    def _facts(self, name: str) -> NamespaceFacts:
        """What `reconcile` needs: an active namespace's contents are not read (150,000
        pods in `default` made each of its syncs a sort of every one of them)."""
        informer = self.host.informer
        observed = informer.get(self._observed_t, name)
        namespace = informer.get(self._ns_t, name)
        contents = [o for o in (informer.get(*ref) for ref in sorted(self._contents.get(name, ())))
                    if o is not None] if needs_contents(namespace) else []
        return NamespaceFacts(name, namespace,
                              observed.get("status") if isinstance(observed, dict) else None, contents)

    async def _execute(self, plan: Plan) -> None:
        host = self.host
        for action in plan.actions:
            if isinstance(action, WriteStatus):
                if not host.expectations.fresh(("status", action.name, repr(action.status))):
                    continue
                record = None if action.status is None else Observed(
                    apiVersion="v1", kind="Namespace", writer=WRITER, status=action.status,
                    metadata=ObservedMeta(name=action.name, uid=action.uid))
                await host.observed("namespaces", action.name, record)
            elif isinstance(action, DeleteContent):
                t = action.target
                if host.expectations.fresh(("delete", t.kind, t.key, t.resource_version)):
                    await host.request(delete_request(t, writer=WRITER))
            elif isinstance(action, Finalize):
                t = action.target
                if host.expectations.fresh(("finalize", t.key, t.resource_version)):
                    await host.request(patch_request(t, action.patch, writer=WRITER))
                    log.info("namespace.finalized", namespace=t.name)
