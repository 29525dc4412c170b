"""Kafkube's Kubernetes-shaped resource models, validation, defaults and kind registry.

Used by every service and the CLI. Pure models: nothing here does I/O or imports
service code. Kafka record models live in ``schemas.records``.
"""

from schemas.apps import Deployment, ReplicaSet
from schemas.core import (
    ConfigMap,
    Endpoints,
    Event,
    Namespace,
    Node,
    Pod,
    ReplicationController,
    Secret,
    Service,
)
from schemas.defaults import apply_defaults
from schemas.documents import DocumentResult
from schemas.manifest import split_documents, unknown_fields, validate_object
from schemas.meta import (
    LabelSelector,
    ObjectMeta,
    ObjectReference,
    OwnerReference,
    Resource,
    object_key,
    selector_matches,
)
from schemas.quantity import Quantity, cpu_millis, memory_bytes, parse_quantity
from schemas.registry import ALL_KINDS, KindInfo, NoKindMatch, lookup_kind, resolve_resource
from schemas.validation import FieldError, ManifestError, ManifestInvalid

__all__ = [
    "ALL_KINDS", "ConfigMap", "Deployment", "DocumentResult", "Endpoints", "Event",
    "FieldError", "KindInfo", "LabelSelector", "ManifestError", "ManifestInvalid",
    "Namespace", "NoKindMatch", "Node", "ObjectMeta", "ObjectReference", "OwnerReference",
    "Pod", "Quantity", "ReplicaSet", "ReplicationController", "Resource", "Secret", "Service",
    "apply_defaults", "cpu_millis", "lookup_kind", "memory_bytes", "object_key",
    "parse_quantity", "resolve_resource", "selector_matches", "split_documents",
    "unknown_fields", "validate_object",
]
