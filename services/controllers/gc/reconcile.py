"""Garbage-collector decisions, pure: one object, the state of each of its owners
(by uid) and the objects that name it as an owner give a `Plan`.

As a dependent (its ownerReferences):
- no *solid* owner left (every owner absent, or being deleted in the foreground) →
  `Delete` it (Foreground when an owner waits in the foreground and it has
  dependents of its own, else Background);
- some solid owner left → `PatchOwners`: drop the references to absent owners and to
  owners being deleted with `orphan`, and unblock (blockOwnerDeletion=false) those
  waiting in the foreground.
As an owner being deleted (its finalizers):
- `orphan` → removed once no dependent still references it;
- `foregroundDeletion` → removed once no dependent references it with
  blockOwnerDeletion (the dependents delete themselves, above).
Other finalizers are not the collector's and stay. Called by
`services.controllers.gc.service` once per object key.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from services.controllers.machinery.writes import Policy, Target

ORPHAN = "orphan"
FOREGROUND = "foregroundDeletion"
GC_FINALIZERS = (ORPHAN, FOREGROUND)


class OwnerState(Enum):
    ALIVE = "alive"  # present, not waiting for its dependents
    ABSENT = "absent"  # no object has its uid (deleted, or replaced by a namesake)
    FOREGROUND = "foreground"  # being deleted, waiting for its blocking dependents
    ORPHANING = "orphaning"  # being deleted, its dependents are to be orphaned
    UNKNOWN = "unknown"  # a kind Kafkube does not serve: assumed alive

    @property
    def solid(self) -> bool:
        return self in (OwnerState.ALIVE, OwnerState.ORPHANING, OwnerState.UNKNOWN)


@dataclass(frozen=True, slots=True)
class Delete:
    target: Target
    policy: Policy
    reason: str


@dataclass(frozen=True, slots=True)
class PatchOwners:
    """Replace the object's ownerReferences with `owner_references` (None: remove them)."""

    target: Target
    owner_references: tuple[dict[str, Any], ...] | None
    reason: str


@dataclass(frozen=True, slots=True)
class RemoveFinalizers:
    target: Target
    removed: tuple[str, ...]
    remaining: tuple[str, ...]


Action = Delete | PatchOwners | RemoveFinalizers


@dataclass(frozen=True, slots=True)
class Plan:
    actions: tuple[Action, ...] = ()


def reconcile(obj: dict[str, Any], owners: Mapping[str, OwnerState],
              dependents: Sequence[dict[str, Any]], *, has_dependents: bool | None = None) -> Plan:
    """`owners`: the state of each owner uid the object names (missing: ABSENT);
    `dependents`: the objects naming this one's uid among their owners.
    At most one write per object per plan (they would conflict on its version)."""
    if has_dependents is None:
        has_dependents = bool(dependents)
    as_dependent = collect(obj, owners, has_dependents=has_dependents)
    if as_dependent:
        return Plan((as_dependent,))
    as_owner = finalize(obj, dependents)
    return Plan((as_owner,) if as_owner else ())


def collect(obj: dict[str, Any], owners: Mapping[str, OwnerState], *,
            has_dependents: bool) -> Action | None:
    meta = obj.get("metadata") or {}
    refs = [r for r in meta.get("ownerReferences") or [] if isinstance(r, dict)]
    if not refs:
        return None
    states = [owners.get(r.get("uid") or "", OwnerState.ABSENT) for r in refs]
    target = Target.of(obj)
    if not any(s.solid for s in states):
        if meta.get("deletionTimestamp"):
            return None  # already being deleted
        waited = OwnerState.FOREGROUND in states and has_dependents
        reason = "owners gone: " + ", ".join(_owner(r, s) for r, s in zip(refs, states))
        return Delete(target, "Foreground" if waited else "Background", reason)
    kept = [_unblocked(r) if s is OwnerState.FOREGROUND else r for r, s in zip(refs, states)
            if s not in (OwnerState.ABSENT, OwnerState.ORPHANING)]
    if kept == refs:
        return None
    dropped = [_owner(r, s) for r, s in zip(refs, states) if s is not OwnerState.ALIVE]
    return PatchOwners(target, tuple(kept) or None, "owner references: " + ", ".join(dropped))


def finalize(obj: dict[str, Any], dependents: Sequence[dict[str, Any]]) -> Action | None:
    meta = obj.get("metadata") or {}
    finalizers = [f for f in meta.get("finalizers") or [] if isinstance(f, str)]
    if not meta.get("deletionTimestamp") or not any(f in GC_FINALIZERS for f in finalizers):
        return None
    uid = meta.get("uid")
    refs = [r for d in dependents for r in (d.get("metadata") or {}).get("ownerReferences") or []
            if isinstance(r, dict) and r.get("uid") == uid]
    done = []
    if ORPHAN in finalizers and not refs:
        done.append(ORPHAN)
    if FOREGROUND in finalizers and not any(r.get("blockOwnerDeletion") for r in refs):
        done.append(FOREGROUND)
    if not done:
        return None
    remaining = tuple(f for f in finalizers if f not in done)
    return RemoveFinalizers(Target.of(obj), tuple(done), remaining)


def owner_state(owner: dict[str, Any] | None, *, kind_served: bool) -> OwnerState:
    """The state of an owner from its cached object (None: no object has its uid)."""
    if owner is None:
        return OwnerState.ABSENT if kind_served else OwnerState.UNKNOWN
    meta = owner.get("metadata") or {}
    finalizers = meta.get("finalizers") or []
    if meta.get("deletionTimestamp"):
        if FOREGROUND in finalizers:
            return OwnerState.FOREGROUND
        if ORPHAN in finalizers:
            return OwnerState.ORPHANING
    return OwnerState.ALIVE


def _unblocked(ref: dict[str, Any]) -> dict[str, Any]:
    return {**ref, "blockOwnerDeletion": False} if ref.get("blockOwnerDeletion") else ref


def _owner(ref: dict[str, Any], state: OwnerState) -> str:
    return f"{ref.get('kind')}/{ref.get('name')} ({ref.get('uid')}) {state.value}"
