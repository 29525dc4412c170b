"""Wiring of the controller manager (`kafkube serve controllers`): every controller
of the process, by name, as supervisor components. Each group of controllers adds
its components in `controllers_components` with one `|=` line (a plain dict merge)."""

from __future__ import annotations

from services.controllers.machinery.informer import SharedInformer
from services.runtime.config import Settings
from services.runtime.supervisor import Component


def controllers_components(settings: Settings) -> dict[str, Component]:
    """Every controller reads through ONE informer (`SharedInformer`): each record is
    decoded once and each object stored once per process, whatever reads it."""
    shared = SharedInformer(settings)
    components: dict[str, Component] = {}
    components |= workload_components(settings, shared)
    components |= cluster_components(settings, shared)
    components |= autoscaling_components(settings, shared)
    components |= batch_components(settings, shared)
    components |= storage_components(settings, shared)
    components |= daemonset_components(settings, shared)
    components |= statefulset_components(settings, shared)
    return components


def workload_components(settings: Settings, shared: SharedInformer | None = None) -> dict[str, Component]:
    """ReplicaSet, ReplicationController and Deployment controllers, each on its own
    ControllerHost (component, work queue and consumer group named after it)."""
    from services.controllers.deployment.controller import DeploymentController
    from services.controllers.replicaset.controller import ReplicaController
    from services.controllers.replicaset.workload import REPLICASET, REPLICATION_CONTROLLER

    replicas = [ReplicaController(settings, kind, shared) for kind in (REPLICASET, REPLICATION_CONTROLLER)]
    deployments = DeploymentController(settings, shared)
    return {**{c.host.component: c.run for c in replicas}, deployments.host.component: deployments.run}


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


def storage_components(settings: Settings, shared: SharedInformer | None = None) -> dict[str, Component]:
    """The PersistentVolume controller: binder, local provisioner, reclaim, expansion, PVC/PV protection."""
    from services.controllers.volume.service import volume_components

    return volume_components(settings, shared)


def daemonset_components(settings: Settings, shared: SharedInformer | None = None) -> dict[str, Component]:
    """The DaemonSet controller (its ControllerRevisions too)."""
    from services.controllers.daemonset.service import daemonset_components as components

    return components(settings, shared)


def statefulset_components(settings: Settings, shared: SharedInformer | None = None) -> dict[str, Component]:
    """The StatefulSet controller."""
    from services.controllers.statefulset.service import statefulset_components as components

    return components(settings, shared)
