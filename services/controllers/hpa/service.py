"""Wiring of the horizontal pod autoscaler (component "horizontal-pod-autoscaler").

Reads desired and observed HPAs, the scale targets (Deployments, ReplicaSets,
ReplicationControllers), desired pods and their observed status through the controller
manager's shared informer (an index namespace -> pod keys), and follows `kafkube.metrics`
(`MetricsFeed`: the kubelets' latest pod samples, no per-sync polling). Every HPA is
synced when it changes and every sync period (`KAFKUBE_HPA_SYNC_PERIOD`, 15 s as
kube-controller-manager's `--horizontal-pod-autoscaler-sync-period`): the pure
`reconcile` decides, this executor sends the rescale as a merge patch of the target's
`spec.replicas` on `kafkube.requests` (the controller manager's identity; the API
authorises, audits and decides it at the target's resourceVersion), writes the status on
`kafkube.observed.horizontalpodautoscalers` when it changed, and the events.
Replicas split the HPAs by partition (group "horizontal-pod-autoscaler")."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from pydantic import ValidationError

from schemas.autoscaling import HorizontalPodAutoscaler
from schemas.records import Observed, ObservedMeta
from services.controllers.machinery.host import ControllerHost
from services.controllers.machinery.writes import patch_request
from services.controllers.hpa.behavior import History
from services.controllers.hpa.facts import SCALABLE_KINDS, pod_facts
from services.controllers.hpa.reconcile import WRITER, HPAFacts, Plan, reconcile
from services.controllers.machinery.informer import SharedInformer
from services.runtime.config import Settings
from services.runtime.informer import Change
from services.runtime.logging import get_logger
from services.runtime.metrics_feed import MetricsFeed
from services.runtime.supervisor import Component
from services.runtime.topics import Topics

log = get_logger(__name__)
PLURAL = "horizontalpodautoscalers"


@dataclass(frozen=True, slots=True)
class Config:
    sync_period_s: float = 15.0  # KAFKUBE_HPA_SYNC_PERIOD

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> "Config":
        return cls(sync_period_s=float(env.get("KAFKUBE_HPA_SYNC_PERIOD", "15")))


def hpa_components(settings: Settings, shared: SharedInformer | None = None,
                   config: Config | None = None) -> dict[str, Component]:
    return {WRITER: HPAController(settings, shared, config or Config.from_env()).run}


class HPAController:
    def __init__(self, settings: Settings, shared: SharedInformer | None, config: Config) -> None:
        topics = Topics(settings.topic_prefix)
        self._settings = settings
        self._hpa_t, self._observed_t = topics.desired(PLURAL), topics.observed(PLURAL)
        self._pods_t, self._opods_t = topics.desired("pods"), topics.observed("pods")
        self._target_ts = {kind: topics.desired(plural) for kind, plural in SCALABLE_KINDS.items()}
        self.host = ControllerHost(settings, component=WRITER, ownership_topic=self._hpa_t,
                                   topics=[self._hpa_t, self._observed_t, self._pods_t, self._opods_t,
                                           *self._target_ts.values()],
                                   resync_s=config.sync_period_s, controller=self, shared=shared)
        self._pods: dict[str, set[str]] = {}  # namespace -> desired pod keys
        self._history: dict[str, History] = {}
        self._feed: MetricsFeed | None = None

    async def run(self) -> None:
        async with MetricsFeed(self._settings, follow=True) as feed:
            self._feed = feed
            async with asyncio.TaskGroup() as group:
                group.create_task(self.host.run(self), name=f"{WRITER}-host")
                group.create_task(feed.failed(), name=f"{WRITER}-metrics")

    # -- keys ------------------------------------------------------------------------------
    def observe(self, change: Change[Any]) -> None:
        if change.topic == self._pods_t:
            ns = change.key.split("/", 1)[0]
            if change.new is None:
                self._pods.get(ns, set()).discard(change.key)
            else:
                self._pods.setdefault(ns, set()).add(change.key)

    def keys_for(self, change: Change[Any]) -> Iterable[str]:
        if change.topic == self._hpa_t:
            return [change.key]  # not on its status: our own writes would sync it again at once
        return []  # targets, pods and metrics are read at the next sync, as upstream does

    def all_keys(self) -> Iterable[str]:
        informer = self.host.informer  # observed ones too: a status left by an HPA deleted meanwhile goes
        return {*informer.items(self._hpa_t), *informer.items(self._observed_t)}

    # -- one HPA ---------------------------------------------------------------------------
    async def sync(self, key: str) -> None:
        informer = self.host.informer
        desired, observed = informer.get(self._hpa_t, key), informer.get(self._observed_t, key)
        if desired is None:
            self._history.pop(key, None)
            if observed is not None:
                await self.host.observed(PLURAL, key, None)
            return
        try:
            hpa = HorizontalPodAutoscaler.model_validate(desired)
        except ValidationError as exc:  # the API admitted it: a bug or a newer writer; never stop
            log.warning("hpa.bad_record", key=key, error=str(exc)[:300])
            return
        plan = reconcile(self._facts(key, hpa, observed))
        await self._execute(key, hpa, observed, plan)

    def _facts(self, key: str, hpa: HorizontalPodAutoscaler, observed: Any) -> HPAFacts:
        informer = self.host.informer
        ns = hpa.metadata.namespace or "default"
        ref = hpa.spec.scale_target_ref
        topic = self._target_ts.get(ref.kind)
        target = informer.get(topic, f"{ns}/{ref.name}") if topic else None
        pods = []
        for pod_key in sorted(self._pods.get(ns, ())):
            if (pod := informer.get(self._pods_t, pod_key)) is not None:
                status = informer.get(self._opods_t, pod_key)
                pods.append(pod_facts(pod, status.get("status") if isinstance(status, dict) else None))
        now = datetime.now(timezone.utc)
        assert self._feed is not None
        metrics = {m.metadata.name or "": m for m in self._feed.latest.pods(now, ns)}
        return HPAFacts(hpa=hpa, status=observed.get("status") if isinstance(observed, dict) else None,
                        target=target, pods=pods, metrics=metrics,
                        history=self._history.get(key, History()), now=now)

    async def _execute(self, key: str, hpa: HorizontalPodAutoscaler, observed: Any, plan: Plan) -> None:
        host = self.host
        bound = log.bind(kind="HorizontalPodAutoscaler", namespace=hpa.metadata.namespace,
                         name=hpa.metadata.name, uid=hpa.metadata.uid)
        if (rescale := plan.rescale) is not None:
            if not host.expectations.fresh(("scale", key, rescale.target.resource_version, rescale.replicas)):
                return  # asked already at this version of the target: wait until the cache shows it
            await host.request(patch_request(rescale.target, {"spec": {"replicas": rescale.replicas}},
                                             writer=WRITER))
            bound.info("hpa.rescale", target=str(rescale.target), before=rescale.before, after=rescale.replicas)
        self._history[key] = plan.history
        if not isinstance(observed, dict) or observed.get("status") != plan.status:
            await host.observed(PLURAL, key, Observed(
                apiVersion=hpa.api_version, kind=hpa.kind, writer=WRITER, status=plan.status,
                metadata=ObservedMeta(name=hpa.metadata.name or "", namespace=hpa.metadata.namespace,
                                      uid=hpa.metadata.uid)))
        involved = {"apiVersion": hpa.api_version, "kind": hpa.kind, "namespace": hpa.metadata.namespace,
                    "name": hpa.metadata.name, "uid": hpa.metadata.uid,
                    "resourceVersion": hpa.metadata.resource_version}
        for event in plan.events:
            if host.expectations.fresh(("event", key, event.reason, event.message)):
                await host.event(reason=event.reason, message=event.message, involved=involved, type_=event.type)
