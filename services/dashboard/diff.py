"""What changed between two versions of an object, field by field, for the time slider's
object view: dotted paths (`spec.replicas`, `spec.containers[0].image`) with the value
before and after; `metadata.resourceVersion`, `managedFields` and the like, which change
on every write, are left out. Pure."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

Obj = dict[str, Any]
_NOISE = frozenset({"metadata.resourceVersion", "metadata.managedFields", "metadata.generation"})


class FieldChange(BaseModel):
    """One leaf that was added (`before` None), removed (`after` None) or changed."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    path: str
    before: Any = None
    after: Any = None


def leaves(value: Any, prefix: str = "") -> dict[str, Any]:
    """Leaves by dotted path; empty maps and lists count as absent."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            if path not in _NOISE:
                out |= leaves(item, path)
        return out
    if isinstance(value, list):
        out = {}
        for index, item in enumerate(value):
            out |= leaves(item, f"{prefix}[{index}]")
        return out
    return {prefix: value}


def diff(before: Obj | None, after: Obj | None) -> list[FieldChange]:
    """Every leaf that differs, sorted by path (a creation: every leaf added; a deletion:
    every leaf removed)."""
    old, new = leaves(before or {}), leaves(after or {})
    return [FieldChange(path=p, before=old.get(p), after=new.get(p))
            for p in sorted(set(old) | set(new)) if old.get(p) != new.get(p)]
