"""Models of Kafkube's own records: write requests on `kafkube.requests`, the
header names of `kafkube.manifests`, observed-status records and log lines.
Resources themselves (desired state, events) are the Kubernetes models."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timezone
from enum import StrEnum
from typing import Any, Literal
from uuid import uuid4

from pydantic import BaseModel, ConfigDict, Field

OP_HEADER = "kafkube.op"
REQUEST_ID_HEADER = "kafkube.request-id"
PRINCIPAL_HEADER = "kafkube.principal"
PROPAGATION_HEADER = "kafkube.propagation-policy"
# On desired records: who asked for this version, through what, and which request.
WRITER_HEADER = "kafkube.writer"  # with op=delete: Background | Foreground | Orphan

# Annotations the API puts on its answer events, so a writer finds its answer.
REQUEST_ID_ANNOTATION = "kafkube.io/request-id"
REVIEW_ANNOTATION = "kafkube.io/review"  # an answer's result: a review's, a TokenRequest's, a SecretRequest's
SOURCE_ANNOTATION = "kafkube.io/source"
DOCUMENT_ANNOTATION = "kafkube.io/document"
DRY_RUN_ANNOTATION = "kafkube.io/dry-run-object"  # a dry run's answer: the object as it would be stored


def header_value(headers: Iterable[tuple[str, bytes]] | None, name: str) -> str | None:
    """The value of a Kafka record header, decoded; None when absent."""
    for key, value in headers or ():
        if key == name:
            return value.decode("utf-8", "replace")
    return None


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Op(StrEnum):
    """What a write request asks the API to do with one object."""

    CREATE = "create"  # fails with AlreadyExists if present
    APPLY = "apply"  # create, or replace what the manifest sets
    UPDATE = "update"  # replace; must exist
    PATCH = "patch"  # JSON merge patch (RFC 7386) of an existing object
    DELETE = "delete"
    BIND = "bind"  # set spec.nodeName of an unbound pod
    ENSURE = "ensure"  # create if missing, silently (built-in namespaces)


class Internal(BaseModel):
    """Base of Kafkube's internal records: immutable, unknown fields rejected."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class SourceRef(Internal):
    """The manifest record (and document in it) a request came from."""

    topic: str
    partition: int
    offset: int
    document: int = 0

    def __str__(self) -> str:
        return f"{self.topic}/{self.partition}/{self.offset}#{self.document}"


class WriteRequest(Internal):
    """One typed write of one object, keyed by its object key on `kafkube.requests`."""

    id: str = Field(default_factory=lambda: uuid4().hex)
    op: Op
    api_version: str = Field(alias="apiVersion")
    kind: str
    namespace: str | None = None
    name: str
    body: dict[str, Any] | None = None
    expected_resource_version: str | None = Field(default=None, alias="expectedResourceVersion")
    node_name: str | None = Field(default=None, alias="nodeName")
    grace_period_seconds: int | None = Field(default=None, alias="gracePeriodSeconds", ge=0)
    propagation_policy: Literal["Background", "Foreground", "Orphan"] | None = Field(
        default=None, alias="propagationPolicy"
    )
    principal: str = "anonymous"
    writer: str = "unknown"
    reply: bool = True  # False: no answer event; components read the outcome from state
    dry_run: bool = Field(default=False, alias="dryRun")  # decide and answer, write nothing
    source: SourceRef | None = None
    time: datetime = Field(default_factory=utcnow)

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}" if self.namespace else self.name


class LogLine(Internal):
    """One line of container output on `kafkube.logs`, keyed by pod key."""

    namespace: str
    pod: str
    container: str
    stream: Literal["stdout", "stderr"]
    timestamp: datetime
    line: str
    attempt: int = 0  # which run of the container wrote it: its status' restartCount then


class ObservedMeta(Internal):
    name: str
    namespace: str | None = None
    uid: str | None = None


class Observed(Internal):
    """The value on `kafkube.observed.<plural>`: the status one owner observed.

    Keyed like the desired object. `status` has the Kubernetes status shape of the
    kind (PodStatus, NodeStatus, DeploymentStatus, ...); `writer` names the owner."""

    api_version: str = Field(alias="apiVersion")
    kind: str
    metadata: ObservedMeta
    status: dict[str, Any]
    writer: str
    observed_at: datetime = Field(default_factory=utcnow, alias="observedAt")
