"""The node's own records: registration (an APPLY of the Node to `kafkube.requests`
on start) and the heartbeat (an Observed NodeStatus on `kafkube.observed.nodes`
every KAFKUBE_HEARTBEAT_SECONDS) with capacity, allocatable, the Ready condition,
addresses and nodeInfo. Run by the kubelet service."""

from __future__ import annotations

import asyncio
import functools
import os
import platform
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from aiokafka.errors import KafkaError

from schemas.records import Op, WriteRequest
from services.kubelet.emit import Emitter
from services.runtime.logging import get_logger

log = get_logger(__name__)
KUBELET_VERSION = "v1.31.0-kafkube"


@dataclass(frozen=True)
class NodeConfig:
    name: str
    runtime: str
    labels: dict[str, str] = field(default_factory=dict)
    taints: list[dict[str, Any]] = field(default_factory=list)
    cpu: str | None = None
    memory: str | None = None
    pods: str = "110"
    address: str = "127.0.0.1"
    heartbeat_s: float = 10.0
    runtime_version: str = "docker://unknown"
    kubelet_port: int | None = None  # the streaming endpoint's (exec, attach, port-forward), if served


def node_object(config: NodeConfig) -> dict[str, Any]:
    """The Node as the kubelet registers it."""
    labels = {"kubernetes.io/hostname": config.name, "kubernetes.io/os": "linux",
              "kubernetes.io/arch": _arch(), **config.labels}
    node: dict[str, Any] = {"apiVersion": "v1", "kind": "Node",
                            "metadata": {"name": config.name, "labels": labels}}
    if config.taints:
        node["spec"] = {"taints": config.taints}
    return node


def node_status(config: NodeConfig, *, cpu: str, memory: str, now: datetime,
                ready_since: datetime) -> dict[str, Any]:
    capacity = {"cpu": cpu, "memory": memory, "pods": config.pods}
    stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "capacity": capacity, "allocatable": dict(capacity), "phase": "Running",
        "conditions": [
            {"type": "Ready", "status": "True", "reason": "KubeletReady",
             "message": "kubelet is posting ready status", "lastHeartbeatTime": stamp,
             "lastTransitionTime": ready_since.strftime("%Y-%m-%dT%H:%M:%SZ")},
            *({"type": t, "status": "False", "reason": f"KubeletHas{r}", "lastHeartbeatTime": stamp,
               "lastTransitionTime": ready_since.strftime("%Y-%m-%dT%H:%M:%SZ")}
              for t, r in (("MemoryPressure", "SufficientMemory"), ("DiskPressure", "NoDiskPressure"),
                           ("PIDPressure", "SufficientPID"))),
        ],
        "addresses": [{"type": "InternalIP", "address": config.address},
                      {"type": "Hostname", "address": config.name}],
        **({"daemonEndpoints": {"kubeletEndpoint": {"Port": config.kubelet_port}}} if config.kubelet_port else {}),
        "nodeInfo": {"kubeletVersion": KUBELET_VERSION, "kubeProxyVersion": KUBELET_VERSION,
                     "containerRuntimeVersion": config.runtime_version, "operatingSystem": "linux",
                     "architecture": _arch(), "kernelVersion": platform.release(),
                     "osImage": "Kafkube hollow node" if config.runtime == "hollow" else platform.platform()},
    }


async def machine_resources(config: NodeConfig) -> tuple[str, str, str]:
    """(cpu, memory, runtime version): configured values win, else the engine's or host's."""
    cpu, memory, version = config.cpu, config.memory, config.runtime_version
    if config.runtime == "docker" and (cpu is None or memory is None):
        try:
            import aiodocker  # the engine's view, as the node reports it

            async with aiodocker.Docker() as docker:
                info = await docker.system.info()
            cpu = cpu or str(info.get("NCPU"))
            memory = memory or f"{int(info.get('MemTotal', 0)) // 1024}Ki"
            version = f"docker://{info.get('ServerVersion', 'unknown')}"
        except Exception as exc:  # fall back to the host's numbers
            log.warning("node.docker_info_failed", error=str(exc)[:200])
    if config.runtime == "hollow":
        version = "hollow://0.1"
    return cpu or str(os.cpu_count() or 1), memory or _host_memory(), version


@functools.cache  # a fleet's thousands of hollow nodes read it once
def _host_memory() -> str:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return f"{line.split()[1]}Ki"
    except OSError:
        pass
    return "4Gi"


def _arch() -> str:
    machine = platform.machine().lower()
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(machine, machine)


async def register(emitter: Emitter, config: NodeConfig) -> None:
    # ENSURE, as Kubernetes' kubelet registers: an existing Node keeps what others set
    # on it (taints from the node lifecycle controller, cordoning).
    request = WriteRequest(op=Op.ENSURE, apiVersion="v1", kind="Node", name=config.name,
                           body=node_object(config), writer=f"kubelet/{config.name}",
                           principal=f"system:node:{config.name}", reply=False)
    await emitter.request(request)
    log.info("node.registered", node=config.name)


async def heartbeat(emitter: Emitter, config: NodeConfig, *, phase_s: float = 0.0) -> None:
    """Register, then post the node status every heartbeat period, forever; `phase_s`
    delays the second beat, so that many nodes of one fleet do not beat in step."""
    await register(emitter, config)
    cpu, memory, version = await machine_resources(config)
    config = NodeConfig(**{**config.__dict__, "runtime_version": version})
    ready_since = datetime.now(timezone.utc)
    while True:
        now = datetime.now(timezone.utc)
        status = node_status(config, cpu=cpu, memory=memory, now=now, ready_since=ready_since)
        try:
            await emitter.node_status(config.name, None, status)
        except KafkaError as exc:  # a missed beat is retried next period, never fatal
            log.warning("node.heartbeat_failed", node=config.name, error=f"{type(exc).__name__}: {exc}")
        await asyncio.sleep(config.heartbeat_s + phase_s)
        phase_s = 0.0
