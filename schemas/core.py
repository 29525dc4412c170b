"""Core (``v1``) resources: Namespace, Node, Pod, ReplicationController, Service,
Endpoints, ConfigMap, Secret, Event.

Used by the API (admission), every controller, the scheduler, the kubelet and the proxy.
The Pod's spec and status live in ``schemas.pod`` and are re-exported here.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from schemas.meta import (
    Condition,
    Int32,
    Int64,
    IntOrString,
    KubeModel,
    ObjectReference,
    Resource,
    Time,
)
from schemas.pod import Pod, PodSpec, PodStatus, PodTemplateSpec, Protocol
from schemas.quantity import Quantity

__all__ = [
    "ConfigMap", "Endpoints", "Event", "Namespace", "Node", "Pod", "PodSpec", "PodStatus",
    "PodTemplateSpec", "ReplicationController", "Secret", "Service",
]


class NamespaceSpec(KubeModel):
    finalizers: list[str] | None = None


class NamespaceStatus(KubeModel):
    phase: Literal["Active", "Terminating"] | None = None
    conditions: list[Condition] | None = None


class Namespace(Resource):
    namespaced: ClassVar[bool] = False
    api_version: Literal["v1"] = "v1"
    kind: Literal["Namespace"] = "Namespace"
    spec: NamespaceSpec | None = None
    status: NamespaceStatus | None = None


class Taint(KubeModel):
    key: str
    value: str | None = None
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"]
    time_added: Time | None = None


class NodeSpec(KubeModel):
    pod_cidr: str | None = None
    pod_cidrs: list[str] | None = None
    provider_id: str | None = None
    unschedulable: bool | None = None
    taints: list[Taint] | None = None


class NodeAddress(KubeModel):
    type: str
    address: str


class NodeSystemInfo(KubeModel):
    machine_id: str | None = None
    system_uuid: str | None = None
    boot_id: str | None = None
    kernel_version: str | None = None
    os_image: str | None = None
    container_runtime_version: str | None = None
    kubelet_version: str | None = None
    kube_proxy_version: str | None = None
    operating_system: str | None = None
    architecture: str | None = None


class NodeStatus(KubeModel):
    capacity: dict[str, Quantity] | None = None
    allocatable: dict[str, Quantity] | None = None
    phase: str | None = None
    conditions: list[Condition] | None = None
    addresses: list[NodeAddress] | None = None
    node_info: NodeSystemInfo | None = None


class Node(Resource):
    namespaced: ClassVar[bool] = False
    api_version: Literal["v1"] = "v1"
    kind: Literal["Node"] = "Node"
    spec: NodeSpec | None = None
    status: NodeStatus | None = None


class ReplicationControllerSpec(KubeModel):
    replicas: Int32 | None = None
    min_ready_seconds: Int32 | None = None
    selector: dict[str, str] | None = None
    template: PodTemplateSpec | None = None


class ReplicationControllerStatus(KubeModel):
    replicas: Int32 | None = None
    fully_labeled_replicas: Int32 | None = None
    ready_replicas: Int32 | None = None
    available_replicas: Int32 | None = None
    observed_generation: Int64 | None = None
    conditions: list[Condition] | None = None


class ReplicationController(Resource):
    api_version: Literal["v1"] = "v1"
    kind: Literal["ReplicationController"] = "ReplicationController"
    spec: ReplicationControllerSpec | None = None
    status: ReplicationControllerStatus | None = None


class ServicePort(KubeModel):
    name: str | None = None
    protocol: Protocol | None = None
    app_protocol: str | None = None
    port: Int32 | None = None
    target_port: IntOrString | None = None
    node_port: Int32 | None = None


ServiceType = Literal["ClusterIP", "NodePort", "LoadBalancer", "ExternalName"]


class ServiceSpec(KubeModel):
    type: ServiceType | None = None
    selector: dict[str, str] | None = None
    ports: list[ServicePort] | None = None
    cluster_ip: str | None = None
    cluster_ips: list[str] | None = None
    external_ips: list[str] | None = None
    external_name: str | None = None
    load_balancer_ip: str | None = None
    session_affinity: Literal["None", "ClientIP"] | None = None
    external_traffic_policy: Literal["Cluster", "Local"] | None = None
    internal_traffic_policy: Literal["Cluster", "Local"] | None = None
    publish_not_ready_addresses: bool | None = None


class LoadBalancerIngress(KubeModel):
    ip: str | None = None
    hostname: str | None = None


class LoadBalancerStatus(KubeModel):
    ingress: list[LoadBalancerIngress] | None = None


class ServiceStatus(KubeModel):
    load_balancer: LoadBalancerStatus | None = None
    conditions: list[Condition] | None = None


class Service(Resource):
    api_version: Literal["v1"] = "v1"
    kind: Literal["Service"] = "Service"
    spec: ServiceSpec | None = None
    status: ServiceStatus | None = None


class EndpointAddress(KubeModel):
    ip: str
    hostname: str | None = None
    node_name: str | None = None
    target_ref: ObjectReference | None = None


class EndpointPort(KubeModel):
    name: str | None = None
    port: Int32
    protocol: Protocol | None = None
    app_protocol: str | None = None


class EndpointSubset(KubeModel):
    addresses: list[EndpointAddress] | None = None
    not_ready_addresses: list[EndpointAddress] | None = None
    ports: list[EndpointPort] | None = None


class Endpoints(Resource):
    api_version: Literal["v1"] = "v1"
    kind: Literal["Endpoints"] = "Endpoints"
    subsets: list[EndpointSubset] | None = None


class ConfigMap(Resource):
    api_version: Literal["v1"] = "v1"
    kind: Literal["ConfigMap"] = "ConfigMap"
    data: dict[str, str] | None = None
    binary_data: dict[str, str] | None = None
    immutable: bool | None = None


class Secret(Resource):
    """``data`` values are base64 text, as in Kubernetes JSON; ``stringData`` is plain."""

    api_version: Literal["v1"] = "v1"
    kind: Literal["Secret"] = "Secret"
    type: str | None = None
    data: dict[str, str] | None = None
    string_data: dict[str, str] | None = None
    immutable: bool | None = None


class EventSource(KubeModel):
    component: str | None = None
    host: str | None = None


class EventSeries(KubeModel):
    count: Int32 | None = None
    last_observed_time: Time | None = None


class Event(Resource):
    api_version: Literal["v1"] = "v1"
    kind: Literal["Event"] = "Event"
    involved_object: ObjectReference | None = None
    reason: str | None = None
    message: str | None = None
    type: Literal["Normal", "Warning"] | None = None
    source: EventSource | None = None
    first_timestamp: Time | None = None
    last_timestamp: Time | None = None
    count: Int32 | None = None
    event_time: Time | None = None
    series: EventSeries | None = None
    action: str | None = None
    related: ObjectReference | None = None
    reporting_component: str | None = None
    reporting_instance: str | None = None
