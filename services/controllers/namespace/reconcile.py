"""Namespace decisions, pure: one namespace's desired record, its observed status
and the desired objects inside it give a `Plan`:

- Active namespace → its observed status says phase Active (`WriteStatus`);
- namespace being deleted (deletionTimestamp) → phase Terminating with Kubernetes'
  deletion conditions, a `DeleteContent` for every object inside not yet being
  deleted (capped per sync), and once nothing is left a `Finalize` that removes
  the `kubernetes` finalizer so the API can remove the namespace;
- namespace gone from desired state → its leftover contents are deleted too, and its
  observed record is removed (tombstone).

Called by `services.controllers.namespace.service` once per namespace key.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from schemas.registry import lookup_kind
from services.controllers.machinery.writes import Target

FINALIZER = "kubernetes"
WRITER = "namespace-controller"
BUILTIN = frozenset({"default", "kube-system", "kube-public", "kube-node-lease"})


@dataclass(frozen=True, slots=True)
class NamespaceFacts:
    name: str
    namespace: dict[str, Any] | None  # desired; None: gone
    status: dict[str, Any] | None  # the observed status record's `status`
    contents: Sequence[dict[str, Any]] = ()  # desired objects in the namespace


@dataclass(frozen=True, slots=True)
class WriteStatus:
    name: str
    uid: str | None
    status: dict[str, Any] | None  # None: remove the observed record


@dataclass(frozen=True, slots=True)
class DeleteContent:
    target: Target


@dataclass(frozen=True, slots=True)
class Finalize:
    """PATCH the namespace: `kubernetes` out of spec.finalizers and metadata.finalizers."""

    target: Target
    patch: dict[str, Any]


Action = WriteStatus | DeleteContent | Finalize


@dataclass(frozen=True, slots=True)
class Plan:
    actions: tuple[Action, ...] = ()
    requeue_after: float | None = None


def needs_contents(namespace: dict[str, Any] | None) -> bool:
    """Whether `reconcile` reads the namespace's contents: only when it is gone or terminating."""
    return namespace is None or bool((namespace.get("metadata") or {}).get("deletionTimestamp"))


def reconcile(facts: NamespaceFacts, now: datetime, *, max_deletes: int = 100) -> Plan:
    ns = facts.namespace
    if ns is None:
        if facts.name in BUILTIN:
            return Plan()
        deletes = _deletes(facts.contents, max_deletes)
        gone = (WriteStatus(facts.name, None, None),) if facts.status is not None else ()
        return Plan((*deletes, *gone), 5.0 if facts.contents else None)
    meta = ns.get("metadata") or {}
    if not needs_contents(ns):
        status = {"phase": "Active"}
        return Plan(() if facts.status == status else (WriteStatus(facts.name, meta.get("uid"), status),))
    actions: list[Action] = []
    status = terminating_status(facts.contents, facts.status, now)
    if status != facts.status:
        actions.append(WriteStatus(facts.name, meta.get("uid"), status))
    if facts.contents:
        actions += _deletes(facts.contents, max_deletes)
        return Plan(tuple(actions), 5.0)
    if patch := finalizer_patch(ns):
        actions.append(Finalize(Target.of(ns), patch))
    return Plan(tuple(actions))


def finalizer_patch(ns: dict[str, Any]) -> dict[str, Any] | None:
    """The merge patch that removes `kubernetes` from the namespace's finalizers
    (spec.finalizers, Kubernetes' place, and metadata.finalizers), None if absent."""
    patch: dict[str, Any] = {}
    for part in ("spec", "metadata"):
        finalizers = (ns.get(part) or {}).get("finalizers") or []
        if FINALIZER in finalizers:
            rest = [f for f in finalizers if f != FINALIZER]
            patch[part] = {"finalizers": rest or None}
    return patch or None


def terminating_status(contents: Sequence[dict[str, Any]], previous: dict[str, Any] | None,
                       now: datetime) -> dict[str, Any]:
    """phase Terminating and the conditions the Kubernetes namespace controller sets."""
    remaining = Counter(_resource(o) for o in contents)
    finalizers = Counter(f for o in contents for f in (o.get("metadata") or {}).get("finalizers") or [])
    wanted = [
        ("NamespaceDeletionDiscoveryFailure", False, "ResourcesDiscovered", "All resources successfully discovered"),
        ("NamespaceDeletionGroupVersionParsingFailure", False, "ParsedGroupVersions",
         "All legacy kube types successfully parsed"),
        ("NamespaceDeletionContentFailure", False, "ContentDeleted",
         "All content successfully deleted, may be waiting on finalization"),
        ("NamespaceContentRemaining", True, "SomeResourcesRemain",
         "Some resources are remaining: " + ", ".join(
             f"{r} has {n} resource instances" for r, n in sorted(remaining.items())))
        if remaining else ("NamespaceContentRemaining", False, "ContentRemoved", "All content successfully removed"),
        ("NamespaceFinalizersRemaining", True, "SomeFinalizersRemain",
         "Some content in the namespace has finalizers remaining: " + ", ".join(
             f"{f} in {n} resource instances" for f, n in sorted(finalizers.items())))
        if finalizers else ("NamespaceFinalizersRemaining", False, "ContentHasNoFinalizers",
                            "All content-preserving finalizers finished"),
    ]
    before = {c.get("type"): c for c in (previous or {}).get("conditions") or [] if isinstance(c, dict)}
    conditions = []
    for type_, true, reason, message in wanted:
        status = "True" if true else "False"
        old = before.get(type_) or {}
        since = old.get("lastTransitionTime") if old.get("status") == status else None
        conditions.append({"type": type_, "status": status, "reason": reason, "message": message,
                           "lastTransitionTime": since or now.strftime("%Y-%m-%dT%H:%M:%SZ")})
    return {"phase": "Terminating", "conditions": conditions}


def _deletes(contents: Sequence[dict[str, Any]], cap: int) -> list[DeleteContent]:
    waiting = [o for o in contents if not (o.get("metadata") or {}).get("deletionTimestamp")]
    waiting.sort(key=lambda o: (o.get("kind", ""), (o.get("metadata") or {}).get("name", "")))
    return [DeleteContent(Target.of(o)) for o in waiting[:cap]]


def _resource(obj: dict[str, Any]) -> str:
    try:
        info = lookup_kind(str(obj.get("apiVersion")), str(obj.get("kind")))
    except LookupError:
        return str(obj.get("kind", "unknown")).lower()
    return f"{info.plural}.{info.group}" if info.group else info.plural
