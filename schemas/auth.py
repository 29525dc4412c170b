"""Identity on the bus: who wrote a record, and what the API decided about it.

Every record on `kafkube.manifests` and `kafkube.requests` carries its author's bearer
token in the header `kafkube.token` (DESIGN.md §8). The API authenticates it into a
`UserInfo`, authorises the request with RBAC and records the decision on `kafkube.audit`
as an `AuditRecord`. Used by the API (authentication, authorisation, audit), every
component that writes requests (it presents its token) and the CLI (`auth whoami`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from schemas.records import Internal, SourceRef, utcnow

TOKEN_HEADER = "kafkube.token"
ANONYMOUS = "system:anonymous"
UNAUTHENTICATED_GROUP = "system:unauthenticated"
AUTHENTICATED_GROUP = "system:authenticated"
MASTERS_GROUP = "system:masters"
NODES_GROUP = "system:nodes"
NODE_USER_PREFIX = "system:node:"
SCHEDULER_USER = "system:kube-scheduler"
CONTROLLER_MANAGER_USER = "system:kube-controller-manager"
API_USER = "system:apiserver"
APISERVER_USER = "system:kafkube-apiserver"  # the HTTP API's own identity: it impersonates certificate callers
INGRESS_USER = "system:kafkube-ingress"  # the ingress controller (services/ingress)
IMPERSONATE_USER_HEADER = "kafkube.impersonate-user"  # kube-apiserver's Impersonate-User
IMPERSONATE_GROUP_HEADER = "kafkube.impersonate-group"  # Impersonate-Group, once per group
SERVICE_ACCOUNT_PREFIX = "system:serviceaccount:"


class UserInfo(Internal):
    """An authenticated (or anonymous) user, as Kubernetes' `user.Info`."""

    name: str = Field(alias="username")
    uid: str = ""
    groups: tuple[str, ...] = ()

    @property
    def is_anonymous(self) -> bool:
        return self.name == ANONYMOUS

    def node_name(self) -> str | None:
        """The node a kubelet's identity stands for (`system:node:<name>` in system:nodes)."""
        if NODES_GROUP in self.groups and self.name.startswith(NODE_USER_PREFIX):
            return self.name.removeprefix(NODE_USER_PREFIX)
        return None


ANONYMOUS_USER = UserInfo(username=ANONYMOUS, groups=(UNAUTHENTICATED_GROUP,))

Decision = Literal["allow", "forbid", "unauthenticated", "rejected"]


class AuditObject(Internal):
    api_version: str | None = Field(default=None, alias="apiVersion")
    resource: str | None = None
    namespace: str | None = None
    name: str | None = None


class AuditRecord(Internal):
    """One record on `kafkube.audit` per request, allowed or denied (keyed by object key)."""

    kind: Literal["Event"] = "Event"
    api_version: Literal["audit.k8s.io/v1"] = Field(default="audit.k8s.io/v1", alias="apiVersion")
    audit_id: str = Field(alias="auditID")
    stage: Literal["ResponseComplete"] = "ResponseComplete"
    verb: str
    user: UserInfo
    object_ref: AuditObject = Field(alias="objectRef")
    decision: Decision
    reason: str = ""
    response_status: str = Field(default="", alias="responseStatus")  # the answer: Created, Forbidden, ...
    source: SourceRef | None = None  # the manifest (or request record) it answers
    request_record: str = Field(default="", alias="requestRecord")  # topic/partition/offset
    writer: str = ""
    annotations: dict[str, str] = Field(default_factory=dict)  # e.g. PodSecurity's audit violations
    stage_timestamp: datetime = Field(default_factory=utcnow, alias="stageTimestamp")
