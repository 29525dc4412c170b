"""The Pod model: spec (containers, volumes, probes, scheduling) and status.

Used by ``schemas.core`` (Pod, ReplicationController), ``schemas.apps`` (pod templates),
the scheduler (nodeSelector, affinity, tolerations, resources), the kubelet (everything it
runs) and controllers (status, conditions).
"""

from __future__ import annotations

from typing import Any, Literal

from schemas.meta import (
    Condition,
    Int32,
    Int64,
    IntOrString,
    KubeModel,
    LocalObjectReference,
    ObjectMeta,
    Resource,
    Time,
)
from schemas.quantity import Quantity

Protocol = Literal["TCP", "UDP", "SCTP"]


PullPolicy = Literal["Always", "IfNotPresent", "Never"]

class ConfigMapKeySelector(KubeModel):
    name: str | None = None
    key: str
    optional: bool | None = None


class SecretKeySelector(KubeModel):
    name: str | None = None
    key: str
    optional: bool | None = None


class ObjectFieldSelector(KubeModel):
    api_version: str | None = None
    field_path: str


class ResourceFieldSelector(KubeModel):
    container_name: str | None = None
    resource: str
    divisor: Quantity | None = None


class EnvVarSource(KubeModel):
    config_map_key_ref: ConfigMapKeySelector | None = None
    secret_key_ref: SecretKeySelector | None = None
    field_ref: ObjectFieldSelector | None = None
    resource_field_ref: ResourceFieldSelector | None = None


class EnvVar(KubeModel):
    name: str
    value: str | None = None
    value_from: EnvVarSource | None = None


class ConfigMapEnvSource(KubeModel):
    name: str | None = None
    optional: bool | None = None


class SecretEnvSource(KubeModel):
    name: str | None = None
    optional: bool | None = None


class EnvFromSource(KubeModel):
    prefix: str | None = None
    config_map_ref: ConfigMapEnvSource | None = None
    secret_ref: SecretEnvSource | None = None


class ContainerPort(KubeModel):
    name: str | None = None
    container_port: Int32 | None = None
    host_port: Int32 | None = None
    host_ip: str | None = None
    protocol: Protocol | None = None


class ResourceRequirements(KubeModel):
    requests: dict[str, Quantity] | None = None
    limits: dict[str, Quantity] | None = None


class VolumeMount(KubeModel):
    name: str | None = None
    mount_path: str | None = None
    sub_path: str | None = None
    read_only: bool | None = None


class ExecAction(KubeModel):
    command: list[str] | None = None


class HTTPHeader(KubeModel):
    name: str
    value: str


class HTTPGetAction(KubeModel):
    path: str | None = None
    port: IntOrString
    host: str | None = None
    scheme: Literal["HTTP", "HTTPS"] | None = None
    http_headers: list[HTTPHeader] | None = None


class TCPSocketAction(KubeModel):
    port: IntOrString
    host: str | None = None


class Probe(KubeModel):
    exec: ExecAction | None = None
    http_get: HTTPGetAction | None = None
    tcp_socket: TCPSocketAction | None = None
    initial_delay_seconds: Int32 | None = None
    period_seconds: Int32 | None = None
    timeout_seconds: Int32 | None = None
    success_threshold: Int32 | None = None
    failure_threshold: Int32 | None = None
    termination_grace_period_seconds: Int64 | None = None


class Container(KubeModel):
    """One container; ``lifecycle``, ``securityContext`` etc. are kept as extra fields."""

    name: str | None = None
    image: str | None = None
    command: list[str] | None = None
    args: list[str] | None = None
    working_dir: str | None = None
    env: list[EnvVar] | None = None
    env_from: list[EnvFromSource] | None = None
    ports: list[ContainerPort] | None = None
    resources: ResourceRequirements | None = None
    volume_mounts: list[VolumeMount] | None = None
    liveness_probe: Probe | None = None
    readiness_probe: Probe | None = None
    startup_probe: Probe | None = None
    image_pull_policy: PullPolicy | None = None
    termination_message_path: str | None = None
    termination_message_policy: Literal["File", "FallbackToLogsOnError"] | None = None
    stdin: bool | None = None
    tty: bool | None = None


class KeyToPath(KubeModel):
    key: str
    path: str
    mode: Int32 | None = None


class EmptyDirVolumeSource(KubeModel):
    medium: str | None = None
    size_limit: Quantity | None = None


class HostPathVolumeSource(KubeModel):
    path: str
    type: str | None = None


class ConfigMapVolumeSource(KubeModel):
    name: str | None = None
    items: list[KeyToPath] | None = None
    default_mode: Int32 | None = None
    optional: bool | None = None


class SecretVolumeSource(KubeModel):
    secret_name: str | None = None
    items: list[KeyToPath] | None = None
    default_mode: Int32 | None = None
    optional: bool | None = None


