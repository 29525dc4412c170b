"""The contract between the kubelet and a container runtime.

The kubelet's pod logic only sees this Protocol and these models; `docker.py`
implements it on the Docker Engine (aiodocker), `hollow.py` in memory (kubemark's
hollow nodes: pods "run" at once, for controller tests and benchmarks).

Every container a runtime creates carries the labels below, so a restarted kubelet
re-adopts its containers (DESIGN.md §3.5) and kubelets sharing one engine never
touch each other's containers.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

LABEL_NAMESPACE = "io.kafkube.pod.namespace"
LABEL_NAME = "io.kafkube.pod.name"
LABEL_UID = "io.kafkube.pod.uid"
LABEL_CONTAINER = "io.kafkube.container"  # the Kubernetes container name; "POD" for the infra container
LABEL_NODE = "io.kafkube.node"
LABEL_ROLE = "io.kafkube.role"  # infra | init | app
LABEL_ATTEMPT = "io.kafkube.attempt"  # restart count of this container at creation
INFRA_CONTAINER = "POD"

Role = Literal["infra", "init", "app"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PodRef(_Frozen):
    namespace: str
    name: str
    uid: str

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


class Mount(_Frozen):
    host_path: str
    container_path: str
    read_only: bool = False


class SELinuxLabel(_Frozen):
    """SELinux context parts (Docker `label=<part>:<value>`); empty parts are not set."""

    user: str = ""
    role: str = ""
    type: str = ""
    level: str = ""


class ContainerSecurity(_Frozen):
    """A container's effective security settings (the kubelet resolved the pod's and the
    container's securityContext): what CRI's LinuxContainerSecurityContext carries."""

    run_as_user: int | None = None
    run_as_username: str | None = None  # the image's user name, when runAsGroup is set without runAsUser
    run_as_group: int | None = None
    supplemental_groups: list[int] = Field(default_factory=list)  # fsGroup first, then supplementalGroups
    privileged: bool = False
    read_only_rootfs: bool = False
    cap_add: list[str] = Field(default_factory=list)  # "CAP_NET_ADMIN" form, or "ALL"
    cap_drop: list[str] = Field(default_factory=list)
    no_new_privs: bool = False
    seccomp: Literal["RuntimeDefault", "Unconfined", "Localhost"] = "RuntimeDefault"
    seccomp_localhost: str | None = None  # Localhost: the profile's path under the kubelet's seccomp dir
    unmasked_proc: bool = False  # procMount Unmasked: no masked or read-only /proc paths
    selinux: SELinuxLabel | None = None


class ImageUser(_Frozen):
    """The user an image runs as (Config.User): a numeric uid, or a name, or neither (root)."""

    uid: int | None = None
    username: str = ""


class ContainerConfig(_Frozen):
    """Everything needed to create one app or init container of a pod."""

    pod: PodRef
    name: str
    role: Role
    image: str
    command: list[str] | None = None  # Kubernetes `command` (Docker Entrypoint)
    args: list[str] | None = None  # Kubernetes `args` (Docker Cmd)
    env: dict[str, str] = Field(default_factory=dict)
    working_dir: str | None = None
    mounts: list[Mount] = Field(default_factory=list)
    memory_limit_bytes: int | None = None
    nano_cpus: int | None = None  # cpu limit: 1 cpu = 1e9
    cpu_shares: int | None = None  # from cpu requests (1 cpu = 1024)
    attempt: int = 0
    stop_signal: str | None = None
    security: ContainerSecurity = Field(default_factory=ContainerSecurity)
    runtime_handler: str | None = None  # the pod's RuntimeClass handler, as its sandbox's


class SandboxConfig(_Frozen):
    """The pod's infra container, holding its network namespace."""

    pod: PodRef
    hostname: str
    host_network: bool = False
    dns_servers: list[str] = Field(default_factory=list)
    dns_search: list[str] = Field(default_factory=list)
    dns_options: list[str] = Field(default_factory=list)  # resolv.conf options, e.g. "ndots:5"
    port_bindings: list[tuple[int, int, str]] = Field(default_factory=list)  # (containerPort, hostPort, proto)
    sysctls: dict[str, str] = Field(default_factory=dict)  # the pod's sysctls: set in the sandbox's namespaces
    runtime_handler: str | None = None  # the RuntimeClass's handler (None: the Engine's default)
    domainname: str = ""  # <subdomain>.<namespace>.svc.<domain>: the pod's FQDN in /etc/hosts


class ContainerInfo(_Frozen):
    """What the runtime knows of one container it manages."""

    id: str
    pod: PodRef
    name: str  # Kubernetes container name, or "POD"
    role: Role
    image: str
    image_id: str | None = None
    state: Literal["created", "running", "exited", "unknown"]
    exit_code: int | None = None
    oom_killed: bool = False
    error: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    attempt: int = 0
    ip: str | None = None  # set on the infra container


class ImageStatus(_Frozen):
    present: bool
    pulled: bool = False
    error: str | None = None  # e.g. 'image "x" not present and pull policy is Never'


class ExecResult(_Frozen):
    exit_code: int
    output: str


class LogChunk(_Frozen):
    stream: Literal["stdout", "stderr"]
    timestamp: datetime
    line: str


class UsageSample(_Frozen):
    """A container's cumulative CPU time and its memory working set at one instant (the
    Docker stats API's one-shot answer)."""

    cpu_total_ns: int
    working_set_bytes: int
    at: datetime


class RuntimeFailure(Exception):
    """Root error of every runtime; `retriable` says whether trying again can help."""

    retriable = True


class ImageUnavailable(RuntimeFailure):
    retriable = False


class ContainerRuntime(Protocol):
    node: str

    async def ensure_image(self, image: str, policy: Literal["Always", "IfNotPresent", "Never"]) -> ImageStatus: ...

    async def image_user(self, image: str) -> ImageUser:
        """The user `image` (present on the node) runs as, for runAsNonRoot checks."""
        ...

    async def run_sandbox(self, config: SandboxConfig) -> ContainerInfo: ...

    async def create_and_start(self, sandbox: ContainerInfo, config: ContainerConfig) -> ContainerInfo: ...

    async def stop(self, container_id: str, *, grace_s: int) -> None: ...

    async def remove(self, container_id: str) -> None: ...

    async def inspect(self, container_id: str) -> ContainerInfo | None: ...

    async def list_managed(self) -> list[ContainerInfo]:
        """All containers of this node (LABEL_NODE), running or not."""
        ...

    async def exec(self, container_id: str, command: list[str], *, timeout_s: float) -> ExecResult: ...

    def logs(self, container_id: str, *, since: datetime | None = None, follow: bool = True) -> AsyncIterator[LogChunk]: ...

    async def close(self) -> None: ...
