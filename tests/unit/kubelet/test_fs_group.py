"""fs_group: the pod's fsGroup on its emptyDir, configMap and secret volumes (group, group
bits, set-group-id directories), never on a hostPath; OnRootMismatch skips owned volumes."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from services.kubelet.fs_group import own_volumes, owned_mode, set_ownership
from tests.unit.kubelet.helpers import pod

GID = 4321


def tree(root: Path) -> Path:
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "file").write_text("x")
    os.chmod(root / "sub" / "file", 0o600)
    (root / "link").symlink_to("/etc/hostname")
    return root


@pytest.mark.parametrize(("mode", "read_only", "expected"), [
    (stat.S_IFREG | 0o600, False, 0o660),
    (stat.S_IFREG | 0o400, True, 0o440),
    (stat.S_IFREG | 0o755, False, 0o775),
    (stat.S_IFDIR | 0o755, False, stat.S_ISGID | 0o775),
    (stat.S_IFDIR | 0o700, True, stat.S_ISGID | 0o750),
])
def test_owned_mode(mode: int, read_only: bool, expected: int) -> None:
    assert owned_mode(mode, read_only=read_only) == expected


@pytest.mark.skipif(os.geteuid() != 0, reason="chown to another group needs root")
def test_volumes_get_the_group_but_host_paths_do_not(tmp_path: Path) -> None:
    data, config, host = tree(tmp_path / "data"), tree(tmp_path / "cfg"), tree(tmp_path / "host")
    the_pod = pod("web", securityContext={"fsGroup": GID}, volumes=[
        {"name": "data", "emptyDir": {}}, {"name": "cfg", "configMap": {"name": "c"}},
        {"name": "host", "hostPath": {"path": str(host)}}])
    own_volumes(the_pod, {"data": str(data), "cfg": str(config), "host": str(host)})
    assert (data / "sub" / "file").stat().st_gid == GID
    assert stat.S_IMODE((data / "sub" / "file").stat().st_mode) == 0o660
    assert stat.S_IMODE((config / "sub" / "file").stat().st_mode) == 0o640
    assert (data / "sub").stat().st_mode & stat.S_ISGID
    assert (host / "sub" / "file").stat().st_gid != GID
    assert Path("/etc/hostname").stat().st_gid != GID  # the symlink was not followed


@pytest.mark.skipif(os.geteuid() != 0, reason="chown to another group needs root")
def test_on_root_mismatch_leaves_an_owned_volume(tmp_path: Path) -> None:
    root = tree(tmp_path / "v")
    os.chown(root, -1, GID)
    os.chmod(root, 0o2775)
    set_ownership(root, GID, read_only=False, only_on_root_mismatch=True)
    assert (root / "sub" / "file").stat().st_gid != GID
    set_ownership(root, GID, read_only=False)
    assert (root / "sub" / "file").stat().st_gid == GID
