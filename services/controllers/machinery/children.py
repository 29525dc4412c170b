"""Which objects of one topic a kind of owner controls: `owner key -> child keys`,
kept from the changes of that topic (the DaemonSet's, StatefulSet's, Job's and
CronJob's pods, revisions or Jobs). A child belongs to `namespace/name` of the
controller reference it carries, when that reference is the index's kind."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from services.runtime.informer import Change


class ChildIndex:
    def __init__(self, kind: str, api_version: str) -> None:
        self.kind, self.api_version = kind, api_version
        self.children: dict[str, set[str]] = {}

    def owner_key(self, obj: Any) -> str | None:
        """`namespace/name` of the owner of this kind controlling `obj`, if any."""
        if not isinstance(obj, Mapping):
            return None
        meta = obj.get("metadata") or {}
        for ref in meta.get("ownerReferences") or ():  # as `controller_ref`, without building one
            if ref.get("controller") and ref.get("uid"):
                if ref.get("kind") != self.kind or ref.get("apiVersion") != self.api_version:
                    return None
                return f"{meta.get('namespace') or 'default'}/{ref.get('name', '')}"
        return None

    def update(self, change: Change[Any]) -> None:
        old, new = self.owner_key(change.old), self.owner_key(change.new)
        if old is not None and old != new:
            self.children.get(old, set()).discard(change.key)
        if new is not None:
            self.children.setdefault(new, set()).add(change.key)

    def owners(self, change: Change[Any]) -> list[str]:
        """The owners before and after the change (each once)."""
        return [k for k in {self.owner_key(change.old), self.owner_key(change.new)} if k is not None]

    def of(self, owner: str) -> set[str]:
        """The keys of the children `owner` controls (no copy: do not change it)."""
        return self.children.get(owner, set())

    def owners_with_children(self) -> list[str]:
        return [owner for owner, keys in self.children.items() if keys]
