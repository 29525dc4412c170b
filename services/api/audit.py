"""Audit records: one per request the API decides, allowed or denied (DESIGN.md §8).
Pure; the writer (and the intake, for records it refuses before they become requests)
writes them to `kafkube.audit` in the same transaction as the decision."""

from __future__ import annotations

from schemas.auth import AuditObject, AuditRecord, Decision, UserInfo, utcnow
from schemas.records import SourceRef, WriteRequest
from services.api.rbac_policy import OP_VERBS


def audit_record(request: WriteRequest, *, resource: str | None, user: UserInfo, decision: Decision,
                 reason: str, answer: str, record: str, verb: str | None = None,
                 annotations: dict[str, str] | None = None) -> AuditRecord:
    """The audit record of one decided request; `record` is the request record's
    topic/partition/offset, `answer` the reason given to the writer (Created, Forbidden...).
    The verb is RBAC's for the op (an APPLY is audited as `apply`: whether it created or
    patched is in the answer). Built without validation: every field comes from a
    validated request and the API's own decision (one per request, on the hot path)."""
    return AuditRecord.model_construct(
        audit_id=request.id, verb=verb or OP_VERBS.get(request.op, request.op.value), user=user,
        object_ref=AuditObject.model_construct(api_version=request.api_version, resource=resource,
                                               namespace=request.namespace, name=request.name),
        decision=decision, reason=reason[:2000], response_status=answer, source=request.source,
        request_record=record, writer=request.writer, annotations=annotations or {},
        stage_timestamp=utcnow())  # given: model_construct inspects a default factory at every call


def refused_manifest(*, request_id: str, user: UserInfo | None, source: SourceRef, reason: str) -> AuditRecord:
    """A manifest record refused before it became requests (its token is unknown)."""
    return AuditRecord(auditID=request_id, verb="apply", user=user or UserInfo(username="(unknown token)"),
                       objectRef=AuditObject(), decision="unauthenticated", reason=reason,
                       responseStatus="Unauthorized", source=source,
                       requestRecord=f"{source.topic}/{source.partition}/{source.offset}", writer="api-intake")
