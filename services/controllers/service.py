"""Wiring of the controller manager (`kafkube serve controllers`): every controller
of the process, by name, as supervisor components. Each group of controllers adds
its components in `controllers_components` with one `|=` line (a plain dict merge)."""

from __future__ import annotations

import asyncio

from services.controllers.machinery.informer import SharedInformer
from services.runtime.bus import make_producer
from services.runtime.config import Settings
from services.runtime.logging import get_logger
from services.runtime.supervisor import Component

log = get_logger(__name__)


def controllers_components(settings: Settings) -> dict[str, Component]:
    """Every controller reads through ONE informer (`SharedInformer`): each record is
    decoded once and each object stored once per process, whatever reads it."""
    shared = SharedInformer(settings)
    components: dict[str, Component] = {}
    components |= workload_components(settings, shared)
    components |= cluster_components(settings, shared)
    components |= autoscaling_components(settings, shared)
    components |= batch_components(settings, shared)
    components |= statefulset_components(settings, shared)
    return components


def workload_components(settings: Settings, shared: SharedInformer | None = None) -> dict[str, Component]:
    """ReplicaSet, ReplicationController and Deployment controllers over one shared cache."""
    from services.controllers.deployment.controller import DeploymentController
    from services.controllers.machinery.base import Producer
    from services.controllers.machinery.cache import WorkloadCache
    from services.controllers.replicaset.controller import replicaset_controller, replication_controller

    cache = WorkloadCache(settings, shared)  # built now: a shared informer's views come before it starts
    producer = Producer()
    controllers = [replicaset_controller(settings, cache, producer),
                   replication_controller(settings, cache, producer),
                   DeploymentController(settings, cache, producer)]

    async def run() -> None:
        async with cache.informer, make_producer(settings) as kafka:
            await cache.informer.wait_synced()
            producer.producer = kafka
            log.info("controllers.synced", pods=len(cache.keys("pods")), replicasets=len(cache.keys("replicasets")),
                     deployments=len(cache.keys("deployments")))
            async with asyncio.TaskGroup() as group:
                for controller in controllers:
                    group.create_task(controller.run(), name=controller.writer)

    return {"workload-controllers": run}


def cluster_components(settings: Settings, shared: SharedInformer | None = None) -> dict[str, Component]:
    """Node lifecycle, garbage collector and namespace controllers (over `shared`, or
    each with its own informer)."""
    from services.controllers.gc.service import gc_components
    from services.controllers.namespace.service import namespace_components
    from services.controllers.nodelifecycle.service import nodelifecycle_components

    return {**nodelifecycle_components(settings, shared=shared), **gc_components(settings, shared),
            **namespace_components(settings, shared)}


def autoscaling_components(settings: Settings, shared: SharedInformer | None = None) -> dict[str, Component]:
    """The horizontal pod autoscaler (its sync period from KAFKUBE_HPA_SYNC_PERIOD)."""
    from services.controllers.hpa.service import hpa_components

    return hpa_components(settings, shared)


def batch_components(settings: Settings, shared: SharedInformer | None = None) -> dict[str, Component]:
    """The Job and CronJob controllers (the CronJob clock: KAFKUBE_CRONJOB_TIME_SCALE, tests only)."""
    from services.controllers.cronjob.service import cronjob_components
    from services.controllers.job.service import job_components

    return {**job_components(settings, shared), **cronjob_components(settings, shared)}


def statefulset_components(settings: Settings, shared: SharedInformer | None = None) -> dict[str, Component]:
    """The StatefulSet controller."""
    from services.controllers.statefulset.service import statefulset_components as components

    return components(settings, shared)
