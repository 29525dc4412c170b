"""The garbage collector's pure decisions (background, foreground, orphan; several
owners; blockOwnerDeletion; foreign finalizers) and its owner index."""

from __future__ import annotations

from typing import Any

from hypothesis import given, strategies as st

from services.controllers.gc.reconcile import (
    FOREGROUND, ORPHAN, Delete, OwnerState, PatchOwners, RemoveFinalizers, owner_state, reconcile,
)
from services.controllers.machinery.owners import OwnerIndex, owner_uids

A, B = OwnerState.ALIVE, OwnerState.ABSENT


def ref(uid: str, *, block: bool | None = None, kind: str = "ConfigMap") -> dict[str, Any]:
    r: dict[str, Any] = {"apiVersion": "v1", "kind": kind, "name": f"owner-{uid}", "uid": uid}
    if block is not None:
        r["blockOwnerDeletion"] = block
    return r


def obj(name: str, *owners: dict[str, Any], uid: str | None = None, deleting: bool = False,
        finalizers: list[str] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": "default", "uid": uid or f"u-{name}",
                            "resourceVersion": "5"}
    if owners:
        meta["ownerReferences"] = list(owners)
    if deleting:
        meta["deletionTimestamp"] = "2025-01-01T00:00:00Z"
    if finalizers:
        meta["finalizers"] = finalizers
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta}


# -- background ------------------------------------------------------------------------------
def test_dependent_of_a_gone_owner_is_deleted_in_the_background() -> None:
    [action] = reconcile(obj("d", ref("o")), {"o": B}, []).actions
    assert isinstance(action, Delete)
    assert action.policy == "Background" and action.target.resource_version == "5"
    assert action.target.key == "default/d"


def test_dependent_of_a_live_owner_stays() -> None:
    assert reconcile(obj("d", ref("o")), {"o": A}, []).actions == ()


def test_dependent_already_being_deleted_is_not_deleted_again() -> None:
    assert reconcile(obj("d", ref("o"), deleting=True, finalizers=["x"]), {"o": B}, []).actions == ()


def test_with_one_live_owner_only_the_dangling_reference_goes() -> None:
    [action] = reconcile(obj("d", ref("live"), ref("gone")), {"live": A, "gone": B}, []).actions
    assert isinstance(action, PatchOwners)
    assert [r["uid"] for r in action.owner_references or ()] == ["live"]


def test_owner_of_an_unserved_kind_counts_as_alive() -> None:
    state = owner_state(None, kind_served=False)
    assert state is OwnerState.UNKNOWN
    assert reconcile(obj("d", ref("o", kind="Widget")), {"o": state}, []).actions == ()


def test_owner_states() -> None:
    assert owner_state(None, kind_served=True) is B
    assert owner_state(obj("o"), kind_served=True) is A
    assert owner_state(obj("o", deleting=True, finalizers=[FOREGROUND]), kind_served=True) is OwnerState.FOREGROUND
    assert owner_state(obj("o", deleting=True, finalizers=[ORPHAN]), kind_served=True) is OwnerState.ORPHANING
    assert owner_state(obj("o", deleting=True, finalizers=["other"]), kind_served=True) is A


# -- foreground ------------------------------------------------------------------------------
def test_foreground_owner_gets_its_dependents_deleted() -> None:
    fg = OwnerState.FOREGROUND
    [plain] = reconcile(obj("d", ref("o", block=True)), {"o": fg}, []).actions
    assert isinstance(plain, Delete) and plain.policy == "Background"
    [nested] = reconcile(obj("d", ref("o", block=True)), {"o": fg}, [obj("grandchild", ref("u-d"))]).actions
    assert isinstance(nested, Delete) and nested.policy == "Foreground"


def test_foreground_owner_keeps_its_finalizer_while_blocking_dependents_remain() -> None:
    owner = obj("o", uid="o", deleting=True, finalizers=[FOREGROUND, "example.com/keep"])
    blocking = obj("d1", ref("o", block=True))
    loose = obj("d2", ref("o"))
    assert reconcile(owner, {}, [blocking, loose]).actions == ()
    [done] = reconcile(owner, {}, [loose]).actions
    assert isinstance(done, RemoveFinalizers)
    assert done.removed == (FOREGROUND,) and done.remaining == ("example.com/keep",)


def test_foreground_owner_without_dependents_is_released() -> None:
    [done] = reconcile(obj("o", uid="o", deleting=True, finalizers=[FOREGROUND]), {}, []).actions
    assert isinstance(done, RemoveFinalizers) and done.remaining == ()


