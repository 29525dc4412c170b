"""Wiring of the PersistentVolume controller (component "persistent-volume-binder", as
upstream's ClusterRole names it; with the pvc-protection and pv-protection controllers).

Reads desired and observed PersistentVolumes and PersistentVolumeClaims, StorageClasses,
and desired pods with their observed phase (which claims a pod that is not terminated
uses) through the controller manager's shared informer. Keys are `claim:<ns>/<name>` and
`volume:<name>`; a change of a claim enqueues it and the volumes naming it, a change of a
volume enqueues it and the claim it names, a pod enqueues the claims it names, a
StorageClass the unbound claims without a class (a default class may have come). The pure
`reconcile_claim` / `reconcile_volume` decide; this executor writes what they plan:
patches, creations and deletions as requests on `kafkube.requests` (decided by the API as
the controller manager; a patch is valid only against the resourceVersion decided on),
statuses on `kafkube.observed.persistentvolume(claim)s`, events. An action is not asked
again while the same one is pending (expectations). Replicas split the keys by
partition (group "persistent-volume-binder")."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime, timezone
from typing import Any

from schemas.records import Observed, ObservedMeta, Op, WriteRequest
from services.controllers.machinery.host import ControllerHost
from services.controllers.machinery.informer import SharedInformer
from services.controllers.machinery.writes import Target, delete_request, patch_request
from services.controllers.volume.actions import Action, CreateVolume, Delete, Emit, Patch, SetStatus
from services.controllers.volume.claims import reconcile_claim
from services.controllers.volume.volumes import reconcile_volume
from services.controllers.volume.world import World, claim_ref
from services.runtime.config import Settings
from services.runtime.informer import Change
from services.runtime.logging import get_logger
from services.runtime.supervisor import Component
from services.runtime.topics import Topics

log = get_logger(__name__)
WRITER = "persistent-volume-binder"
CLAIM, VOLUME = "claim:", "volume:"
TERMINATED = ("Succeeded", "Failed")
RETRY_S = 1.0


def volume_components(settings: Settings, shared: SharedInformer | None = None) -> dict[str, Component]:
    return {WRITER: VolumeController(settings, shared).run}


def _shard(key: str) -> str:
    return key.split(":", 1)[1]


class _Statuses(Mapping[str, dict[str, Any]]):
    """The `status` of each observed record of a topic (a read-only view of the live store)."""

    def __init__(self, records: dict[str, Any]) -> None:
        self._records = records

    def __getitem__(self, key: str) -> dict[str, Any]:
        record = self._records[key]
        return (record.get("status") or {}) if isinstance(record, dict) else {}

    def __iter__(self) -> Iterator[str]:
        return iter(self._records)

    def __len__(self) -> int:
        return len(self._records)


def _claims_of_pod(pod: Any) -> set[str]:
    if not isinstance(pod, Mapping):
        return set()
    namespace = (pod.get("metadata") or {}).get("namespace") or "default"
    return {f"{namespace}/{v['persistentVolumeClaim']['claimName']}"
            for v in (pod.get("spec") or {}).get("volumes") or []
            if isinstance(v, dict) and isinstance(v.get("persistentVolumeClaim"), dict)
            and v["persistentVolumeClaim"].get("claimName")}


def _awaits_class(claim: Any) -> bool:
    """An unbound claim whose storageClassName is nil (retroactive default class assignment)."""
    claim_spec = (claim.get("spec") or {}) if isinstance(claim, Mapping) else {}
    return claim_spec.get("storageClassName") is None and not claim_spec.get("volumeName")


class VolumeController:
    def __init__(self, settings: Settings, shared: SharedInformer | None) -> None:
        topics = Topics(settings.topic_prefix)
        self._pv_t, self._opv_t = topics.desired("persistentvolumes"), topics.observed("persistentvolumes")
        self._pvc_t, self._opvc_t = topics.desired("persistentvolumeclaims"), topics.observed("persistentvolumeclaims")
        self._sc_t, self._pods_t, self._opods_t = topics.desired("storageclasses"), topics.desired("pods"), topics.observed("pods")
        self.host = ControllerHost(settings, component=WRITER, ownership_topic=self._pvc_t, shard_key=_shard,
                                   topics=[self._pv_t, self._opv_t, self._pvc_t, self._opvc_t, self._sc_t,
                                           self._pods_t, self._opods_t],
                                   controller=self, shared=shared)
        self._kubelet_root = os.environ.get("KAFKUBE_KUBELET_ROOT", "/var/lib/kafkube")
        self._users: dict[str, set[str]] = {}  # claim key -> keys of the pods naming it
        self._naming: dict[str, set[str]] = {}  # claim key -> volumes whose claimRef names it

    async def run(self) -> None:
        await self.host.run(self)

    # -- keys ------------------------------------------------------------------------------
    def observe(self, change: Change[Any]) -> None:
        if change.topic == self._pv_t:
            for claim in {self._claim_of(change.old), self._claim_of(change.new)} - {None}:
                self._naming.setdefault(str(claim), set()).discard(change.key)
            if (now := self._claim_of(change.new)) is not None:
                self._naming.setdefault(now, set()).add(change.key)
        elif change.topic == self._pods_t:
            before, after = _claims_of_pod(change.old), _claims_of_pod(change.new)
            for claim in before - after:
                self._users.get(claim, set()).discard(change.key)
            for claim in after:
                self._users.setdefault(claim, set()).add(change.key)

    def keys_for(self, change: Change[Any]) -> Iterable[str]:
        if change.topic in (self._pvc_t, self._opvc_t):
            return [CLAIM + change.key, *(VOLUME + v for v in self._naming.get(change.key, ()))]
        if change.topic in (self._pv_t, self._opv_t):
            claims = {self._claim_of(change.old), self._claim_of(change.new)} - {None}
            return [VOLUME + change.key, *(CLAIM + str(c) for c in claims)]
        if change.topic == self._pods_t:
            return [CLAIM + c for c in _claims_of_pod(change.old) | _claims_of_pod(change.new)]
        if change.topic == self._opods_t:
            return [CLAIM + c for c in _claims_of_pod(self.host.informer.get(self._pods_t, change.key))]
        if change.topic == self._sc_t:  # a default class may have come: the claims awaiting one
            return [CLAIM + k for k, c in self.host.informer.items(self._pvc_t).items() if _awaits_class(c)]
        return []

    @staticmethod
    def _claim_of(volume: Any) -> str | None:
        ref = claim_ref(volume) if isinstance(volume, dict) else None
        return f"{ref[0]}/{ref[1]}" if ref is not None else None

    def all_keys(self) -> Iterable[str]:
        informer = self.host.informer
        return [*(CLAIM + k for k in informer.items(self._pvc_t)), *(VOLUME + k for k in informer.items(self._pv_t))]

    # -- one key -------------------------------------------------------------------------
    def _world(self) -> World:
        informer = self.host.informer
        in_use = frozenset(claim for claim, pods in self._users.items() if any(self._running(p) for p in pods))
        return World(claims=informer.items(self._pvc_t), volumes=informer.items(self._pv_t),
                     classes=informer.items(self._sc_t), claim_status=_Statuses(informer.items(self._opvc_t)),
                     volume_status=_Statuses(informer.items(self._opv_t)), claims_in_use=in_use,
                     kubelet_root=self._kubelet_root, now=datetime.now(timezone.utc))

    def _running(self, pod_key: str) -> bool:
        """A pod that exists and is not terminated (Succeeded/Failed) uses its claims."""
        if self.host.informer.get(self._pods_t, pod_key) is None:
            return False
        observed = self.host.informer.get(self._opods_t, pod_key) or {}
        return (observed.get("status") or {}).get("phase") not in TERMINATED

    async def sync(self, key: str) -> None:
        world, name = self._world(), _shard(key)
        actions = reconcile_claim(name, world) if key.startswith(CLAIM) else reconcile_volume(name, world)
        for action in actions:
            await self._execute(key, action)

    async def _execute(self, key: str, action: Action) -> None:
        host = self.host
        if isinstance(action, SetStatus):
            await self._status(action)
        elif isinstance(action, Patch):
            if host.expectations.fresh(("patch", str(action.target), action.target.resource_version,
                                        json.dumps(action.body, sort_keys=True))):
                await host.request(patch_request(action.target, action.body, writer=WRITER))
            if key.startswith(CLAIM) and action.target.kind == "PersistentVolume":
                host.add_after(key, RETRY_S)  # another claim may take the volume first: look again
        elif isinstance(action, CreateVolume):
            if host.expectations.fresh(("create", action.name)):
                await host.request(WriteRequest(op=Op.CREATE, apiVersion="v1", kind="PersistentVolume",
                                                name=action.name, body=action.body, writer=WRITER,
                                                principal=f"system:controller:{WRITER}", reply=False))
                log.info("volume.provisioned", key=key, volume=action.name)
        elif isinstance(action, Delete):
            if host.expectations.fresh(("delete", str(action.target), action.target.uid)):
                await host.request(delete_request(action.target, writer=WRITER))
                log.info("volume.deleting", key=key, volume=action.target.name)
        elif isinstance(action, Emit):
            if host.expectations.fresh(("event", str(action.involved), action.involved.uid, action.reason, action.message)):
                await host.event(reason=action.reason, message=action.message, involved=_involved(action.involved),
                                 type_=action.type)

    async def _status(self, action: SetStatus) -> None:
        """Written whenever the view shows another status (a repeat while the view lags is harmless)."""
        target = action.target
        record = Observed(apiVersion="v1", kind=target.kind, writer=WRITER, status=action.status,
                          metadata=ObservedMeta(name=target.name, namespace=target.namespace, uid=target.uid))
        await self.host.observed(action.plural, target.key, record)
        log.info("volume.status", kind=target.kind, key=target.key, uid=target.uid, phase=action.status.get("phase"))


def _involved(target: Target) -> dict[str, Any]:
    return {"apiVersion": target.api_version, "kind": target.kind, "namespace": target.namespace,
            "name": target.name, "uid": target.uid, "resourceVersion": target.resource_version}
