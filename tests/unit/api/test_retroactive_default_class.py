"""Retroactive default StorageClass assignment, the API's side: the update rule lets an
unbound claim's storageClassName go from nil to a value, nothing else (upstream's
validateStorageClassUpgradeFromNil, on unbound claims only); the volume controller's patch,
as it sends it, is decided Updated; the controller manager may send it (RBAC)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest
from hypothesis import given, settings, strategies as st

from schemas.auth import UserInfo
from schemas.storage import default_local_class
from schemas.storage_updates import check_pvc_update
from services.api.decide import Context, decide
from services.api.rbac import Attributes, Policy, bootstrap_policy
from services.controllers.machinery.writes import Target, patch_request

IMMUTABLE = "spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims"
ABSENT = object()


def claim(cls: object = ABSENT, *, volume: str | None = None, rv: str = "5") -> dict[str, Any]:
    spec: dict[str, Any] = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}},
                            "volumeMode": "Filesystem"}
    if cls is not ABSENT:
        spec["storageClassName"] = cls
    if volume:
        spec["volumeName"] = volume
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": "data", "namespace": "default", "uid": "uid-data", "resourceVersion": rv,
                         "finalizers": ["kubernetes.io/pvc-protection"]},
            "spec": spec}


def messages(new: dict[str, Any], old: dict[str, Any]) -> list[str]:
    return [str(e) for e in check_pvc_update(new, old)]


@pytest.mark.parametrize("old", [ABSENT, None])
def test_an_unbound_claim_without_a_class_may_get_one(old: object) -> None:
    assert messages(claim("local-path"), claim(old)) == []


@pytest.mark.parametrize("old, new, volume", [
    ("", "local-path", None),  # "" asks for no class: never replaced
    ("gold", "local-path", None),  # a class never changes
    ("gold", ABSENT, None),  # nor goes away
    (ABSENT, "local-path", "pv1"),  # a bound claim keeps its volume's class
])
def test_other_class_changes_keep_upstreams_immutable_message(old: object, new: object, volume: str | None) -> None:
    assert messages(claim(new, volume=volume), claim(old, volume=volume)) == [f"spec: Forbidden: {IMMUTABLE}"]


_classes = st.sampled_from([ABSENT, None, "", "gold", "local-path"])


@settings(max_examples=200, deadline=None)
@given(old=_classes, new=_classes, bound=st.booleans())
def test_a_class_changes_only_from_nil_on_an_unbound_claim(old: object, new: object, bound: bool) -> None:
    volume = "pv1" if bound else None
    allowed = not messages(claim(new, volume=volume), claim(old, volume=volume))
    was, value = (None if old is ABSENT else old), (None if new is ABSENT else new)
    same = (was or "") == (value or "")  # semantic equality: nil and "" alike
    assert allowed is (same or (was is None and value is not None and not bound))


def test_the_controllers_patch_is_decided_updated() -> None:
    current = claim()
    request = patch_request(Target.of(current), {"spec": {"storageClassName": "local-path"}},
                            writer="persistent-volume-binder")
    ctx = Context(now=datetime(2026, 1, 2, tzinfo=timezone.utc), resource_version="6", new_uid=lambda: "unused",
                  storage_classes=(default_local_class(),))
    outcome = decide(request, current, ctx)
    assert outcome.reason == "Updated", outcome
    assert outcome.stored is not None and outcome.stored["spec"]["storageClassName"] == "local-path"
    refused = decide(request, claim(""), ctx)
    assert refused.status_reason == "Invalid" and IMMUTABLE in refused.message


def test_the_controller_manager_may_patch_claims() -> None:
    manager = UserInfo(username="system:kube-controller-manager", groups=("system:authenticated",))
    patch = Attributes("patch", "", "persistentvolumeclaims", "", "default", "data")
    assert Policy.of(bootstrap_policy()).authorize(manager, patch).allowed
