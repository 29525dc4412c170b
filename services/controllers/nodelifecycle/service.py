"""Wiring of the node lifecycle controller (component "node-controller").

Informer over desired nodes, desired pods and observed nodes; handlers enqueue node
names (a pod change enqueues the node it is bound to, when that node can evict:
tainted NoExecute or marked unreachable); a worker re-reads the caches (the node's
pods only when they can change the plan: `pods_matter`),
runs the pure `reconcile` and executes the plan: observed Ready=Unknown records,
PATCHes of the node's taints, DELETEs of evicted pods (grace period 0 when the node
is unreachable), events. Each node is re-examined when its next deadline falls due.
Replicas split the nodes by partition (group "node-controller" on desired nodes).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any

from pydantic import ValidationError

from schemas.core import Node
from schemas.pod import Pod
from schemas.records import Observed, ObservedMeta
from services.controllers.machinery.host import ControllerHost
from services.controllers.machinery.informer import SharedInformer
from services.controllers.machinery.writes import Target, delete_request, patch_request
from services.controllers.nodelifecycle.reconcile import (
    WRITER, Config, Emit, Evict, MarkUnknown, NodeFacts, Plan, SetTaints, pods_matter, reconcile,
)
from services.runtime.config import Settings
from services.runtime.informer import Change
from services.runtime.logging import get_logger
from services.runtime.supervisor import Component
from services.runtime.topics import Topics

log = get_logger(__name__)


def nodelifecycle_components(settings: Settings, config: Config | None = None,
                             shared: SharedInformer | None = None) -> dict[str, Component]:
    return {"node-controller": NodeLifecycleController(settings, config or Config.from_env(), shared).run}


class NodeLifecycleController:
    def __init__(self, settings: Settings, config: Config, shared: SharedInformer | None = None) -> None:
        topics = Topics(settings.topic_prefix)
        self._nodes_t, self._pods_t = topics.desired("nodes"), topics.desired("pods")
        self._observed_t = topics.observed("nodes")
        self.config = config
        self.host = ControllerHost(settings, component=WRITER,
                                   topics=[self._nodes_t, self._pods_t, self._observed_t],
                                   ownership_topic=self._nodes_t,
                                   resync_s=max(1.0, min(10.0, config.grace_s / 2)),
                                   controller=self, shared=shared)
        self._pods_by_node: dict[str, set[str]] = {}

    async def run(self) -> None:
        await self.host.run(self)

    # -- keys ------------------------------------------------------------------------------
    def observe(self, change: Change[Any]) -> None:
        if change.topic == self._pods_t:
            old, new = _node_of(change.old), _node_of(change.new)
            if old and old != new:
                self._pods_by_node.get(old, set()).discard(change.key)
            if new:
                self._pods_by_node.setdefault(new, set()).add(change.key)

    def keys_for(self, change: Change[Any]) -> Iterable[str]:
        if change.topic != self._pods_t:
            return [change.key]
        return {n for n in (_node_of(change.old), _node_of(change.new)) if n and self._may_evict(n)}

    def _may_evict(self, name: str) -> bool:
        """A pod change matters to its node's sync only when the node is tainted
        NoExecute or the controller has marked it unreachable (`pods_matter`); a node
        that goes stale is synced at its deadline and reads its pods then."""
        informer = self.host.informer
        node = informer.get(self._nodes_t, name) or {}
        taints = (node.get("spec") or {}).get("taints") or ()
        if any(isinstance(t, dict) and t.get("effect") == "NoExecute" for t in taints):
            return True
        observed = informer.get(self._observed_t, name) or {}
        return observed.get("writer") == WRITER

    def all_keys(self) -> Iterable[str]:
        return self.host.informer.items(self._nodes_t).keys()

    # -- one node --------------------------------------------------------------------------
    async def sync(self, name: str) -> None:
        now = datetime.now(timezone.utc)
        facts = self._facts(name)
        if facts is None:
            return
        if pods_matter(facts, now, self.config):
            facts = replace(facts, pods=tuple(self._pods(name)))
        plan = reconcile(facts, now, self.config)
        await self._execute(plan, facts)
        if plan.requeue_after is not None:
            self.host.add_after(name, plan.requeue_after)

    def _facts(self, name: str) -> NodeFacts | None:
        informer = self.host.informer
        raw = informer.get(self._nodes_t, name)
        if raw is None:
            return None
        try:
            node = Node.model_validate(raw)
            seen = informer.get(self._observed_t, name)
            observed = Observed.model_validate(seen) if seen else None
        except ValidationError as exc:
            log.warning("node.unreadable", node=name, error=str(exc)[:300])
            return None
        return NodeFacts(node, observed)

    def _pods(self, name: str) -> Iterable[Pod]:
        for key in sorted(self._pods_by_node.get(name, ())):
            raw = self.host.informer.get(self._pods_t, key)
            if raw is None or _node_of(raw) != name:
                continue
            try:
                yield Pod.model_validate(raw)
            except ValidationError as exc:
                log.warning("pod.unreadable", pod=key, error=str(exc)[:300])

    # -- the executor ----------------------------------------------------------------------
    async def _execute(self, plan: Plan, facts: NodeFacts) -> None:
        """Run the actions in order; an action already asked for (expectations) is
        skipped, and so is the event that announces it."""
        asked = True
        for action in plan.actions:
            if isinstance(action, Emit):
                if asked:
                    await self.host.event(reason=action.reason, message=action.message,
                                          involved=action.involved, type_=action.type_)
                continue
            asked = self.host.expectations.fresh(_token(action, facts))
            if asked:
                await self._one(action)

    async def _one(self, action: MarkUnknown | SetTaints | Evict) -> None:
        host = self.host
        if isinstance(action, MarkUnknown):
            record = Observed(apiVersion="v1", kind="Node", writer=WRITER, status=action.status,
                              metadata=ObservedMeta(name=action.node, uid=action.uid))
            await host.observed("nodes", action.node, record)
            log.info("node.unknown", node=action.node)
        elif isinstance(action, SetTaints):
            taints = [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in action.taints]
            target = Target("v1", "Node", action.node, resource_version=action.resource_version)
            await host.request(patch_request(target, {"spec": {"taints": taints or None}}, writer=WRITER))
            log.info("node.taints", node=action.node, added=action.added, removed=action.removed)
        else:
            target = Target("v1", "Pod", action.name, action.namespace, action.uid, action.resource_version)
            await host.request(delete_request(target, writer=WRITER,
                                              grace_period_seconds=0 if action.force else None))


def _token(action: MarkUnknown | SetTaints | Evict, facts: NodeFacts) -> tuple[Any, ...]:
    if isinstance(action, MarkUnknown):
        return ("unknown", action.node, facts.observed.observed_at if facts.observed else None)
    if isinstance(action, SetTaints):
        return ("taints", action.node, action.resource_version)
    return ("evict", action.namespace, action.name, action.resource_version, action.force)


def _node_of(pod: Any) -> str | None:
    if not isinstance(pod, dict):
        return None
    node = (pod.get("spec") or {}).get("nodeName")
    return node if isinstance(node, str) and node else None