def test_dependent_with_another_live_owner_unblocks_the_foreground_owner() -> None:
    dep = obj("d", ref("fg", block=True), ref("live"))
    [action] = reconcile(dep, {"fg": OwnerState.FOREGROUND, "live": A}, []).actions
    assert isinstance(action, PatchOwners)
    assert action.owner_references == ({**ref("fg"), "blockOwnerDeletion": False}, ref("live"))


# -- orphan ----------------------------------------------------------------------------------
def test_orphaning_owner_loses_its_references_then_its_finalizer() -> None:
    dep = obj("d", ref("o", block=True))
    [patch] = reconcile(dep, {"o": OwnerState.ORPHANING}, []).actions
    assert isinstance(patch, PatchOwners) and patch.owner_references is None
    owner = obj("o", uid="o", deleting=True, finalizers=[ORPHAN])
    assert reconcile(owner, {}, [dep]).actions == ()
    [done] = reconcile(owner, {}, []).actions
    assert isinstance(done, RemoveFinalizers) and done.removed == (ORPHAN,)


def test_orphaned_dependent_keeps_its_other_owners() -> None:
    dep = obj("d", ref("o"), ref("live"))
    [patch] = reconcile(dep, {"o": OwnerState.ORPHANING, "live": A}, []).actions
    assert isinstance(patch, PatchOwners) and patch.owner_references == (ref("live"),)


def test_foreign_finalizers_are_left_alone() -> None:
    assert reconcile(obj("o", deleting=True, finalizers=["example.com/keep"]), {}, []).actions == ()


def test_one_write_per_object_per_plan() -> None:
    both = obj("x", ref("gone"), ref("live"), uid="x", deleting=True, finalizers=[ORPHAN])
    plan = reconcile(both, {"gone": B, "live": A}, [])
    assert [type(a) for a in plan.actions] == [PatchOwners]


# -- properties ------------------------------------------------------------------------------
states = st.sampled_from(list(OwnerState))


@given(st.lists(st.tuples(states, st.booleans()), min_size=1, max_size=5), st.booleans(), st.booleans())
def test_never_deletes_an_object_with_a_solid_owner(owners: list[tuple[OwnerState, bool]],
                                                    deleting: bool, has_deps: bool) -> None:
    refs = [ref(f"o{i}", block=block) for i, (_, block) in enumerate(owners)]
    plan = reconcile(obj("d", *refs, deleting=deleting, finalizers=["x"] if deleting else None),
                     {f"o{i}": s for i, (s, _) in enumerate(owners)}, [],
                     has_dependents=has_deps)
    deleted = any(isinstance(a, Delete) for a in plan.actions)
    solid = any(s.solid for s, _ in owners)
    assert deleted == (not solid and not deleting)
    for action in plan.actions:
        if isinstance(action, PatchOwners):  # only dead or orphaning references are dropped
            kept = {r["uid"] for r in action.owner_references or ()}
            assert kept == {f"o{i}" for i, (s, _) in enumerate(owners)
                            if s not in (OwnerState.ABSENT, OwnerState.ORPHANING)}


@given(st.lists(st.tuples(states, st.booleans()), min_size=1, max_size=5))
def test_a_patch_is_never_followed_by_another_patch(owners: list[tuple[OwnerState, bool]]) -> None:
    """After its patch lands an object needs no other patch (it may then be deleted:
    an orphaning owner's reference dropped can leave only a foreground owner)."""
    refs = [ref(f"o{i}", block=block) for i, (_, block) in enumerate(owners)]
    status = {f"o{i}": s for i, (s, _) in enumerate(owners)}
    plan = reconcile(obj("d", *refs), status, [])
    if plan.actions and isinstance(plan.actions[0], PatchOwners):
        after = obj("d", *(plan.actions[0].owner_references or ()))
        assert not any(isinstance(a, PatchOwners) for a in reconcile(after, status, []).actions)


def test_owner_index_follows_changes() -> None:
    index = OwnerIndex()
    dep = obj("d", ref("o1"), ref("o2"))
    index.update(("t", "default/d"), None, dep)
    index.update(("t", "default/o1"), None, obj("o1", uid="o1"))
    assert index.dependents["o1"] == {("t", "default/d")} and index.by_uid["o1"] == ("t", "default/o1")
    index.update(("t", "default/d"), dep, obj("d", ref("o2")))
    assert "o1" not in index.dependents and owner_uids(obj("d", ref("o2"))) == {"o2"}
    index.update(("t", "default/o1"), obj("o1", uid="o1"), None)
    assert "o1" not in index.by_uid