class Volume(KubeModel):
    """A pod volume; other sources (persistentVolumeClaim, projected...) stay extra."""

    name: str | None = None
    empty_dir: EmptyDirVolumeSource | None = None
    host_path: HostPathVolumeSource | None = None
    config_map: ConfigMapVolumeSource | None = None
    secret: SecretVolumeSource | None = None


class NodeSelectorRequirement(KubeModel):
    key: str
    operator: Literal["In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"]
    values: list[str] | None = None


class NodeSelectorTerm(KubeModel):
    match_expressions: list[NodeSelectorRequirement] | None = None
    match_fields: list[NodeSelectorRequirement] | None = None


class NodeSelector(KubeModel):
    node_selector_terms: list[NodeSelectorTerm]


class PreferredSchedulingTerm(KubeModel):
    weight: Int32
    preference: NodeSelectorTerm


class NodeAffinity(KubeModel):
    required_during_scheduling_ignored_during_execution: NodeSelector | None = None
    preferred_during_scheduling_ignored_during_execution: (
        list[PreferredSchedulingTerm] | None
    ) = None


class Affinity(KubeModel):
    """Node affinity is modelled; podAffinity/podAntiAffinity are kept as extra fields."""

    node_affinity: NodeAffinity | None = None


class Toleration(KubeModel):
    key: str | None = None
    operator: Literal["Exists", "Equal"] | None = None
    value: str | None = None
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] | None = None
    toleration_seconds: Int64 | None = None

    def tolerates(self, taint: Any) -> bool:
        """Kubernetes' ToleratesTaint: effect (empty: all), key (empty: all, with Exists),
        operator Exists, or Equal (the default) on the value. `taint`: a core.Taint."""
        if self.effect and self.effect != taint.effect:
            return False
        if self.key and self.key != taint.key:
            return False
        if self.operator == "Exists":
            return True
        return bool(self.key) and (self.value or "") == (taint.value or "")


class PodSpec(KubeModel):
    containers: list[Container] | None = None
    init_containers: list[Container] | None = None
    volumes: list[Volume] | None = None
    restart_policy: Literal["Always", "OnFailure", "Never"] | None = None
    node_name: str | None = None
    node_selector: dict[str, str] | None = None
    affinity: Affinity | None = None
    tolerations: list[Toleration] | None = None
    termination_grace_period_seconds: Int64 | None = None
    active_deadline_seconds: Int64 | None = None
    host_network: bool | None = None
    dns_policy: Literal["ClusterFirst", "ClusterFirstWithHostNet", "Default", "None"] | None = None
    service_account_name: str | None = None
    automount_service_account_token: bool | None = None
    scheduler_name: str | None = None
    priority: Int32 | None = None
    priority_class_name: str | None = None
    hostname: str | None = None
    subdomain: str | None = None
    image_pull_secrets: list[LocalObjectReference] | None = None
    runtime_class_name: str | None = None
    overhead: dict[str, Quantity] | None = None  # set by the API from the RuntimeClass


class ContainerStateWaiting(KubeModel):
    reason: str | None = None
    message: str | None = None


class ContainerStateRunning(KubeModel):
    started_at: Time | None = None


class ContainerStateTerminated(KubeModel):
    exit_code: Int32
    signal: Int32 | None = None
    reason: str | None = None
    message: str | None = None
    started_at: Time | None = None
    finished_at: Time | None = None
    container_id: str | None = None


class ContainerState(KubeModel):
    waiting: ContainerStateWaiting | None = None
    running: ContainerStateRunning | None = None
    terminated: ContainerStateTerminated | None = None


class ContainerStatus(KubeModel):
    name: str
    state: ContainerState | None = None
    last_state: ContainerState | None = None
    ready: bool = False
    restart_count: Int32 = 0
    image: str | None = None
    image_id: str | None = None
    container_id: str | None = None
    started: bool | None = None


class PodIP(KubeModel):
    ip: str


PodPhase = Literal["Pending", "Running", "Succeeded", "Failed", "Unknown"]


class PodStatus(KubeModel):
    phase: PodPhase | None = None
    conditions: list[Condition] | None = None
    message: str | None = None
    reason: str | None = None
    host_ip: str | None = None
    host_ips: list[PodIP] | None = None
    pod_ip: str | None = None
    pod_ips: list[PodIP] | None = None
    start_time: Time | None = None
    init_container_statuses: list[ContainerStatus] | None = None
    container_statuses: list[ContainerStatus] | None = None
    qos_class: str | None = None
    nominated_node_name: str | None = None


class PodTemplateSpec(KubeModel):
    metadata: ObjectMeta | None = None
    spec: PodSpec | None = None


class Pod(Resource):
    api_version: Literal["v1"] = "v1"
    kind: Literal["Pod"] = "Pod"
    spec: PodSpec | None = None
    status: PodStatus | None = None
