"""The owner index: uid → where the object is, owner uid → its dependents (by
ownerReferences), over any number of desired topics. Pure bookkeeping fed by every
informer change; used by the garbage collector to find the dependents of an object
that went away and the owners a dependent names."""

from __future__ import annotations

from typing import Any

Ref = tuple[str, str]  # (desired topic, object key)


class OwnerIndex:
    """uid → where the object is, owner uid → its dependents; fed by every change."""

    def __init__(self) -> None:
        self.by_uid: dict[str, Ref] = {}
        self.dependents: dict[str, set[Ref]] = {}

    def update(self, ref: Ref, old: dict[str, Any] | None, new: dict[str, Any] | None) -> None:
        old_uid, new_uid = uid_of(old), uid_of(new)
        if old_uid and self.by_uid.get(old_uid) == ref:
            del self.by_uid[old_uid]
        if new_uid:
            self.by_uid[new_uid] = ref
        for uid in owner_uids(old) - owner_uids(new):
            found = self.dependents.get(uid)
            if found is not None:
                found.discard(ref)
                if not found:
                    del self.dependents[uid]
        for uid in owner_uids(new):
            self.dependents.setdefault(uid, set()).add(ref)


def owner_uids(obj: dict[str, Any] | None) -> set[str]:
    if not obj:
        return set()
    refs = (obj.get("metadata") or {}).get("ownerReferences") or []
    return {r["uid"] for r in refs if isinstance(r, dict) and isinstance(r.get("uid"), str) and r["uid"]}


def uid_of(obj: dict[str, Any] | None) -> str | None:
    uid = ((obj or {}).get("metadata") or {}).get("uid")
    return uid if isinstance(uid, str) and uid else None
