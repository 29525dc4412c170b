"""A StatefulSet pod's and claims' identity: the ordinal in a pod's name
(`<set>-<ordinal>`), the claims of an ordinal (`<template>-<set>-<ordinal>`), and the
bodies the controller creates: a pod from a revision's template with hostname =
its name, subdomain = serviceName, the identity labels and one persistentVolumeClaim
volume per claim template; a claim from its template with the retention-policy
owner references (upstream's stateful_set_utils.go). Pure; used by `reconcile`."""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from schemas.statefulset import DELETE, POD_INDEX_LABEL, POD_NAME_LABEL, REVISION_LABEL, StatefulSet

_ORDINAL = re.compile(r"^(.*)-(0|[1-9][0-9]*)$")


@dataclass(frozen=True, slots=True)
class ClaimView:
    """A PersistentVolumeClaim as the controller sees it."""

    name: str
    uid: str
    resource_version: str | None = None
    owner_refs: tuple[Mapping[str, Any], ...] = ()
    deleting: bool = False


def claim_view(claim: Mapping[str, Any]) -> ClaimView:
    """A claim record as the controller sees it; malformed fields read as absent."""
    meta = claim.get("metadata")
    meta = meta if isinstance(meta, Mapping) else {}
    refs = meta.get("ownerReferences")
    return ClaimView(name=str(meta.get("name") or ""), uid=str(meta.get("uid") or ""),
                     resource_version=str(meta["resourceVersion"]) if meta.get("resourceVersion") else None,
                     owner_refs=tuple(r for r in refs if isinstance(r, Mapping)) if isinstance(refs, list) else (),
                     deleting=bool(meta.get("deletionTimestamp")))


def ordinal_of(set_name: str, pod_name: str) -> int | None:
    """The ordinal of `<set>-<n>`, None for any other name (upstream's getParentNameAndOrdinal)."""
    match = _ORDINAL.match(pod_name)
    if match is None or match.group(1) != set_name:
        return None
    return int(match.group(2))


def pod_name(sts: StatefulSet, ordinal: int) -> str:
    return f"{sts.metadata.name}-{ordinal}"


def claim_templates(sts: StatefulSet) -> list[str]:
    return [c.metadata.name for c in (sts.spec.volume_claim_templates or []) if c.metadata.name] if sts.spec else []


def claim_name(template: str, sts: StatefulSet, ordinal: int) -> str:
    return f"{template}-{sts.metadata.name}-{ordinal}"


def owner_ref(sts: StatefulSet, *, controller: bool) -> dict[str, Any]:
    ref: dict[str, Any] = {"apiVersion": sts.api_version, "kind": sts.kind, "name": sts.metadata.name,
                           "uid": sts.metadata.uid}
    if controller:
        ref.update(controller=True, blockOwnerDeletion=True)
    return ref


def new_pod(sts: StatefulSet, template: Mapping[str, Any], revision: str, ordinal: int) -> dict[str, Any]:
    """The pod of `ordinal` from a revision's template (newVersionedStatefulSetPod)."""
    assert sts.spec is not None
    name = pod_name(sts, ordinal)
    meta = copy.deepcopy(dict(template.get("metadata") or {}))
    meta.pop("$patch", None)
    meta["labels"] = {**(meta.get("labels") or {}), POD_NAME_LABEL: name, POD_INDEX_LABEL: str(ordinal),
                      REVISION_LABEL: revision}
    meta.update(name=name, namespace=sts.metadata.namespace or "default",
                ownerReferences=[owner_ref(sts, controller=True)])
    spec = copy.deepcopy(dict(template.get("spec") or {}))
    spec["hostname"] = name
    if sts.spec.service_name:
        spec["subdomain"] = sts.spec.service_name
    claims = {t: claim_name(t, sts, ordinal) for t in claim_templates(sts)}
    if claims:
        kept = [v for v in spec.get("volumes") or [] if v.get("name") not in claims]
        spec["volumes"] = [{"name": t, "persistentVolumeClaim": {"claimName": c}} for t, c in claims.items()] + kept
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec}


def claim_owner_refs(sts: StatefulSet, *, condemned_pod: tuple[str, str] | None,
                     current: tuple[Mapping[str, Any], ...] = ()) -> list[dict[str, Any]]:
    """The owner references a claim should carry under the retention policy: the set
    when whenDeleted is Delete; the condemned pod (name, uid) when whenScaled is Delete
    and its ordinal is scaled away. References to other owners are kept
    (updateClaimOwnerRefForSetAndPod)."""
    assert sts.spec is not None
    policy = sts.spec.persistent_volume_claim_retention_policy
    when_deleted = policy.when_deleted if policy else None
    when_scaled = policy.when_scaled if policy else None
    others = [dict(r) for r in current
              if r.get("uid") != sts.metadata.uid and not (r.get("kind") == "Pod" and r.get("apiVersion") == "v1")]
    refs = []
    if when_deleted == DELETE:
        refs.append(owner_ref(sts, controller=False))
    if when_scaled == DELETE and condemned_pod is not None:
        refs.append({"apiVersion": "v1", "kind": "Pod", "name": condemned_pod[0], "uid": condemned_pod[1]})
    return others + refs


def new_claim(sts: StatefulSet, template: str, ordinal: int) -> dict[str, Any]:
    """The claim of `template` for `ordinal`: the template's labels plus the set's
    matchLabels, its spec, the set as owner when whenDeleted is Delete."""
    assert sts.spec is not None
    found = next(c for c in sts.spec.volume_claim_templates or [] if c.metadata.name == template)
    body = found.model_dump(by_alias=True, exclude_none=True, mode="json")
    meta = body.get("metadata") or {}
    labels = {**(meta.get("labels") or {}), **((sts.spec.selector.match_labels or {}) if sts.spec.selector else {})}
    out_meta: dict[str, Any] = {"name": claim_name(template, sts, ordinal),
                                "namespace": sts.metadata.namespace or "default", "labels": labels}
    if meta.get("annotations"):
        out_meta["annotations"] = meta["annotations"]
    refs = claim_owner_refs(sts, condemned_pod=None)
    if refs:
        out_meta["ownerReferences"] = refs
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": out_meta, "spec": body.get("spec") or {}}
