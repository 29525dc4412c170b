"""Pure builders of Docker Engine API JSON from the runtime contract's configs.

`docker.py` (DockerRuntime) calls these; they do no I/O, so the mapping from a pod's
SandboxConfig / ContainerConfig to `POST /containers/create` bodies is unit-testable
without a Docker Engine.

Vocabulary: the *sandbox* (infra container, image `kafkube/pause:1.0`) holds the pod's
network and IPC namespaces; app and init containers join it with
`NetworkMode=container:<infra id>` and `IpcMode=container:<infra id>`.
"""

from __future__ import annotations

import re
from typing import Any

from services.kubelet.runtime.base import (
    INFRA_CONTAINER,
    LABEL_ATTEMPT,
    LABEL_CONTAINER,
    LABEL_NAME,
    LABEL_NAMESPACE,
    LABEL_NODE,
    LABEL_ROLE,
    LABEL_UID,
    ContainerConfig,
    ContainerInfo,
    PodRef,
    Role,
    SandboxConfig,
)
from services.kubelet.runtime.docker_security import docker_user, security_host_config

DEFAULT_PAUSE_IMAGE = "kafkube/pause:1.0"
_UNSAFE = re.compile(r"[^a-zA-Z0-9_.-]")

JSON = dict[str, Any]


def container_name(pod: PodRef, container: str, attempt: int) -> str:
    """Docker name as dockershim made it: k8s_<container>_<pod>_<namespace>_<uid8>_<attempt>."""
    parts = [container, pod.name, pod.namespace, pod.uid[:8], str(attempt)]
    return "k8s_" + "_".join(_UNSAFE.sub("-", p) for p in parts)


def labels(pod: PodRef, *, node: str, container: str, role: Role, attempt: int) -> dict[str, str]:
    """The labels every managed container carries (see base.py)."""
    return {
        LABEL_NAMESPACE: pod.namespace,
        LABEL_NAME: pod.name,
        LABEL_UID: pod.uid,
        LABEL_CONTAINER: container,
        LABEL_NODE: node,
        LABEL_ROLE: role,
        LABEL_ATTEMPT: str(attempt),
    }


def node_filter(node: str) -> JSON:
    """`filters` for GET /containers/json selecting this node's containers."""
    return {"label": [f"{LABEL_NODE}={node}"]}


def sandbox_filter(node: str, uid: str) -> JSON:
    """`filters` selecting the infra containers of one pod on this node."""
    return {"label": [f"{LABEL_NODE}={node}", f"{LABEL_UID}={uid}", f"{LABEL_ROLE}=infra"]}


def _port_key(container_port: int, proto: str) -> str:
    return f"{container_port}/{(proto or 'tcp').lower()}"


def sandbox_body(config: SandboxConfig, *, node: str, image: str, attempt: int) -> JSON:
    """Create body of the pod's infra container."""
    host: JSON = {"IpcMode": "shareable"}
    if config.runtime_handler:
        host["Runtime"] = config.runtime_handler  # an Engine runtime (daemon.json "runtimes")
    if config.sysctls:
        host["Sysctls"] = dict(config.sysctls)  # net.*, kernel.shm*...: the sandbox's namespaces
    body: JSON = {
        "Image": image,
        "Labels": labels(config.pod, node=node, container=INFRA_CONTAINER, role="infra", attempt=attempt),
        "HostConfig": host,
    }
    if config.host_network:
        host["NetworkMode"] = "host"  # the node's hostname, resolv.conf and ports
    else:
        host["NetworkMode"] = "bridge"
        body["Hostname"] = config.hostname[:63]
        if config.domainname:
            body["Domainname"] = config.domainname  # /etc/hosts: <ip> <hostname>.<domainname> <hostname>
        if config.dns_servers:
            host["Dns"] = list(config.dns_servers)
        if config.dns_search:
            host["DnsSearch"] = list(config.dns_search)
        if config.dns_options:
            host["DnsOptions"] = list(config.dns_options)
        if config.port_bindings:
            body["ExposedPorts"] = {_port_key(c, p): {} for c, _, p in config.port_bindings}
            bindings: dict[str, list[JSON]] = {}
            for c, h, p in config.port_bindings:
                bindings.setdefault(_port_key(c, p), []).append({"HostPort": str(h)})
            host["PortBindings"] = bindings
    return body


def container_body(sandbox: ContainerInfo, config: ContainerConfig, *, node: str,
                   seccomp_profile: str | None = None) -> JSON:
    """Create body of an app/init container joining `sandbox`'s namespaces.

    Kubernetes semantics: `command` replaces the image ENTRYPOINT (and then the image CMD is
    dropped, as the Engine does when Entrypoint is given), `args` replace the image CMD.
    No restart policy: the kubelet restarts containers itself. The securityContext's
    fields come from `docker_security` (`seccomp_profile`: a Localhost profile's JSON).
    """
    host: JSON = {
        "NetworkMode": f"container:{sandbox.id}",
        "IpcMode": f"container:{sandbox.id}",
        "RestartPolicy": {"Name": "no"},
        **security_host_config(config.security, seccomp_profile=seccomp_profile),
    }
    if config.runtime_handler:
        host["Runtime"] = config.runtime_handler
    if config.mounts:
        host["Binds"] = [
            f"{m.host_path}:{m.container_path}{':ro' if m.read_only else ''}" for m in config.mounts
        ]
    if config.memory_limit_bytes:
        host["Memory"] = config.memory_limit_bytes
        host["MemorySwap"] = config.memory_limit_bytes  # no swap: the limit is real
    if config.nano_cpus:
        host["NanoCpus"] = config.nano_cpus
    if config.cpu_shares:
        host["CpuShares"] = max(2, config.cpu_shares)
    body: JSON = {
        "Image": config.image,
        "Labels": labels(config.pod, node=node, container=config.name, role=config.role, attempt=config.attempt),
        "Env": [f"{k}={v}" for k, v in config.env.items()],
        "HostConfig": host,
        "Tty": False,
        "OpenStdin": False,
    }
    if config.command:
        body["Entrypoint"] = list(config.command)
    if config.args:
        body["Cmd"] = list(config.args)
    if config.working_dir:
        body["WorkingDir"] = config.working_dir
    if config.stop_signal:
        body["StopSignal"] = config.stop_signal
    if (user := docker_user(config.security)) is not None:
        body["User"] = user
    return body
