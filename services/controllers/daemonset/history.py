"""The DaemonSet's history as ControllerRevisions (upstream's `constructHistory`,
`cleanupHistory`, `getPatch`, `ComputeHash`): the hash of the pod template (with the
collision count), the revision's `data` (a patch that replaces `spec.template`), the
current revision made or renumbered to the newest, and old revisions beyond
`revisionHistoryLimit` that no live pod uses deleted, oldest first. Pure; used by
`daemonset.reconcile` and the CLI's `rollout history|undo`."""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from schemas.daemonset import REVISION_LABEL
from services.controllers.machinery.naming import ALPHANUMS

MAX_PREFIX = 223  # upstream's ControllerRevisionName: prefix cut, then "-<hash>"


@dataclass(frozen=True, slots=True)
class Revision:
    """One ControllerRevision of the DaemonSet, as the view holds it."""

    name: str
    uid: str
    revision: int
    data: Any
    hash: str | None = None  # its controller-revision-hash label
    resource_version: str | None = None


def revision_view(obj: Mapping[str, Any]) -> Revision:
    meta = obj.get("metadata") or {}
    revision = obj.get("revision")
    return Revision(name=str(meta.get("name", "")), uid=str(meta.get("uid", "")),
                    revision=revision if isinstance(revision, int) else 0, data=obj.get("data"),
                    hash=(meta.get("labels") or {}).get(REVISION_LABEL), resource_version=meta.get("resourceVersion"))


def template_hash(template: Mapping[str, Any], collision_count: int | None) -> str:
    """A short, stable name-safe hash of the template (and the collision count, so a
    collision moves to another name): upstream's SafeEncodeString of a 32-bit hash."""
    text = json.dumps(template, sort_keys=True, separators=(",", ":"))
    if collision_count:
        text += f"/{collision_count}"
    number = int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big")
    return "".join(ALPHANUMS[ord(c) % len(ALPHANUMS)] for c in str(number))


def revision_name(ds_name: str, hash_: str) -> str:
    return f"{ds_name[:MAX_PREFIX]}-{hash_}"


def revision_data(template: Mapping[str, Any]) -> dict[str, Any]:
    """upstream's getPatch: `{"spec": {"template": {..., "$patch": "replace"}}}`."""
    return {"spec": {"template": {**copy.deepcopy(dict(template)), "$patch": "replace"}}}


def template_of(data: Any) -> dict[str, Any] | None:
    """The pod template a revision's data holds (for `rollout undo`), or None."""
    template = ((data or {}).get("spec") or {}).get("template") if isinstance(data, Mapping) else None
    if not isinstance(template, Mapping):
        return None
    return {k: copy.deepcopy(v) for k, v in template.items() if k != "$patch"}


def split_history(revisions: Sequence[Revision], data: Mapping[str, Any]) -> tuple[Revision | None, list[Revision]]:
    """(the revision whose data is the current template's, the others). Duplicates of
    the current one (two revisions with equal data) count as old, the highest kept."""
    current = [r for r in revisions if r.data == data]
    keep = max(current, key=lambda r: (r.revision, r.name)) if current else None
    return keep, [r for r in revisions if r is not keep]


def next_revision(old: Collection[Revision]) -> int:
    return max((r.revision for r in old), default=0) + 1


def history_to_delete(old: Sequence[Revision], limit: int, live_hashes: Collection[str]) -> list[Revision]:
    """Old revisions past `limit`, oldest first, skipping those a live pod was made from."""
    to_kill = len(old) - max(0, limit)
    doomed: list[Revision] = []
    for revision in sorted(old, key=lambda r: (r.revision, r.name)):
        if to_kill <= 0:
            break
        if revision.hash in live_hashes:
            continue
        doomed.append(revision)
        to_kill -= 1
    return doomed
