"""The API's pure decision: one write request against the object's current
desired state gives an Outcome (the record to write, if any, and the answer).

Value in, value out: no I/O, no clock, no randomness of its own — `now`, the new
resourceVersion and a uid are handed in, so the decision is replayable and
unit-tested without Kafka. Called by `services.api.writer` once per request.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal

from schemas.podsecurity import NamespacePolicy
from schemas.records import Op, WriteRequest
from schemas.updates import check_update, prepare_update
from schemas.validation import ManifestInvalid
from services.api.admission import Admitted, AdmissionError, admit, resource_name
from services.api.merge_patch import merge_patch
from services.api.pod_security import check_pod_security
from services.api.propagation import blocks_removal, finalizers_after_delete, namespace_defaults
from services.api.runtime_class_admission import admit_runtime_class
from services.api.service_addresses import AddressBook, assign_addresses
from services.api.storage_admission import STORAGE_KINDS, admit_new, check_resize, kept_on_apply

Reason = Literal["Created", "Updated", "Unchanged", "Deleted", "Rejected", "Reviewed"]
StatusReason = Literal["NotFound", "AlreadyExists", "Conflict", "Invalid", "Forbidden", "BadRequest",
                       "RequestEntityTooLarge", "InternalError", "Unauthorized"]
PROTECTED_NAMESPACES = frozenset({"default", "kube-system", "kube-public"})
KEPT_ON_APPLY = {"Pod": "nodeName", "Namespace": "finalizers"}  # spec fields the server sets
SERVER_FIELDS = ("uid", "resourceVersion", "generation", "creationTimestamp",
                 "deletionTimestamp", "deletionGracePeriodSeconds")


@dataclass(frozen=True, slots=True)
class Outcome:
    """What to write for a request, and how to answer it."""

    reason: Reason
    message: str
    stored: dict[str, Any] | None = None  # the object after the request (None: gone)
    write: bool = False  # True: write `stored` (or a tombstone if None) to desired
    status_reason: StatusReason | None = None
    silent: bool = False  # no answer event (ENSURE of an existing object)
    details: dict[str, str] | None = None  # extra annotations of the answer (a review's result)
    warnings: tuple[str, ...] = ()  # admitted, but the writer should know (PodSecurity warn)
    audit: str | None = None  # a note for the audit record (PodSecurity audit)


@dataclass(frozen=True, slots=True)
class Context:
    """Everything the decision needs besides the request and the current object."""

    now: datetime
    resource_version: str
    new_uid: Callable[[], str]
    namespace_phase: Literal["Active", "Terminating"] | None = "Active"
    addresses: AddressBook | None = None  # for Services: the partition's share of the ranges
    pod_security: NamespacePolicy | None = None  # for pods and workloads: the namespace's levels
    storage_classes: tuple[dict[str, Any], ...] = ()  # for claims: every StorageClass
    runtime_class: dict[str, Any] | None = None  # for pods: the RuntimeClass named (None: none, or absent)


def rejected(status: StatusReason, message: str) -> Outcome:
    return Outcome("Rejected", message, status_reason=status)


def decide(request: WriteRequest, current: dict[str, Any] | None, ctx: Context) -> Outcome:
    """Apply one request to the current object (None: absent)."""
    try:
        handler = _HANDLERS[request.op]
        return handler(request, current, ctx)
    except AdmissionError as exc:
        return rejected(exc.status_reason, str(exc))


# -- per-op decisions -------------------------------------------------------------------
def _create(request: WriteRequest, current: dict[str, Any] | None, ctx: Context) -> Outcome:
    if current is not None:
        if request.op is Op.ENSURE:
            return Outcome("Unchanged", "exists", stored=current, silent=True)
        return rejected("AlreadyExists", f"{_what(request)} already exists")
    return _store_new(request, ctx)


def _apply(request: WriteRequest, current: dict[str, Any] | None, ctx: Context) -> Outcome:
    if current is None:
        return _store_new(request, ctx)
    return _replace(request, current, ctx, keep_unset_metadata=True)


def _update(request: WriteRequest, current: dict[str, Any] | None, ctx: Context) -> Outcome:
    if current is None:
        return rejected("NotFound", f"{_what(request)} not found")
    return _replace(request, current, ctx, keep_unset_metadata=False)


def _patch(request: WriteRequest, current: dict[str, Any] | None, ctx: Context) -> Outcome:
    if current is None:
        return rejected("NotFound", f"{_what(request)} not found")
    body = merge_patch(current, request.body or {})
    patched = request.model_copy(update={"body": body})
    return _replace(patched, current, ctx, keep_unset_metadata=False)


def _delete(request: WriteRequest, current: dict[str, Any] | None, ctx: Context) -> Outcome:
    if current is None:
        return rejected("NotFound", f"{_what(request)} not found")
    if request.kind == "Namespace" and request.name in PROTECTED_NAMESPACES:
        return rejected("Forbidden", f'namespaces "{request.name}" is forbidden: '
                        "this namespace may not be deleted")
    if conflict := _stale(request, current):
        return conflict
    meta = current["metadata"]
    graceful = _graceful_pod_deletion(request, current)
    finalizers = finalizers_after_delete(current, request.propagation_policy)
    marked_only = graceful or blocks_removal({**current, "metadata": {**meta, "finalizers": finalizers}})
    if not marked_only:
        return Outcome("Deleted", f"{_what(request)} deleted", stored=None, write=True)
    if meta.get("deletionTimestamp"):
        return Outcome("Unchanged", f"{_what(request)} is already being deleted", stored=current)
    grace = request.grace_period_seconds
    if grace is None:
        grace = (current.get("spec") or {}).get("terminationGracePeriodSeconds", 30) if graceful else 0
    marked = _with_meta(current, deletionTimestamp=_ts(ctx.now), deletionGracePeriodSeconds=grace,
                        resourceVersion=ctx.resource_version)
    if finalizers:
        marked["metadata"]["finalizers"] = finalizers
    return Outcome("Deleted", f"{_what(request)} deleted", stored=marked, write=True)


def _graceful_pod_deletion(request: WriteRequest, current: dict[str, Any]) -> bool:
    """A pod on a node is only marked: its kubelet stops the containers within the
    grace period, then confirms with a delete of grace period 0."""
    on_node = request.kind == "Pod" and bool((current.get("spec") or {}).get("nodeName"))
    return on_node and request.grace_period_seconds != 0


def _bind(request: WriteRequest, current: dict[str, Any] | None, ctx: Context) -> Outcome:
    if current is None:
        return rejected("NotFound", f"{_what(request)} not found")
    if conflict := _stale(request, current):
        return conflict
    bound = current.get("spec", {}).get("nodeName")
    if bound == request.node_name:
        return Outcome("Unchanged", f"{_what(request)} is bound to {bound}", stored=current)
    if bound:
        return rejected("Conflict", f'Operation cannot be fulfilled on {_what(request)}: '
                        f'pod {request.name} is already assigned to node "{bound}"')
    if current["metadata"].get("deletionTimestamp"):
        return rejected("Conflict", f"{_what(request)} is being deleted")
    spec = {**current.get("spec", {}), "nodeName": request.node_name}
    stored = {**_with_meta(current, resourceVersion=ctx.resource_version), "spec": spec}
    return Outcome("Updated", f"{_what(request)} bound to {request.node_name}",
                   stored=stored, write=True)


_HANDLERS: dict[Op, Callable[[WriteRequest, dict[str, Any] | None, Context], Outcome]] = {
    Op.CREATE: _create,
    Op.ENSURE: _create,
    Op.APPLY: _apply,
    Op.UPDATE: _update,
    Op.PATCH: _patch,
    Op.DELETE: _delete,
    Op.BIND: _bind,
}


# -- building the stored object -----------------------------------------------------------
def _store_new(request: WriteRequest, ctx: Context) -> Outcome:
    if request.expected_resource_version:
        return rejected("NotFound", f"{_what(request)} not found")
    admitted = admit(request.body or {})
    if admitted.namespaced and (refusal := _namespace_refusal(request, ctx)):
        return refusal
    obj = admit_runtime_class(admitted.obj, ctx.runtime_class) if admitted.info.kind == "Pod" else admitted.obj
    security = check_pod_security(obj, ctx.pod_security, creating=True)
    if security.refusal:
        return replace(rejected("Forbidden", security.refusal), audit=security.audit)
    obj = namespace_defaults(assign_addresses(obj, None, ctx.addresses))
    if admitted.info.kind in STORAGE_KINDS:
        obj = admit_new(obj, list(ctx.storage_classes))
    meta = {k: v for k, v in obj["metadata"].items() if k not in SERVER_FIELDS}
    meta.update(uid=ctx.new_uid(), resourceVersion=ctx.resource_version, generation=1,
                creationTimestamp=_ts(ctx.now))
    stored = {**obj, "metadata": meta}
    return Outcome("Created", f"{_what(request)} created", stored=stored, write=True,
                   warnings=security.warnings, audit=security.audit)


def _replace(request: WriteRequest, current: dict[str, Any], ctx: Context, *,
             keep_unset_metadata: bool) -> Outcome:
    if conflict := _stale(request, current):
        return conflict
    admitted = admit(_prepared_body(request, current, applying=keep_unset_metadata))
    if admitted.info.kind == "Pod" and ctx.runtime_class is not None:  # an APPLY: what the create set, set again
        admitted = replace(admitted, obj=admit_runtime_class(admitted.obj, ctx.runtime_class))
    _check_immutable(request, admitted, current)
    if admitted.info.kind == "PersistentVolumeClaim":
        check_resize(admitted.obj, current, list(ctx.storage_classes))
    obj = assign_addresses(admitted.obj, current, ctx.addresses)
    meta = _merged_metadata(obj["metadata"], current["metadata"], keep_unset_metadata)
    candidate = {**obj, "metadata": meta}
    if candidate == current:
        return Outcome("Unchanged", f"{_what(request)} unchanged", stored=current)
    if _spec(candidate) != _spec(current):
        meta["generation"] = current["metadata"].get("generation", 1) + 1
    if meta.get("deletionTimestamp") and not blocks_removal(candidate):
        return Outcome("Deleted", f"{_what(request)} deleted", stored=None, write=True)
    meta["resourceVersion"] = ctx.resource_version
    security = check_pod_security(candidate, ctx.pod_security, creating=False)
    return Outcome("Updated", f"{_what(request)} configured", stored=candidate, write=True,
                   warnings=security.warnings, audit=security.audit)


def _merged_metadata(new: dict[str, Any], old: dict[str, Any], keep_unset: bool) -> dict[str, Any]:
    """The user's metadata with the server's fields and the managedFields carried over
    (the HTTP API's field managers, `services.apiserver.apply`, which a write that names
    none leaves as they are). For APPLY, fields
    the manifest leaves out (ownerReferences, finalizers, annotations set by
    controllers) stay as they are, as `kubectl apply` leaves what it did not set."""
    meta = {k: v for k, v in new.items() if k not in SERVER_FIELDS}
    meta.update({k: old[k] for k in SERVER_FIELDS if k in old})
    if "managedFields" not in meta and old.get("managedFields"):  # a writer that does not track fields
        meta["managedFields"] = old["managedFields"]
    if meta.get("managedFields") == []:  # the last manager gone (or cleared on purpose, as upstream)
        del meta["managedFields"]
    if keep_unset:
        for field in ("ownerReferences", "finalizers"):
            if field not in meta and field in old:
                meta[field] = old[field]
        if old.get("annotations"):
            meta["annotations"] = {**old["annotations"], **meta.get("annotations", {})}
    return meta


def _prepared_body(request: WriteRequest, current: dict[str, Any], *, applying: bool) -> dict[str, Any]:
    """The body as Kubernetes' update strategy hands it to validation. An APPLY also
    keeps the spec fields the server set and a manifest never names (a pod's node,
    set by BIND; a namespace's finalizers), as `kubectl apply` leaves them."""
    body = request.body or {}
    field, spec = KEPT_ON_APPLY.get(request.kind), body.get("spec", {})
    kept = (current.get("spec") or {}).get(field) if field else None
    if applying and field and kept is not None and isinstance(spec, dict) and field not in spec:
        body = {**body, "spec": {**spec, field: kept}}
    if applying:
        body = kept_on_apply(request.kind, body, current)
    return prepare_update(request.kind, body, current)


def _check_immutable(request: WriteRequest, admitted: Admitted, current: dict[str, Any]) -> None:
    """Kubernetes' update validation of the kind (what may change once stored)."""
    if errors := check_update(admitted.info.kind, admitted.obj, current):
        invalid = ManifestInvalid(admitted.info.kind, request.name, errors, admitted.info.group)
        raise AdmissionError("Invalid", str(invalid))


def _stale(request: WriteRequest, current: dict[str, Any]) -> Outcome | None:
    expected = request.expected_resource_version
    if expected and expected != current["metadata"].get("resourceVersion"):
        return rejected("Conflict", f"Operation cannot be fulfilled on {_what(request)}: the "
                        "object has been modified; please apply your changes to the latest "
                        "version and try again")
    return None


def _namespace_refusal(request: WriteRequest, ctx: Context) -> Outcome | None:
    if ctx.namespace_phase is None:
        return rejected("NotFound", f'namespaces "{request.namespace}" not found')
    if ctx.namespace_phase == "Terminating":
        return rejected("Forbidden", f"{_what(request)} is forbidden: unable to create new "
                        f"content in namespace {request.namespace} because it is being terminated")
    return None


def _spec(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k not in ("apiVersion", "kind", "metadata", "status")}


def _with_meta(obj: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {**obj, "metadata": {**obj["metadata"], **fields}}


def _what(request: WriteRequest) -> str:
    return f'{resource_name(request.api_version, request.kind)} "{request.name}"'


def _ts(now: datetime) -> str:
    return now.strftime("%Y-%m-%dT%H:%M:%SZ")
