"""A StatefulSet's ControllerRevisions: the revision data (the pod template as
upstream's getPatch writes it, `{"spec": {"template": {..., "$patch": "replace"}}}`),
its name `<set>-<hash>`, and the choice of the current and update revisions
(getStatefulSetRevisions: reuse an equal revision, bump its number when it is not the
latest, else create the next; a name taken by other data raises collisionCount),
and the history to truncate (revisionHistoryLimit, never the current or update
revision, nor one a live pod runs). Pure; used by `reconcile`."""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from schemas.statefulset import REVISION_LABEL, StatefulSet
from services.controllers.machinery.naming import ALPHANUMS


@dataclass(frozen=True, slots=True)
class RevisionView:
    name: str
    uid: str
    number: int
    data: Mapping[str, Any]
    resource_version: str | None = None


@dataclass(frozen=True, slots=True)
class RevisionChoice:
    current: RevisionView
    update: RevisionView
    collision_count: int
    create: dict[str, Any] | None = None  # the new update revision's body
    bump: RevisionView | None = None  # an earlier equal revision, renumbered (update.number is its new number)


def revision_view(doc: Mapping[str, Any]) -> RevisionView:
    """A ControllerRevision record; malformed fields read as absent."""
    meta = doc.get("metadata")
    meta = meta if isinstance(meta, Mapping) else {}
    data, number = doc.get("data"), doc.get("revision")
    return RevisionView(name=str(meta.get("name") or ""), uid=str(meta.get("uid") or ""),
                        number=number if isinstance(number, int) and not isinstance(number, bool) else 0,
                        data=data if isinstance(data, Mapping) else {},
                        resource_version=str(meta["resourceVersion"]) if meta.get("resourceVersion") else None)


def template_json(sts: StatefulSet) -> dict[str, Any]:
    assert sts.spec is not None and sts.spec.template is not None
    return sts.spec.template.model_dump(by_alias=True, exclude_none=True, mode="json")


def revision_data(template: Mapping[str, Any]) -> dict[str, Any]:
    return {"spec": {"template": {**copy.deepcopy(dict(template)), "$patch": "replace"}}}


def template_of(revision: RevisionView) -> dict[str, Any]:
    spec = revision.data.get("spec")
    template = spec.get("template") if isinstance(spec, Mapping) else None
    out = dict(template) if isinstance(template, Mapping) else {}
    out.pop("$patch", None)
    return out


def revision_hash(data: Mapping[str, Any], collision_count: int) -> str:
    canonical = orjson.dumps(data, option=orjson.OPT_SORT_KEYS)
    digest = hashlib.sha256(canonical + (f"/{collision_count}".encode() if collision_count else b"")).digest()
    number = int.from_bytes(digest[:4], "big")  # a uint32, as upstream's fnv32a, in the safe alphabet
    return "".join(ALPHANUMS[ord(ch) % len(ALPHANUMS)] for ch in str(number))


def choose_revisions(sts: StatefulSet, revisions: Sequence[RevisionView], collision_count: int,
                     current_name: str | None) -> RevisionChoice:
    data = revision_data(template_json(sts))
    by_name = {r.name: r for r in revisions}
    while True:
        name = f"{sts.metadata.name}-{revision_hash(data, collision_count)}"
        taken = by_name.get(name)
        if taken is None or _same(taken.data, data):
            break
        collision_count += 1  # a revision of that name holds other data
    latest = max((r.number for r in revisions), default=0)
    equal = [r for r in revisions if _same(r.data, data)]
    create, bump = None, None
    if equal:
        update = max(equal, key=lambda r: r.number)
        if update.number != latest:
            update = RevisionView(update.name, update.uid, latest + 1, update.data, update.resource_version)
            bump = update
    else:
        create = _new_revision(sts, name, data, latest + 1)
        update = RevisionView(name, "", latest + 1, data)
    current = by_name.get(current_name or "") or update
    return RevisionChoice(current=current, update=update, collision_count=collision_count, create=create, bump=bump)


def _same(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    return a == b  # JSON values: order-free equality of objects


def _new_revision(sts: StatefulSet, name: str, data: dict[str, Any], number: int) -> dict[str, Any]:
    assert sts.spec is not None and sts.spec.template is not None
    labels = dict((sts.spec.template.metadata.labels or {}) if sts.spec.template.metadata else {})
    labels[REVISION_LABEL] = name
    return {"apiVersion": "apps/v1", "kind": "ControllerRevision",
            "metadata": {"name": name, "namespace": sts.metadata.namespace or "default", "labels": labels,
                         "ownerReferences": [{"apiVersion": sts.api_version, "kind": sts.kind,
                                              "name": sts.metadata.name, "uid": sts.metadata.uid,
                                              "controller": True, "blockOwnerDeletion": True}]},
            "data": data, "revision": number}


def history_to_delete(revisions: Sequence[RevisionView], keep: Collection[str], limit: int) -> list[RevisionView]:
    """The oldest revisions beyond `limit`, among those not in `keep` (truncateHistory)."""
    old = sorted((r for r in revisions if r.name not in keep), key=lambda r: r.number)
    return old[:max(0, len(old) - limit)]
