"""What the scheduler knows about one pod and one node, extracted once from the
records (desired pod JSON; desired node + observed node status).

Pure: value in, value out. Used by the snapshot, the filters, the scores and the
service (which calls `pod_request` and `node_info` on informer values).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import ConfigDict

from schemas.core import Node, NodeStatus, Taint
from schemas.meta import KubeModel, OwnerReference
from schemas.pod import Affinity, ContainerPort, NodeAffinity, ResourceRequirements, Toleration
from schemas.quantity import Quantity, cpu_millis, memory_bytes

DEFAULT_SCHEDULER = "default-scheduler"
NOT_READY_TAINT = "node.kubernetes.io/not-ready"
UNREACHABLE_TAINT = "node.kubernetes.io/unreachable"
UNSCHEDULABLE_TAINT = "node.kubernetes.io/unschedulable"
# What kube-scheduler assumes for scoring a container without requests.
DEFAULT_CPU_MILLIS = 100
DEFAULT_MEMORY_BYTES = 200 * 1024 * 1024
DEFAULT_MAX_PODS = 110
# The most a pod may request or a node offer of one resource, in its unit (millicores,
# bytes: 1 PiB, 1.1e12 cores), as the scheduler counts it. Admission takes any
# non-negative quantity; above this the scheduler counts the cap, so every sum it keeps
# fits the int64 arrays of `columns.py` (8,192 capped pods on one node) and a score's
# `free × 100` stays exact. A pod asking for more fits no node either way.
QUANTITY_CAP = 2**50

Ready = Literal["True", "False", "Unknown"]
HostPort = tuple[str, str, int]  # (hostIP, protocol, port)


@dataclass(frozen=True, slots=True)
class Resources:
    cpu: int = 0  # millicores
    memory: int = 0  # bytes

    def __add__(self, other: "Resources") -> "Resources":
        return Resources(self.cpu + other.cpu, self.memory + other.memory)

    def __sub__(self, other: "Resources") -> "Resources":
        return Resources(self.cpu - other.cpu, self.memory - other.memory)

    def max(self, other: "Resources") -> "Resources":
        return Resources(max(self.cpu, other.cpu), max(self.memory, other.memory))

    def capped(self) -> "Resources":
        """Each amount at most QUANTITY_CAP."""
        return Resources(min(self.cpu, QUANTITY_CAP), min(self.memory, QUANTITY_CAP))


@dataclass(frozen=True, slots=True)
class PodRequest:
    """One pod as the scheduler sees it: what it needs and where it may go."""

    key: str
    uid: str | None = None
    requests: Resources = Resources()
    nonzero: Resources = Resources(DEFAULT_CPU_MILLIS, DEFAULT_MEMORY_BYTES)  # for scoring
    host_ports: tuple[HostPort, ...] = ()
    node_selector: dict[str, str] = field(default_factory=dict)
    affinity: NodeAffinity | None = None
    tolerations: tuple[Toleration, ...] = ()
    owner_uid: str | None = None  # the controller among ownerReferences
    claims: tuple[str, ...] = ()  # the PersistentVolumeClaims its volumes name (volumes.py)

    def for_sibling(self, key: str, uid: str | None) -> "PodRequest":
        """The same request for another pod of the same spec: `dataclasses.replace(self,
        key=key, uid=uid)` at a fraction of its cost (a rebuild makes one per pod)."""
        return PodRequest(key, uid, self.requests, self.nonzero, self.host_ports, self.node_selector,
                          self.affinity, self.tolerations, self.owner_uid, self.claims)


@dataclass(frozen=True, slots=True)
class NodeInfo:
    """One node: its labels, taints and allocatable resources.

    `hard_taints` (NoSchedule/NoExecute) and `soft_taints` (PreferNoSchedule) are the
    effective taints split by effect, derived once here so the per-pod hot loop of
    `algorithm.schedule` does not rebuild them for every node."""

    name: str
    labels: dict[str, str] = field(default_factory=dict)
    taints: tuple[Taint, ...] = ()
    unschedulable: bool = False
    ready: Ready | None = None  # None: no observed status yet
    allocatable: Resources = Resources()
    max_pods: int = 0
    hard_taints: tuple[Taint, ...] = field(init=False, repr=False, compare=False)
    soft_taints: tuple[Taint, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        taints = effective_taints(self)
        object.__setattr__(self, "hard_taints",
                           tuple(t for t in taints if t.effect in ("NoSchedule", "NoExecute")))
        object.__setattr__(self, "soft_taints", tuple(t for t in taints if t.effect == "PreferNoSchedule"))


# -- pods -------------------------------------------------------------------------------
def pod_key(pod: dict[str, Any]) -> str:
    meta = pod.get("metadata") or {}
    return f"{meta.get('namespace') or 'default'}/{meta.get('name')}"


def observed_pod_view(record: Any) -> Any:
    """What the scheduler keeps of an observed pod record: its writer, the pod's uid,
    the phase (a terminated pod frees its node) and the PodScheduled condition (the
    scheduler's own Unschedulable note); a kubelet's container statuses, addresses
    and other conditions are dropped as they are decoded. Anything but an object is kept
    as it is."""
    if not isinstance(record, dict):
        return record
    meta, status = record.get("metadata"), record.get("status")
    view: dict[str, Any] = {"writer": record.get("writer"),
                            "metadata": {"uid": meta.get("uid")} if isinstance(meta, dict) else meta}
    if isinstance(status, dict):
        conditions = status.get("conditions")
        scheduled = [c for c in conditions if isinstance(c, dict) and c.get("type") == "PodScheduled"] \
            if isinstance(conditions, list) else []
        view["status"] = {"phase": status.get("phase"), "conditions": scheduled}
    return view


def wants_scheduling(pod: dict[str, Any] | None) -> bool:
    """An unbound pod, not being deleted, addressed to this scheduler."""
    if not pod:
        return False
    spec, meta = pod.get("spec") or {}, pod.get("metadata") or {}
    return (not spec.get("nodeName") and not meta.get("deletionTimestamp")
            and spec.get("schedulerName", DEFAULT_SCHEDULER) in (None, DEFAULT_SCHEDULER))


class _Reads(KubeModel):
    """Base of the scheduler's slim views: the fields it reads, validated with the
    schemas' own types; the rest of the pod (env, probes, volumes...) is skipped
    (a whole `Pod` validation was 39% of a 100,000-pod rebuild)."""

    model_config = ConfigDict(extra="ignore")


class ContainerDemand(_Reads):
    resources: ResourceRequirements | None = None
    ports: list[ContainerPort] | None = None


class ClaimSource(_Reads):
    claim_name: str


class VolumeClaimRef(_Reads):
    """A pod volume as the scheduler reads it: only its claim, if any."""

    persistent_volume_claim: ClaimSource | None = None


class SchedulingSpec(_Reads):
    volumes: list[VolumeClaimRef] | None = None
    containers: list[ContainerDemand] | None = None
    init_containers: list[ContainerDemand] | None = None
    affinity: Affinity | None = None
    tolerations: list[Toleration] | None = None
    node_selector: dict[str, str] | None = None
    host_network: bool | None = None
    overhead: dict[str, Quantity] | None = None  # the RuntimeClass's, set by the API


class SchedulingMeta(_Reads):
    uid: str | None = None
    owner_references: list[OwnerReference] | None = None


class SchedulingPod(_Reads):
    """A pod as the scheduler reads it."""

    metadata: SchedulingMeta = SchedulingMeta()
    spec: SchedulingSpec | None = None


def pod_request(raw: dict[str, Any]) -> PodRequest:
    """Raises pydantic.ValidationError on a pod the API should never have admitted."""
    pod = SchedulingPod.model_validate(raw)
    spec, meta = pod.spec, pod.metadata
    containers = list(spec.containers or []) if spec else []
    inits = list(spec.init_containers or []) if spec else []
    overhead = _overhead(spec.overhead if spec else None)  # counted as upstream's PodRequests does
    requests = (_sum(containers).max(_largest(inits, nonzero=False)) + overhead).capped()
    nonzero = (_sum(containers, nonzero=True).max(_largest(inits, nonzero=True)) + overhead).capped()
    owner = next((o.uid for o in meta.owner_references or [] if o.controller), None)
    affinity = spec.affinity.node_affinity if spec and spec.affinity else None
    return PodRequest(
        key=pod_key(raw), uid=meta.uid,
        requests=requests, nonzero=nonzero,
        host_ports=_host_ports(containers, host_network=bool(spec and spec.host_network)),
        node_selector=dict(spec.node_selector or {}) if spec else {},
        affinity=affinity, tolerations=tuple(spec.tolerations or []) if spec else (),
        owner_uid=owner,
        claims=tuple(v.persistent_volume_claim.claim_name for v in (spec.volumes or [] if spec else [])
                     if v.persistent_volume_claim is not None))


class PodRequests:
    """`pod_request` remembered per pod key. What it reads (the spec but its nodeName,
    the uid and owners) does not change when the pod is bound or its status changes,
    so a pod is validated once, not again at the bind, the bound record and each
    status record (four to five pydantic validations per pod in the profile).

    Pods of one controller share their spec (a ReplicaSet's template): a new pod whose
    spec equals the last one validated for its controller takes that pod's request
    with its own key and uid, without a validation of its own (15 % of the scheduler's
    samples in the 10,000-pod run). The last spec of the `SIBLINGS` most recent
    controllers is kept. This relies on admitted records (one controller reference,
    with a uid; a JSON boolean `controller`), as the API writes them."""

    SIBLINGS = 1024

    def __init__(self) -> None:
        self._memo: dict[str, tuple[tuple[Any, Any], dict[str, Any], PodRequest]] = {}
        self._siblings: dict[str, tuple[dict[str, Any], PodRequest]] = {}  # controller uid -> its last pod

    def of(self, key: str, raw: dict[str, Any]) -> PodRequest:
        meta = raw.get("metadata") or {}
        spec = {k: v for k, v in (raw.get("spec") or {}).items() if k != "nodeName"}
        identity = (meta.get("uid"), meta.get("ownerReferences"))
        known = self._memo.get(key)
        if known is not None and known[0] == identity and known[1] == spec:
            request = known[2]
        else:
            request = self._sibling_of(raw, meta, spec) or self._validated(raw, spec)
        # keep the newest record's spec: an older one would stay alive beside it
        self._memo[key] = (identity, spec, request)
        return request

    def _sibling_of(self, raw: dict[str, Any], meta: dict[str, Any], spec: dict[str, Any]) -> PodRequest | None:
        owner = _controller_uid(meta)
        sibling = self._siblings.get(owner) if owner else None
        if sibling is None or sibling[0] != spec:
            return None
        uid = meta.get("uid")
        return sibling[1].for_sibling(pod_key(raw), uid if isinstance(uid, str) else None)

    def _validated(self, raw: dict[str, Any], spec: dict[str, Any]) -> PodRequest:
        request = pod_request(raw)
        if request.owner_uid:
            self._siblings.pop(request.owner_uid, None)
            self._siblings[request.owner_uid] = (spec, request)
            if len(self._siblings) > self.SIBLINGS:
                del self._siblings[next(iter(self._siblings))]  # the least recently validated
        return request

    def forget(self, key: str) -> None:
        self._memo.pop(key, None)


def _controller_uid(meta: dict[str, Any]) -> str | None:
    """The uid of the controller among the (admitted) record's ownerReferences."""
    for ref in meta.get("ownerReferences") or ():
        if isinstance(ref, dict) and ref.get("controller") is True and isinstance(ref.get("uid"), str):
            return str(ref["uid"])
    return None


def _container_request(c: ContainerDemand, *, nonzero: bool) -> Resources:
    requests = (c.resources.requests if c.resources else None) or {}
    cpu = cpu_millis(requests["cpu"]) if "cpu" in requests else None
    memory = memory_bytes(requests["memory"]) if "memory" in requests else None
    if nonzero:
        return Resources(DEFAULT_CPU_MILLIS if not cpu else cpu,
                         DEFAULT_MEMORY_BYTES if not memory else memory)
    return Resources(cpu or 0, memory or 0)


def _overhead(overhead: dict[str, str] | None) -> Resources:
    fixed = overhead or {}
    return Resources(cpu_millis(fixed["cpu"]) if "cpu" in fixed else 0,
                     memory_bytes(fixed["memory"]) if "memory" in fixed else 0)


def _sum(containers: list[ContainerDemand], *, nonzero: bool = False) -> Resources:
    total = Resources()
    for c in containers:
        total = total + _container_request(c, nonzero=nonzero)
    return total


def _largest(containers: list[ContainerDemand], *, nonzero: bool) -> Resources:
    largest = Resources()
    for c in containers:
        largest = largest.max(_container_request(c, nonzero=nonzero))
    return largest


def _host_ports(containers: list[ContainerDemand], *, host_network: bool) -> tuple[HostPort, ...]:
    ports: list[HostPort] = []
    for c in containers:
        for p in c.ports or []:
            port = p.host_port or (p.container_port if host_network else None)
            if port:
                ports.append((p.host_ip or "0.0.0.0", p.protocol or "TCP", port))
    return tuple(ports)


# -- nodes ------------------------------------------------------------------------------
def node_info(desired: dict[str, Any], observed: dict[str, Any] | None) -> NodeInfo:
    """A node from its desired record and its observed (`Observed`) status record."""
    node = Node.model_validate(desired)
    status = NodeStatus.model_validate(observed["status"]) if observed and observed.get("status") else None
    allocatable = (status.allocatable or status.capacity or {}) if status else {}
    ready = _ready(status) if observed else None
    return NodeInfo(
        name=node.metadata.name or "",
        labels=dict(node.metadata.labels or {}),
        taints=tuple(node.spec.taints or []) if node.spec else (),
        unschedulable=bool(node.spec and node.spec.unschedulable),
        ready=ready,
        allocatable=Resources(cpu_millis(allocatable.get("cpu", "0")),
                              memory_bytes(allocatable.get("memory", "0"))).capped(),
        max_pods=min(int(allocatable.get("pods", DEFAULT_MAX_PODS)), QUANTITY_CAP))


def _ready(status: NodeStatus | None) -> Ready:
    for condition in (status.conditions or []) if status else []:
        if condition.type == "Ready":
            return condition.status
    return "Unknown"


def effective_taints(node: NodeInfo) -> tuple[Taint, ...]:
    """The node's taints plus the one nodelifecycle would add for a node not Ready."""
    if node.ready in (None, "True"):
        return node.taints
    key = NOT_READY_TAINT if node.ready == "False" else UNREACHABLE_TAINT
    if any(t.key == key for t in node.taints):
        return node.taints
    return (*node.taints, Taint(key=key, effect="NoSchedule"))
