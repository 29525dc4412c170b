"""One pod sync (Kubernetes' syncPod): re-read the pod from the cache, take its
containers from the container cache, `plan`, execute the actions (the volumes are made
while the sandbox starts; only the containers wait for them), start probes and
log streams, compute the status and write it when it changed.

Executor rules: actions run in plan order, consecutive kills in parallel; a failed
start (image, config, runtime) is recorded (waiting reason, event, back-off) and the
other actions go on; any other runtime error aborts the sync and the work queue
retries the key with back-off. A deleting pod gets its final status written after its
containers stopped, then its containers removed, its volumes cleaned and the deletion
confirmed. Called by the kubelet service's pod workers, one per key at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from schemas.pod import Container, Pod
from schemas.defaults import image_pull_policy
from services.kubelet import plan as P
from services.kubelet.backoff import BackoffPolicy, BackoffState
from services.kubelet.cache import ContainerCache
from services.kubelet.container_config import ConfigError, Store, container_config, pod_ref
from services.kubelet.emit import Emitter
from services.kubelet.fs_group import own_volumes
from services.kubelet.logs import LogStreamer
from services.kubelet.probes import ProbeManager
from services.kubelet.runtime.base import (
    INFRA_CONTAINER, ContainerInfo, ContainerRuntime, RuntimeFailure, SandboxConfig,
)
from services.kubelet.runtime.errors import RuntimeHandlerUnsupported
from services.kubelet.runtime_classes import RuntimeClassNotFound, runtime_handler
from services.kubelet.secrets import SecretValues
from services.kubelet.security_context import needs_image_user, pod_sysctls
from services.kubelet.status import pod_status
from services.kubelet.tokens import TokenError, TokenManager, wants_token
from services.kubelet.volumes import VolumeError, VolumeManager
from services.runtime.logging import get_logger
from services.runtime.metrics import CONTAINER_RESTARTS, POD_START_SECONDS
from services.runtime.podnet import DEFAULT_CLUSTER_DNS_IP, DEFAULT_CLUSTER_DOMAIN, dns_for_pod

log = get_logger(__name__)
Paths = asyncio.Future[dict[str, str] | None]  # the pod's volumes, made while its sandbox starts
ORPHAN_GRACE_S = 2
MOUNT_RETRY_S, MOUNT_RETRY_MAX_S = 0.5, 60.0  # a failed mount's retries: doubling, as upstream's volume manager


@dataclass
class PodMemory:
    """What the kubelet remembers of one pod between syncs (lost on restart)."""

    uid: str
    backoff: BackoffState
    waiting: dict[str, tuple[str, str]] = field(default_factory=dict)
    status: dict[str, Any] | None = None
    confirmed: bool = False
    announced: set[str] = field(default_factory=set)  # ids whose back-off was announced
    seen_at: float = field(default_factory=time.monotonic)  # first seen by this kubelet
    running_reported: bool = False  # kubelet_pod_start_duration_seconds observed
    mount_failures: int = 0  # in a row: the next try's back-off


@dataclass(frozen=True)
class ClusterDns:
    """Where pods with dnsPolicy ClusterFirst send their queries (the proxy's DNS)."""

    server: str = DEFAULT_CLUSTER_DNS_IP
    domain: str = DEFAULT_CLUSTER_DOMAIN


@dataclass
class Views:
    """Read-only access to the informers' caches."""

    pod: Callable[[str], Pod | None]
    pod_known: Callable[[str], bool]  # the key exists in desired (ours or not)
    configmaps: Callable[[], Store]
    secrets: Callable[[], Store]
    services: Callable[[], Store] = lambda: {}
    runtime_classes: Callable[[], Store] = lambda: {}  # name -> RuntimeClass JSON (cluster-scoped)
    pods: Callable[[], Mapping[str, Pod]] = lambda: {}  # the node's pods (ReadWriteOncePod claims)
    claims: Callable[[], Store] = lambda: {}  # PersistentVolumeClaims, "namespace/name" -> JSON
    persistent_volumes: Callable[[], Store] = lambda: {}  # PersistentVolumes, name -> JSON
    dns: ClusterDns | None = None  # None: pods keep the node's resolver


class PodSyncer:
    def __init__(self, *, node: str, runtime: ContainerRuntime, cache: ContainerCache, views: Views,
                 volumes: VolumeManager, probes: ProbeManager, logs: LogStreamer, emitter: Emitter,
                 wake_after: Callable[[str, float], None], host_ip: str,
                 backoff: BackoffPolicy = BackoffPolicy(), tokens: TokenManager | None = None,
                 secret_values: SecretValues | None = None) -> None:
        self.node, self.runtime, self.cache, self.views = node, runtime, cache, views
        self.volumes, self.probes, self.logs, self.emitter = volumes, probes, logs, emitter
        self.wake_after, self.host_ip, self.backoff_policy = wake_after, host_ip, backoff
        self.tokens = tokens  # None: no ServiceAccount tokens mounted (a hollow node)
        self.secret_values = secret_values  # opens encrypted Secrets through the API (None: as stored)
        self.memory: dict[str, PodMemory] = {}  # pod key -> memory

    # -- the sync ------------------------------------------------------------------------
    async def sync(self, key: str) -> None:
        pod = self.views.pod(key)
        containers = self.cache.for_pod(key)
        uid = pod.metadata.uid if pod and pod.metadata else None
        strangers = [c for c in containers if c.pod.uid != uid]
        if strangers:
            await self._execute_plain(P.plan_teardown(strangers, grace_s=ORPHAN_GRACE_S, reason="orphan"))
            for gone in {c.pod.uid for c in strangers}:
                self.volumes.cleanup(gone)
                if self.tokens is not None:
                    self.tokens.forget(gone)
                self.probes.forget_pod({gone})
                self.logs.forget((), {gone})
        if pod is None or uid is None:
            await self._forget(key, had_containers=bool(containers))
            return
        memory = self._memory(key, uid)
        mine = [c for c in containers if c.pod.uid == uid]
        now = datetime.now(timezone.utc)
        unhealthy = self.probes.unhealthy([c.id for c in mine if c.state == "running"])
        actions = P.plan(pod, mine, now, memory.backoff, unhealthy=unhealthy)
        if actions:
            log.info("pod.sync", pod=key, uid=uid, actions=[_describe(a) for a in actions])
        # Only the containers need the volumes: they are made (a ServiceAccount token is a
        # round trip to the API) while the sandbox starts, and awaited by the first start.
        volumes = asyncio.create_task(self._volumes(pod, memory), name=f"volumes-{key}")
        try:
            await self._execute(pod, actions, memory, volumes)
        finally:
            with contextlib.suppress(Exception):  # the sync's own error wins; a volume error was an event
                await volumes
        volumes.result()
        await self._after(pod, key, memory, now)

    async def _after(self, pod: Pod, key: str, memory: PodMemory, now: datetime) -> None:
        mine = [c for c in self.cache.for_pod(key) if c.pod.uid == memory.uid]
        running = [c for c in mine if c.state == "running"]
        pod_ip = next((c.ip for c in running if c.role == "infra" and c.ip), None)
        if P.is_deleting(pod):
            self.probes.forget_pod({memory.uid})  # no Unhealthy noise from containers being stopped
        else:
            self.probes.ensure(pod, running, pod_ip)
            for info in running:
                self.logs.follow(info, adopted=True)
        self.logs.forget({c.id for c in mine}, {memory.uid})
        if not (P.is_deleting(pod) and memory.confirmed):
            await self._write_status(pod, mine, memory)
        await self._announce_backoff(pod, mine, memory, now)

    async def _write_status(self, pod: Pod, mine: list[ContainerInfo], memory: PodMemory) -> None:
        status = pod_status(pod, mine, self.probes.health(), datetime.now(timezone.utc),
                            backoff=memory.backoff, waiting=memory.waiting, host_ip=self.host_ip,
                            previous=memory.status)
        if status != memory.status:
            meta = pod.metadata
            assert meta is not None and meta.name
            await self.emitter.pod_status(meta.namespace or "default", meta.name, meta.uid, status)
            memory.status = status
            if status.get("phase") == "Running" and not memory.running_reported:
                memory.running_reported = True
                POD_START_SECONDS.observe(time.monotonic() - memory.seen_at)

    async def _announce_backoff(self, pod: Pod, mine: list[ContainerInfo], memory: PodMemory,
                                now: datetime) -> None:
        """A BackOff event once per exit, and a wake-up when the back-off ends."""
        policy = P.restart_policy(pod)
        for spec in P.app_containers(pod) + P.init_containers(pod):
            newest = P.by_name(mine, spec.name or "")
            latest = newest[0] if newest else None
            if latest is not None and not P.wants_restart(policy, latest):
                continue
            left = memory.backoff.remaining(spec.name or "", latest, now)
            if left <= 0 or P.is_deleting(pod):
                continue
            self.wake_after(f"{pod_ref(pod).key}", left + 0.05)
            marker = latest.id if latest else f"failed:{spec.name}"
            if latest is not None and marker not in memory.announced:
                memory.announced.add(marker)
                meta = pod.metadata
                assert meta is not None
                await self.emitter.event(
                    pod, "BackOff", f"Back-off restarting failed container {spec.name} in pod "
                    f"{meta.name}_{meta.namespace}({meta.uid})", type_="Warning", container=spec.name)

    async def _volumes(self, pod: Pod, memory: PodMemory) -> dict[str, str] | None:
        if P.is_deleting(pod):
            return None
        try:
            token = await self._token(pod)  # before the Secrets: no wait between opening them and the files
            paths = self.volumes.prepare(pod, configmaps=self.views.configmaps(),
                                         secrets=await self._secrets(pod), token=token,
                                         claims=self.views.claims(), persistent_volumes=self.views.persistent_volumes(),
                                         neighbours=self.views.pods().values())
            own_volumes(pod, paths, self.volumes.provisioned_volumes(paths))  # fsGroup
            memory.waiting.pop("__volumes__", None)
            memory.mount_failures = 0
            return paths
        except ConfigError as exc:
            if memory.waiting.get("__volumes__", ("", ""))[1] != str(exc):
                await self.emitter.event(pod, "FailedMount", str(exc), type_="Warning")
            memory.waiting["__volumes__"] = ("ContainerCreating", str(exc))
            # tried again soon (a Secret or a token's pod may just not be seen yet), then less often
            self.wake_after(pod_ref(pod).key, min(MOUNT_RETRY_S * 2 ** memory.mount_failures, MOUNT_RETRY_MAX_S))
            memory.mount_failures += 1
            return None

    async def _secrets(self, pod: Pod) -> Store:
        """The Secrets as the pod's volumes and env read them: encrypted ones opened by the API."""
        store = self.views.secrets()
        return store if self.secret_values is None else await self.secret_values.store_for(pod, store)

    async def _token(self, pod: Pod) -> str | None:
        """The pod's ServiceAccount token to mount (None: it gets none)."""
        if self.tokens is None or not wants_token(pod):
            return None
        try:
            return await self.tokens.token_for(pod)
        except TokenError as exc:
            raise VolumeError(f'MountVolume.SetUp failed for volume "kube-api-access" : {exc}') from None

    def _memory(self, key: str, uid: str) -> PodMemory:
        memory = self.memory.get(key)
        if memory is None or memory.uid != uid:
            memory = self.memory[key] = PodMemory(uid, BackoffState(self.backoff_policy))
        return memory

    async def _forget(self, key: str, *, had_containers: bool) -> None:
        """The pod left this node (deleted): tombstone the status we wrote (once)."""
        memory = self.memory.pop(key, None)
        if memory is not None:
            self.volumes.cleanup(memory.uid)
            if self.tokens is not None:
                self.tokens.forget(memory.uid)
            self.probes.forget_pod({memory.uid})
            self.logs.forget((), {memory.uid})
        if (memory is not None or had_containers) and not self.views.pod_known(key):
            await self.emitter.pod_gone(key)

    # -- executing actions ---------------------------------------------------------------
    async def _execute_plain(self, actions: list[P.Action]) -> None:
        for group in _groups(actions):
            await asyncio.gather(*(self._simple(a) for a in group))

    async def _simple(self, action: P.Action) -> None:
        if isinstance(action, P.Kill):
            await self.runtime.stop(action.id, grace_s=action.grace_s)
            info = await self.runtime.inspect(action.id)
            self.cache.put(info) if info else self.cache.drop(action.id)
        elif isinstance(action, P.Remove):
            await self.runtime.remove(action.id)
            self.cache.drop(action.id)

    async def _execute(self, pod: Pod, actions: list[P.Action], memory: PodMemory,
                       paths: Paths) -> None:
        final_pending = P.is_deleting(pod) and not memory.confirmed
        for group in _groups(actions):
            first = group[0]
            if isinstance(first, P.Kill):
                await asyncio.gather(*(self._kill(pod, a, memory) for a in group))  # type: ignore[arg-type]
                continue
            if final_pending and isinstance(first, P.Remove):
                final_pending = False
                mine = [c for c in self.cache.for_pod(pod_ref(pod).key) if c.pod.uid == memory.uid]
                await self._write_status(pod, mine, memory)  # the final status, before removal
            for action in group:
                await self._one(pod, action, memory, paths)

    async def _one(self, pod: Pod, action: P.Action, memory: PodMemory, paths: Paths) -> None:
        if isinstance(action, P.Remove):
            await (self._simple(action) if P.is_deleting(pod) else self._tidy(action))
        elif isinstance(action, P.CreateSandbox):
            await self._sandbox(pod)
        elif isinstance(action, (P.StartApp, P.StartInit)):
            if (ready := await paths) is not None:
                await self._start(pod, action, memory, ready)
        elif isinstance(action, P.ConfirmDeletion) and not memory.confirmed:
            self.volumes.cleanup(memory.uid)
            meta = pod.metadata
            assert meta is not None and meta.name
            await self.emitter.confirm_deletion(meta.namespace or "default", meta.name, meta.uid)
            memory.confirmed = True

    async def _sandbox(self, pod: Pod) -> None:
        """The pod's sandbox, on its RuntimeClass's handler. A class or an Engine runtime that
        does not exist is a FailedCreatePodSandBox event, and the sync fails (the queue retries
        it with back-off), as upstream's kubelet."""
        try:
            handler = runtime_handler(pod, self.views.runtime_classes())
            info = await self.runtime.run_sandbox(sandbox_config(pod, self.views.dns, runtime_handler=handler))
        except (RuntimeClassNotFound, RuntimeHandlerUnsupported) as exc:
            problem = (f'RuntimeHandler "{exc.handler}" not supported'
                       if isinstance(exc, RuntimeHandlerUnsupported) else str(exc))
            await self.emitter.event(pod, "FailedCreatePodSandBox", f"Failed to create pod sandbox: {problem}",
                                     type_="Warning")
            raise
        self.cache.put(info)

    async def _tidy(self, action: P.Remove) -> None:
        """Removing a dead container of a live pod is housekeeping: a failure (after an
        Engine restart, overlay2's "device or resource busy", for minutes) is logged and
        retried by the next sync, and never keeps the pod from starting again (Kubernetes'
        container GC is apart from the pod sync too)."""
        try:
            await self._simple(action)
        except RuntimeFailure as exc:
            log.warning("container.remove_failed", id=action.id[:12], error=str(exc)[:300])

    async def _kill(self, pod: Pod, action: P.Kill, memory: PodMemory) -> None:
        if action.name != INFRA_CONTAINER:
            message = f"Stopping container {action.name}"
            if action.reason == "liveness":
                started = self.probes.health().get(action.id)
                probe = "startup" if started is not None and not started.started else "liveness"
                message = f"Container {action.name} failed {probe} probe, will be restarted"
            await self.emitter.event(pod, "Killing", message, container=action.name)
        await self._simple(action)

    async def _start(self, pod: Pod, action: P.StartApp | P.StartInit, memory: PodMemory,
                     paths: dict[str, str]) -> None:
        init = isinstance(action, P.StartInit)
        spec = _spec(pod, action.name, init=init)
        key = pod_ref(pod).key
        mine = [c for c in self.cache.for_pod(key) if c.pod.uid == memory.uid]
        sandbox = next((c for c in mine if c.role == "infra" and c.state == "running"), None)
        if spec is None or sandbox is None:
            raise RuntimeFailure(f"no running sandbox for {key}" if spec else f"no container {action.name}")
        previous = next(iter(P.by_name(mine, action.name)), None)
        if not await self._image(pod, spec, memory):
            return
        try:
            image_user = await self.runtime.image_user(spec.image or "") if needs_image_user(pod, spec) else None
            config = container_config(pod, spec, configmaps=self.views.configmaps(),
                                      secrets=await self._secrets(pod), services=self.views.services(),
                                      volume_paths=paths,
                                      attempt=action.attempt, role="init" if init else "app",
                                      pod_ip=sandbox.ip, host_ip=self.host_ip, image_user=image_user)
            handler = runtime_handler(pod, self.views.runtime_classes())  # the sandbox's, unless the class went
            info = await self.runtime.create_and_start(sandbox, config.model_copy(update={"runtime_handler": handler}))
        except RuntimeClassNotFound as exc:
            return await self._failed(pod, spec, memory, "CreateContainerConfigError", str(exc))
        except ConfigError as exc:
            return await self._failed(pod, spec, memory, exc.reason, str(exc))
        except RuntimeFailure as exc:
            if exc.retriable and not getattr(exc, "status", None):
                raise
            return await self._failed(pod, spec, memory, "RunContainerError", str(exc))
        self.cache.put(info)
        memory.waiting.pop(action.name, None)
        if action.attempt > 0:
            CONTAINER_RESTARTS.inc()
        if action.attempt > 0 or memory.backoff.has_failure(action.name):
            memory.backoff = memory.backoff.after_restart(action.name, previous)
        await self.emitter.event(pod, "Created", f"Created container {action.name}", container=action.name)
        await self.emitter.event(pod, "Started", f"Started container {action.name}", container=action.name)
        self.logs.follow(info)

    async def _image(self, pod: Pod, spec: Container, memory: PodMemory) -> bool:
        image, name = spec.image or "", spec.name or ""
        policy = spec.image_pull_policy or image_pull_policy(image)
        began = time.monotonic()
        status = await self.runtime.ensure_image(image, policy)
        if status.pulled:
            await self.emitter.event(pod, "Pulling", f'Pulling image "{image}"', container=name)
            await self.emitter.event(pod, "Pulled", f'Successfully pulled image "{image}" in '
                                     f"{time.monotonic() - began:.3f}s", container=name)
        elif status.present and name not in memory.waiting:
            await self.emitter.event(pod, "Pulled", f'Container image "{image}" already present on machine',
                                     container=name)
        if status.present:
            return True
        reason = "ErrImageNeverPull" if policy == "Never" else "ErrImagePull"
        await self._failed(pod, spec, memory, reason, status.error or f'image "{image}" not present')
        return False

    async def _failed(self, pod: Pod, spec: Container, memory: PodMemory, reason: str, message: str) -> None:
        name = spec.name or ""
        known = memory.waiting.get(name)
        memory.waiting[name] = (reason, message)
        memory.backoff = memory.backoff.after_failure(name, datetime.now(timezone.utc))
        if known != (reason, message) or reason != "ErrImagePull":
            await self.emitter.event(pod, "Failed", f"Error: {message}" if reason != "ErrImageNeverPull"
                                     else message, type_="Warning", container=name)
            if reason == "ErrImageNeverPull":
                await self.emitter.event(pod, "Failed", f"Error: {reason}", type_="Warning", container=name)


def _groups(actions: list[P.Action]) -> list[list[P.Action]]:
    """Consecutive kills of app/init containers form one group (run in parallel); the
    sandbox's kill waits for them (the containers keep their network while they stop);
    every other action is its own group."""
    groups: list[list[P.Action]] = []
    for action in actions:
        if isinstance(action, P.Kill) and groups and isinstance(groups[-1][0], P.Kill) \
                and (action.name == INFRA_CONTAINER) == (groups[-1][0].name == INFRA_CONTAINER):
            groups[-1].append(action)
        else:
            groups.append([action])
    return groups


def _spec(pod: Pod, name: str, *, init: bool) -> Container | None:
    specs = P.init_containers(pod) if init else P.app_containers(pod)
    return next((c for c in specs if c.name == name), None)


def _describe(action: P.Action) -> str:
    """An action as the sync log shows it: `Kill(web: liveness)`, `StartApp`."""
    if isinstance(action, P.Kill):
        return f"Kill({action.name}: {action.reason})"
    return type(action).__name__


def sandbox_config(pod: Pod, dns: ClusterDns | None = None, *, runtime_handler: str | None = None) -> SandboxConfig:
    spec = pod.spec
    ports: list[tuple[int, int, str]] = []
    for container in (spec.containers if spec else None) or []:
        for port in container.ports or []:
            if port.host_port and port.container_port:
                ports.append((port.container_port, port.host_port, (port.protocol or "TCP").lower()))
    ref = pod_ref(pod)
    hostname = (spec.hostname if spec else None) or ref.name
    # upstream's GeneratePodHostNameAndDomain: a pod with a subdomain is <hostname>.<subdomain>.<ns>.svc.<domain>
    domainname = f"{spec.subdomain}.{ref.namespace}.svc.{dns.domain}" if dns is not None and spec and spec.subdomain else ""
    servers: list[str] = []
    searches: list[str] = []
    options: list[str] = []
    if dns is not None and spec is not None:
        dns_fields = {"dnsPolicy": spec.dns_policy, "hostNetwork": spec.host_network,
                      "dnsConfig": (spec.model_extra or {}).get("dnsConfig")}  # dnsConfig is kept as extra
        servers, searches, options = dns_for_pod(dns_fields, ref.namespace, dns.server, dns.domain)
    return SandboxConfig(pod=ref, hostname=hostname[:63], host_network=bool(spec and spec.host_network),
                         port_bindings=ports, dns_servers=servers, dns_search=searches, dns_options=options,
                         sysctls=pod_sysctls(pod), runtime_handler=runtime_handler, domainname=domainname)
