"""Secret volumes in memory: a tmpfs mounted per volume (the kubelet is root in CI), else
a directory on a shared tmpfs, else FailedMount; never on disk. Removed with the pod."""

from __future__ import annotations

import base64
import os
import shutil
import stat
from pathlib import Path

import pytest

from schemas.pod import Pod
from services.kubelet.container_config import SERVICE_ACCOUNT_VOLUME
from services.kubelet.tmpfs import MemoryMedium, fs_type, parse_mounts, read_mounts
from services.kubelet.volumes import VolumeError, VolumeManager
from tests.availability import under_ci

MOUNTS = """overlay / overlay rw,relatime 0 0
tmpfs /dev/shm tmpfs rw,nosuid,nodev 0 0
/dev/sda1 /var/lib ext4 rw 0 0
tmpfs /var/lib/kafkube/n/pods/u/volumes/secret/with\\040space tmpfs rw 0 0
"""


def test_mount_table_parsing_and_lookup() -> None:
    mounts = parse_mounts(MOUNTS)
    assert ("/var/lib/kafkube/n/pods/u/volumes/secret/with space", "tmpfs") in mounts
    assert fs_type("/dev/shm/x", mounts) == "tmpfs" and fs_type("/dev/shmx", mounts) == "overlay"
    assert fs_type("/var/lib/kafkube/n", mounts) == "ext4"
    assert fs_type("/var/lib/kafkube/n/pods/u/volumes/secret/with space/k", mounts) == "tmpfs"


def a_pod() -> Pod:
    return Pod.model_validate({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "ns", "uid": "u7"},
                               "spec": {"containers": [{"name": "c", "image": "i"}], "volumes": [
                                   {"name": "s", "secret": {"secretName": "s", "defaultMode": 0o440,
                                                            "items": [{"key": "k", "path": "k"},
                                                                      {"key": "k", "path": "k2", "mode": 0o400}]}},
                                   {"name": "scratch", "emptyDir": {}}]}})


SECRETS = {"ns/s": {"data": {"k": base64.b64encode(b"hush").decode()}}}


@pytest.mark.skipif(os.geteuid() != 0 and not under_ci(), reason="mounting a tmpfs needs root")
def test_each_secret_volume_gets_its_own_tmpfs_removed_with_the_pod(tmp_path: Path) -> None:
    manager = VolumeManager(tmp_path, "n1", memory=MemoryMedium(fallback=tmp_path / "unused"))
    try:
        paths = manager.prepare(a_pod(), configmaps={}, secrets=SECRETS, token="tok")
        mounts = read_mounts()
        for key in ("s", SERVICE_ACCOUNT_VOLUME):
            assert (paths[key], "tmpfs") in mounts, key
        assert fs_type(paths["scratch"], mounts) != "tmpfs" or fs_type(str(tmp_path), mounts) == "tmpfs"
        modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in Path(paths["s"]).iterdir()}
        assert modes == {"k": 0o440, "k2": 0o400}
        manager.prepare(a_pod(), configmaps={}, secrets=SECRETS, token="tok")  # a resync: no second mount
        assert [p for p, _ in read_mounts()].count(paths["s"]) == 1
    finally:
        manager.cleanup("u7")
    assert not any(p.startswith(str(tmp_path)) for p, _ in read_mounts())
    assert not manager.pod_dir("u7").exists()


def test_without_a_mount_the_shared_tmpfs_is_used_and_checked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(MemoryMedium, "_mount", lambda self, where: "Operation not permitted")
    shared = Path("/dev/shm") / f"kafkube-test-{os.getpid()}"
    manager = VolumeManager(tmp_path, "n1", memory=MemoryMedium(fallback=shared))
    try:
        paths = manager.prepare(a_pod(), configmaps={}, secrets=SECRETS, token="tok")
        assert paths["s"] == str(shared / "n1/pods/u7/secret/s")
        assert stat.S_IMODE(Path(paths["s"]).stat().st_mode) == 0o755  # readable by any container user
        assert stat.S_IMODE(shared.stat().st_mode) == 0o700  # but host users stay out
        assert fs_type(paths["s"], read_mounts()) == "tmpfs" and (Path(paths["s"]) / "k").read_bytes() == b"hush"
        assert manager.known_uids() == ["u7"]
        manager.cleanup("u7")
        assert not (shared / "n1/pods/u7").exists()
    finally:
        shutil.rmtree(shared, ignore_errors=True)
    on_disk = VolumeManager(tmp_path, "n2", memory=MemoryMedium(fallback=tmp_path / "not-tmpfs"))
    if fs_type(str(tmp_path), read_mounts()) != "tmpfs":
        with pytest.raises(VolumeError, match='volume "s" : no tmpfs for the volume'):
            on_disk.prepare(a_pod(), configmaps={}, secrets=SECRETS)
