"""Object metadata and the shared building blocks of every Kubernetes resource.

Used by every resource model (``schemas.core``, ``schemas.apps``), by the API (uid,
resourceVersion, generation), by controllers (ownerReferences, label selectors) and by
anything that keys records (``object_key``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    Strict,
)
from pydantic.alias_generators import to_camel

_SPECIAL_ALIASES = {
    "pod_cidr": "podCIDR",
    "pod_cidrs": "podCIDRs",
    "host_ip": "hostIP",
    "host_ips": "hostIPs",
    "pod_ip": "podIP",
    "pod_ips": "podIPs",
    "cluster_ip": "clusterIP",
    "cluster_ips": "clusterIPs",
    "external_ips": "externalIPs",
    "load_balancer_ip": "loadBalancerIP",
    "container_id": "containerID",
    "image_id": "imageID",
    "machine_id": "machineID",
    "system_uuid": "systemUUID",
    "boot_id": "bootID",
    "provider_id": "providerID",
}


def k8s_alias(name: str) -> str:
    """camelCase alias of a snake_case field, with Kubernetes' IP/ID/CIDR spellings."""
    return _SPECIAL_ALIASES.get(name) or to_camel(name)


class KubeModel(BaseModel):
    """Base of every Kubernetes-shaped model: camelCase, unknown fields kept, frozen.

    Strict, as Kubernetes' strict JSON decoding is: ``"80"`` or ``80.0`` where an
    integer belongs, ``"true"`` where a boolean belongs, are Invalid, never coerced."""

    model_config = ConfigDict(
        extra="allow",
        populate_by_name=True,
        alias_generator=k8s_alias,
        frozen=True,
        strict=True,
    )


INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
INT32_MESSAGE = f"must be a 32-bit integer, from {INT32_MIN} to {INT32_MAX}"
INT64_MESSAGE = f"must be a 64-bit integer, from {INT64_MIN} to {INT64_MAX}"
Int32 = Annotated[int, Field(ge=INT32_MIN, le=INT32_MAX)]
"""A Kubernetes ``int32`` field (ports, replicas, probe settings, modes)."""
Int64 = Annotated[int, Field(ge=INT64_MIN, le=INT64_MAX)]
"""A Kubernetes ``int64`` field (grace periods, deadlines, generations)."""


def _as_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def _format_time(value: datetime) -> str:
    if value.microsecond:
        return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


Time = Annotated[
    datetime,
    Strict(False),  # RFC 3339 strings are the wire form
    AfterValidator(_as_utc),
    PlainSerializer(_format_time, return_type=str, when_used="json"),
]
"""RFC 3339 timestamp in UTC, serialised like Kubernetes (``2024-05-01T10:00:00Z``)."""


def _int_or_string(value: object) -> int | str:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError("must be an integer or a string")
    if isinstance(value, int) and not INT32_MIN <= value <= INT32_MAX:
        raise ValueError(INT32_MESSAGE)
    return value


IntOrString = Annotated[int | str, PlainValidator(_int_or_string)]
"""Kubernetes ``IntOrString`` (``targetPort: 8080`` or ``"http"``, ``maxSurge: 25%``)."""


class OwnerReference(KubeModel):
    api_version: str | None = None
    kind: str | None = None
    name: str | None = None
    uid: str | None = None
    controller: bool | None = None
    block_owner_deletion: bool | None = None


class ManagedFieldsEntry(KubeModel):
    """One field manager's fields (`metadata.managedFields`), written by the HTTP API's
    server-side apply and update tracking (`services/apiserver/apply.py`)."""

    manager: str | None = None
    operation: Literal["Apply", "Update"] | None = None
    api_version: str | None = None
    time: Time | None = None
    fields_type: Literal["FieldsV1"] | None = None
    fields_v1: dict[str, Any] | None = None  # `f:<field>`, `k:{...}`, `v:...` keys, nested
    subresource: str | None = None


class ObjectMeta(KubeModel):
    name: str | None = None
    generate_name: str | None = None
    namespace: str | None = None
    uid: str | None = None
    resource_version: str | None = None
    generation: Int64 | None = None
    creation_timestamp: Time | None = None
    deletion_timestamp: Time | None = None
    deletion_grace_period_seconds: Int64 | None = None
    labels: dict[str, str] | None = None
    annotations: dict[str, str] | None = None
    owner_references: list[OwnerReference] | None = None
    finalizers: list[str] | None = None
    managed_fields: list[ManagedFieldsEntry] | None = None


class ObjectReference(KubeModel):
    api_version: str | None = None
    kind: str | None = None
    namespace: str | None = None
    name: str | None = None
    uid: str | None = None
    resource_version: str | None = None
    field_path: str | None = None


class LocalObjectReference(KubeModel):
    name: str | None = None


class LabelSelectorRequirement(KubeModel):
    key: str
    operator: Literal["In", "NotIn", "Exists", "DoesNotExist"]
    values: list[str] | None = None

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        if self.operator == "Exists":
            return present
        if self.operator == "DoesNotExist":
            return not present
        inside = present and labels[self.key] in (self.values or [])
        return inside if self.operator == "In" else not inside


class LabelSelector(KubeModel):
    match_labels: dict[str, str] | None = None
    match_expressions: list[LabelSelectorRequirement] | None = None

    def is_empty(self) -> bool:
        return not self.match_labels and not self.match_expressions

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        """True when ``labels`` satisfy every term; an empty selector matches everything."""
        labels = labels or {}
        if self.match_labels and not self.match_labels.items() <= labels.items():  # every pair present (in C)
            return False
        expressions = self.match_expressions
        return not expressions or all(req.matches(labels) for req in expressions)


def selector_matches(selector: dict[str, str] | None, labels: Mapping[str, str] | None) -> bool:
    """Map-style selector (Service, ReplicationController); None or {} matches nothing."""
    if not selector:
        return False
    labels = labels or {}
    return all(labels.get(k) == v for k, v in selector.items())


class Condition(KubeModel):
    """A status condition; each kind uses the subset of timestamps it knows."""

    type: str
    status: Literal["True", "False", "Unknown"]
    reason: str | None = None
    message: str | None = None
    last_transition_time: Time | None = None
    last_probe_time: Time | None = None
    last_heartbeat_time: Time | None = None
    last_update_time: Time | None = None
    observed_generation: Int64 | None = None


class Resource(KubeModel):
    """Base of every top-level resource: apiVersion, kind, metadata."""

    namespaced: ClassVar[bool] = True

    api_version: str
    kind: str
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)


def object_key(resource: Resource) -> str:
    """Record key: ``namespace/name``, or ``name`` for cluster-scoped objects."""
    name = resource.metadata.name or ""
    if not type(resource).namespaced:
        return name
    return f"{resource.metadata.namespace or 'default'}/{name}"
