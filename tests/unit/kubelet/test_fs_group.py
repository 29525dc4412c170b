"""fs_group: the pod's fsGroup on its emptyDir, configMap and secret volumes (group, group
bits, set-group-id directories), never on a hostPath, never through a symlink and never
opening a FIFO; an emptyDir once, projected files on every call."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from schemas.pod import Pod
from services.kubelet.fs_group import own_volumes, owned_mode, set_ownership
from tests.availability import under_ci
from tests.unit.kubelet.helpers import pod

GID = 4321
needs_root = pytest.mark.skipif(os.geteuid() != 0 and not under_ci(),
                                reason="chown to another group needs root (CI runs as root: there it must run)")


def tree(root: Path) -> Path:
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "file").write_text("x")
    os.chmod(root / "sub" / "file", 0o400)
    return root


def group(path: Path) -> int:
    return path.lstat().st_gid


def a_pod(**volumes: dict[str, object]) -> Pod:
    return pod("web", securityContext={"fsGroup": GID}, volumes=[{"name": k, **v} for k, v in volumes.items()])


@pytest.mark.parametrize(("mode", "read_only", "expected"), [
    (stat.S_IFREG | 0o600, False, 0o660),
    (stat.S_IFREG | 0o400, True, 0o440),
    (stat.S_IFREG | 0o755, False, 0o775),
    (stat.S_IFDIR | 0o755, False, stat.S_ISGID | 0o775),
    (stat.S_IFDIR | 0o700, True, stat.S_ISGID | 0o750),
])
def test_owned_mode(mode: int, read_only: bool, expected: int) -> None:
    assert owned_mode(mode, read_only=read_only) == expected


@needs_root
def test_volumes_get_the_group_but_host_paths_do_not(tmp_path: Path) -> None:
    data, config, host = tree(tmp_path / "data"), tree(tmp_path / "cfg"), tree(tmp_path / "host")
    own_volumes(a_pod(data={"emptyDir": {}}, cfg={"configMap": {"name": "c"}},
                      host={"hostPath": {"path": str(host)}}),
                {"data": str(data), "cfg": str(config), "host": str(host)})
    assert group(data / "sub" / "file") == GID and group(data) == GID
    assert stat.S_IMODE((data / "sub" / "file").stat().st_mode) == 0o660
    assert (data / "sub").stat().st_mode & stat.S_ISGID
    assert group(config / "sub" / "file") == GID
    assert stat.S_IMODE((config / "sub" / "file").stat().st_mode) == 0o440
    assert group(host / "sub" / "file") != GID


@needs_root
def test_links_and_fifos_planted_in_a_volume_are_left_alone(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_text("host")
    os.chmod(outside / "secret", 0o600)
    data = tree(tmp_path / "data")
    (data / "to-file").symlink_to(outside / "secret")
    (data / "to-dir").symlink_to(outside)
    os.mkfifo(data / "fifo")
    set_ownership(str(data), GID, read_only=False)  # would hang opening the FIFO for reading
    assert group(outside / "secret") != GID and stat.S_IMODE((outside / "secret").stat().st_mode) == 0o600
    assert group(outside) != GID and group(data / "fifo") != GID
    assert group(data / "sub" / "file") == GID


@needs_root
def test_an_empty_dir_is_owned_once_projected_files_every_time(tmp_path: Path) -> None:
    data, config = tree(tmp_path / "data"), tree(tmp_path / "cfg")
    the_pod = a_pod(data={"emptyDir": {}}, cfg={"secret": {"secretName": "s"}})
    paths = {"data": str(data), "cfg": str(config)}
    own_volumes(the_pod, paths)
    for root in (data, config):  # as a container (data) and a rewrite by prepare (cfg) would
        (root / "new").write_text("y")
        os.chown(root / "new", -1, 0)
    own_volumes(the_pod, paths)
    assert group(data / "new") == 0  # the emptyDir's root already had the group
    assert group(config / "new") == GID


@needs_root
def test_projected_files_are_written_owned_so_a_resync_rewrites_nothing(tmp_path: Path) -> None:
    from services.kubelet.volumes import VolumeManager

    the_pod = a_pod(cfg={"secret": {"secretName": "s", "defaultMode": 0o400}})
    secrets = {"default/s": {"data": {"key": "dmFsdWU="}}}
    manager = VolumeManager(tmp_path, "n1")
    path = Path(manager.prepare(the_pod, configmaps={}, secrets=secrets)["cfg"]) / "key"
    own_volumes(the_pod, {"cfg": str(path.parent)})
    first = path.stat()
    assert stat.S_IMODE(first.st_mode) == 0o440 and first.st_gid == GID and path.read_bytes() == b"value"
    manager.prepare(the_pod, configmaps={}, secrets=secrets)
    own_volumes(the_pod, {"cfg": str(path.parent)})
    assert path.stat().st_ino == first.st_ino  # not replaced: no moment where only root could read it
