"""Storage under the default RBAC policy and in kubectl's columns: a viewer reads claims, an
editor writes them, neither touches PersistentVolumes or StorageClasses (cluster-scoped, the
administrator's), anonymous nothing; the controller manager binds, provisions, grows and
releases; `kubectl get pv|pvc|sc` rows as upstream's printers."""

from __future__ import annotations

from typing import Any

import pytest

from schemas.auth import ANONYMOUS_USER, CONTROLLER_MANAGER_USER, UserInfo
from schemas.printing import COLUMNS, display_name
from schemas.storage import default_local_class
from services.api.rbac import Attributes, Policy, bootstrap_policy

VIEWER, EDITOR, ADMIN = UserInfo(username="vic"), UserInfo(username="eddie"), UserInfo(username="root", groups=("system:masters",))
MANAGER = UserInfo(username=CONTROLLER_MANAGER_USER)
POLICY = Policy.of([
    *bootstrap_policy(),
    *({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
       "metadata": {"name": f"{who}-{role}", "namespace": "dev"},
       "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
       "subjects": [{"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": who}]}
      for who, role in (("vic", "view"), ("eddie", "edit"))),
])
CASES = [
    (VIEWER, Attributes("get", "", "persistentvolumeclaims", "", "dev", "data"), True),
    (VIEWER, Attributes("create", "", "persistentvolumeclaims", "", "dev", "data"), False),
    (EDITOR, Attributes("create", "", "persistentvolumeclaims", "", "dev", "data"), True),
    (EDITOR, Attributes("delete", "", "persistentvolumeclaims", "", "dev", "data"), True),
    (EDITOR, Attributes("create", "", "persistentvolumes", "", "", "pv1"), False),
    (EDITOR, Attributes("create", "storage.k8s.io", "storageclasses", "", "", "fast"), False),
    (ANONYMOUS_USER, Attributes("get", "", "persistentvolumeclaims", "", "dev", "data"), False),
    (ADMIN, Attributes("create", "storage.k8s.io", "storageclasses", "", "", "fast"), True),
    (MANAGER, Attributes("create", "", "persistentvolumes", "", "", "pvc-1"), True),
    (MANAGER, Attributes("patch", "", "persistentvolumes", "", "", "pvc-1"), True),
    (MANAGER, Attributes("delete", "", "persistentvolumes", "", "", "pvc-1"), True),
    (MANAGER, Attributes("patch", "", "persistentvolumeclaims", "", "dev", "data"), True),
    (MANAGER, Attributes("create", "storage.k8s.io", "storageclasses", "", "", "fast"), False),
]


@pytest.mark.parametrize("user, request_, allowed", CASES)
def test_default_policy(user: UserInfo, request_: Attributes, allowed: bool) -> None:
    assert POLICY.authorize(user, request_).allowed is allowed


def row(plural: str, obj: dict[str, Any]) -> list[str]:
    return [display_name(plural, obj), *COLUMNS[plural][1](obj)]


def test_kubectl_rows() -> None:
    pv = {"metadata": {"name": "pv1"}, "spec": {"capacity": {"storage": "2Gi"}, "accessModes": ["ReadOnlyMany", "ReadWriteOnce"],
                                               "persistentVolumeReclaimPolicy": "Retain", "storageClassName": "",
                                               "claimRef": {"namespace": "dev", "name": "data"}},
          "status": {"phase": "Bound"}}
    assert row("persistentvolumes", pv) == ["pv1", "2Gi", "RWO,ROX", "Retain", "Bound", "dev/data", "", "<unset>", ""]
    pvc = {"metadata": {"name": "data", "deletionTimestamp": "2026-01-01T00:00:00Z"},
           "spec": {"volumeName": "pv1", "storageClassName": "local-path", "resources": {"requests": {"storage": "1Gi"}}},
           "status": {"phase": "Bound", "capacity": {"storage": "2Gi"}, "accessModes": ["ReadWriteOnce"]}}
    assert row("persistentvolumeclaims", pvc) == ["data", "Terminating", "pv1", "2Gi", "RWO", "local-path", "<unset>"]
    pending = {"metadata": {"name": "new"}, "spec": {"storageClassName": "local-path"}, "status": {"phase": "Pending"}}
    assert row("persistentvolumeclaims", pending) == ["new", "Pending", "", "", "", "local-path", "<unset>"]
    assert row("storageclasses", default_local_class()) == [
        "local-path (default)", "kafkube.io/local", "Delete", "WaitForFirstConsumer", "true"]
    assert COLUMNS["storageclasses"][0] == ["PROVISIONER", "RECLAIMPOLICY", "VOLUMEBINDINGMODE", "ALLOWVOLUMEEXPANSION"]
