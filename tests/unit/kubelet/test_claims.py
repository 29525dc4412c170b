"""persistentVolumeClaim volumes on the node: claim -> bound PV -> the directory bound into
the containers (made for a provisioned PV, 0777, fsGroup-owned), upstream's FailedMount
while the claim is unbound, readOnly, ReadWriteOncePod refused to a second pod, reclaim
of a deleted PV's directory; and a hypothesis fuzz of malformed claims and PVs through a
whole pod sync on the hollow runtime (never an exception, at worst a FailedMount)."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.pod import Pod
from services.kubelet.claims import ClaimError, ClaimSource, resolve, unclaimed_dirs
from services.kubelet.container_config import container_config
from services.kubelet.runtime.hollow import HollowRuntime
from services.kubelet.volumes import VolumeError, VolumeManager
from tests.availability import under_ci
from tests.unit.kubelet.helpers import pod
from tests.unit.kubelet.test_sync import kubelet

CLAIM_UID = "c-1"


def user(claim: str = "data", *, read_only: bool | None = None, name: str = "p", uid: str = "u-1",
         created: str = "2026-01-01T11:00:00Z", fs_group: int | None = None) -> Pod:
    source: dict[str, Any] = {"claimName": claim}
    if read_only is not None:
        source["readOnly"] = read_only
    extra: dict[str, Any] = {}
    if fs_group is not None:
        extra["securityContext"] = {"fsGroup": fs_group}
    body = pod("web", volumes=[{"name": "vol", "persistentVolumeClaim": source}], **extra
               ).model_dump(by_alias=True, exclude_none=True)
    body["spec"]["containers"][0]["volumeMounts"] = [{"name": "vol", "mountPath": "/data"}]
    body["metadata"] |= {"name": name, "uid": uid, "creationTimestamp": created}
    return Pod.model_validate(body)


def claim(*, bound: bool = True, volume: str = "pvc-c-1", modes: tuple[str, ...] = ("ReadWriteOnce",)
          ) -> dict[str, Any]:
    spec: dict[str, Any] = {"accessModes": list(modes), "resources": {"requests": {"storage": "1Gi"}},
                            "storageClassName": "local-path"}
    if bound:
        spec["volumeName"] = volume
    annotations = {"pv.kubernetes.io/bind-completed": "yes"} if bound else {}  # the binder's, with volumeName
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim",  # the desired record: no status
            "metadata": {"name": "data", "namespace": "default", "uid": CLAIM_UID, "annotations": annotations},
            "spec": spec}


def volume(path: str, *, kind: str = "local", name: str = "pvc-c-1", claim_uid: str | None = CLAIM_UID,
           host_type: str | None = None) -> dict[str, Any]:
    source: dict[str, Any] = {"path": path}
    if host_type is not None:
        source["type"] = host_type
    spec: dict[str, Any] = {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"], kind: source}
    if claim_uid is not None:
        spec["claimRef"] = {"namespace": "default", "name": "data", "uid": claim_uid}
    return {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": name}, "spec": spec,
            "status": {"phase": "Bound"}}


def stores(tmp_path: Path, **kw: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    base = tmp_path / "n1" / "volumes"
    return {"default/data": claim(**kw)}, {"pvc-c-1": volume(str(base / "pvc-c-1"))}


def test_a_bound_claim_resolves_to_its_provisioned_directory(tmp_path: Path) -> None:
    claims, volumes = stores(tmp_path)
    base = str(tmp_path / "n1" / "volumes")
    mount = resolve("default", "vol", ClaimSource(claim_name="data"), claims, volumes, provisioned_base=base)
    assert (mount.path, mount.kind, mount.create, mount.read_only) == (f"{base}/pvc-c-1", "local", True, False)
    elsewhere = resolve("default", "vol", ClaimSource(claim_name="data", read_only=True), claims,
                        {"pvc-c-1": volume("/srv/static")}, provisioned_base=base)
    assert (elsewhere.create, elsewhere.read_only) == (False, True)  # a static local PV is never made here
    host = resolve("default", "vol", ClaimSource(claim_name="data"), claims,
                   {"pvc-c-1": volume("/srv/h", kind="hostPath", host_type="DirectoryOrCreate")},
                   provisioned_base=base)
    assert (host.kind, host.create) == ("hostPath", True)


@pytest.mark.parametrize("claims, volumes, message", [
    ({}, {}, 'failed to fetch PVC from API server: persistentvolumeclaims "data" not found'),
    ({"default/data": claim(bound=False)}, {}, "PVC is not bound"),
    ({"default/data": claim()}, {}, 'failed to fetch PV pvc-c-1 from API server: persistentvolumes "pvc-c-1" '
     "not found"),
    ({"default/data": claim()}, {"pvc-c-1": volume("/x", claim_uid=None)},
     "found PV object pvc-c-1 but it has a nil pv.Spec.ClaimRef indicating it is not yet bound to the claim"),
    ({"default/data": claim()}, {"pvc-c-1": volume("/x", claim_uid="other")},
     "found PV object pvc-c-1 but its pv.Spec.ClaimRef.UID other does not point to claim.UID c-1"),
])
def test_until_bound_upstreams_words(claims: dict[str, Any], volumes: dict[str, Any], message: str) -> None:
    with pytest.raises(ClaimError) as caught:
        resolve("default", "vol", ClaimSource(claim_name="data"), claims, volumes, provisioned_base="/v")
    assert str(caught.value) == f"error processing PVC default/data: {message}"


def test_prepare_makes_the_directory_and_mounts_it(tmp_path: Path) -> None:
    claims, volumes = stores(tmp_path)
    manager = VolumeManager(tmp_path, "n1")
    the_pod = user(read_only=True)
    paths = manager.prepare(the_pod, configmaps={}, secrets={}, claims=claims, persistent_volumes=volumes)
    made = tmp_path / "n1" / "volumes" / "pvc-c-1"
    assert paths["vol"] == str(made) and made.is_dir()
    assert stat.S_IMODE(made.stat().st_mode) == 0o777
    assert manager.provisioned_volumes(paths) == {"vol"}
    assert the_pod.spec is not None and the_pod.spec.containers
    config = container_config(the_pod, the_pod.spec.containers[0], configmaps={}, secrets={},
                              volume_paths=paths, attempt=0)
    [mount] = config.mounts
    assert (mount.host_path, mount.container_path, mount.read_only) == (str(made), "/data", True)
    (made / "file").write_text("kept")
    manager.cleanup("u-1")  # the pod goes: the data stays
    assert (made / "file").read_text() == "kept"


def test_unbound_is_a_failed_mount_with_the_volume_named(tmp_path: Path) -> None:
    claims, volumes = stores(tmp_path, bound=False)
    with pytest.raises(VolumeError) as caught:
        VolumeManager(tmp_path, "n1").prepare(user(), configmaps={}, secrets={}, claims=claims,
                                              persistent_volumes=volumes)
    assert str(caught.value) == ("Unable to attach or mount volumes: unmounted volumes=[vol], unattached volumes=[], "
                                 "failed to process volumes=[vol]: error processing PVC default/data: PVC is not bound")
    assert caught.value.reason == "FailedMount"


def test_a_static_local_path_that_does_not_exist(tmp_path: Path) -> None:
    claims, _ = stores(tmp_path)
    with pytest.raises(VolumeError) as caught:
        VolumeManager(tmp_path, "n1").prepare(user(), configmaps={}, secrets={}, claims=claims,
                                              persistent_volumes={"pvc-c-1": volume(str(tmp_path / "nowhere"))})
    assert f'MountVolume.NewMounter initialization failed for volume "pvc-c-1" : path "{tmp_path}/nowhere" ' \
        "does not exist" in str(caught.value)


def test_read_write_once_pod_is_refused_to_a_second_pod(tmp_path: Path) -> None:
    claims, volumes = stores(tmp_path, modes=("ReadWriteOncePod",))
    first, second = user(name="first", uid="u-a"), user(name="second", uid="u-b", created="2026-01-01T11:30:00Z")
    manager = VolumeManager(tmp_path, "n1")
    manager.prepare(first, configmaps={}, secrets={}, claims=claims, persistent_volumes=volumes,
                    neighbours=[first, second])
    with pytest.raises(VolumeError) as caught:
        manager.prepare(second, configmaps={}, secrets={}, claims=claims, persistent_volumes=volumes,
                        neighbours=[first, second])
    assert ("PersistentVolumeClaim default/data with ReadWriteOncePod access mode is already in use by pod "
            "default/first") in str(caught.value)
    # ReadWriteOnce: pods of one node share it
    rwo_claims, _ = stores(tmp_path)
    manager.prepare(second, configmaps={}, secrets={}, claims=rwo_claims, persistent_volumes=volumes,
                    neighbours=[first, second])


def test_reclaim_removes_only_directories_of_deleted_volumes(tmp_path: Path) -> None:
    claims, volumes = stores(tmp_path)
    manager = VolumeManager(tmp_path, "n1")
    manager.prepare(user(), configmaps={}, secrets={}, claims=claims, persistent_volumes=volumes)
    base = tmp_path / "n1" / "volumes"
    (base / "pvc-gone").mkdir()
    (base / "pvc-gone" / "f").write_text("x")
    (base / "not-provisioned").mkdir()
    assert manager.reclaim(volumes) == ["pvc-gone"]
    assert sorted(os.listdir(base)) == ["not-provisioned", "pvc-c-1"]
    assert manager.reclaim({}) == ["pvc-c-1"]  # its PV deleted (reclaim policy Delete)
    assert unclaimed_dirs(["pvc-x"], {"a": {"spec": {"local": {"path": "/elsewhere/pvc-x"}}}}, str(base)) == ["pvc-x"]


@pytest.mark.skipif(os.geteuid() != 0 and not under_ci(), reason="chown needs root")
async def test_a_sync_mounts_the_claim_with_the_fs_group(tmp_path: Path) -> None:
    claims, volumes = stores(tmp_path)
    the_pod = user(fs_group=2345)
    runtime = HollowRuntime("n1")
    syncer, emitter = kubelet(runtime, {"default/p": the_pod}, tmp_path)
    syncer.views.claims = lambda: claims
    syncer.views.persistent_volumes = lambda: volumes
    await syncer.cache.relist()
    await syncer.sync("default/p")
    made = tmp_path / "n1" / "volumes" / "pvc-c-1"
    assert made.stat().st_gid == 2345 and made.stat().st_mode & stat.S_ISGID
    assert emitter.statuses["default/p"]["phase"] == "Running"


async def test_a_sync_waits_with_failed_mount_until_the_claim_is_bound(tmp_path: Path) -> None:
    claims, volumes = stores(tmp_path, bound=False)
    runtime = HollowRuntime("n1")
    syncer, emitter = kubelet(runtime, {"default/p": user()}, tmp_path)
    syncer.views.claims = lambda: claims
    syncer.views.persistent_volumes = lambda: volumes
    await syncer.cache.relist()
    await syncer.sync("default/p")
    [(reason, message)] = [e for e in emitter.events if e[0] == "FailedMount"]
    assert message.startswith("Unable to attach or mount volumes: unmounted volumes=[vol]")
    assert emitter.statuses["default/p"]["phase"] == "Pending"
    claims["default/data"] = claim()
    await syncer.sync("default/p")
    assert emitter.statuses["default/p"]["phase"] == "Running"


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=6),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner,
                                                                                max_size=3), max_leaves=10)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(claim_spec=JSON, claim_status=JSON, pv_spec=JSON, source=JSON)
async def test_a_malformed_claim_or_volume_never_breaks_the_sync(tmp_path: Path, claim_spec: Any, claim_status: Any,
                                                                 pv_spec: Any, source: Any) -> None:
    claims = {"default/data": {**claim(), "spec": claim_spec, "status": claim_status}}
    volumes = {"pvc-c-1": {**volume(str(tmp_path / "n1" / "volumes" / "pvc-c-1")), "spec": pv_spec}}
    body = user().model_dump(by_alias=True, exclude_none=True)
    body["spec"]["volumes"].append({"name": "odd", "persistentVolumeClaim": source})
    try:
        the_pod = Pod.model_validate(body)
    except ValueError:
        return
    runtime = HollowRuntime("n1")
    syncer, emitter = kubelet(runtime, {"default/p": the_pod}, tmp_path)
    syncer.views.claims = lambda: claims
    syncer.views.persistent_volumes = lambda: volumes
    await syncer.cache.relist()
    await syncer.sync("default/p")  # raises nothing
    assert emitter.statuses["default/p"]["phase"] in ("Pending", "Running")
