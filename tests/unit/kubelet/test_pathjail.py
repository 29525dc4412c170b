"""The kubelet's volume jail: subPaths and projected files never follow a symlink a
container planted out of the volume (absolute links, `..` links, links made after the
volume was prepared), and `..` / absolute subPaths are refused."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest

from schemas.pod import Pod
from services.kubelet.container_config import ConfigError, mounts
from services.kubelet.pathjail import PathEscapeError, check_relative, open_dir_beneath, prepare_subpath, \
    resolve_beneath, within
from services.kubelet.tmpfs import MemoryMedium, read_mounts
from services.kubelet.volumes import VolumeError, VolumeManager
from tests.availability import under_ci


@pytest.fixture
def volume(tmp_path: Path) -> Path:
    root = tmp_path / "vol"
    (root / "data/inner").mkdir(parents=True)
    (tmp_path / "outside").mkdir()
    return root


def test_relative_paths_only() -> None:
    assert check_relative("a/./b/") == ["a", "b"]
    for bad in ("/etc", "../x", "a/../../b"):
        with pytest.raises(PathEscapeError):
            check_relative(bad)
    assert within("/v/a", "/v/a/b") and within("/v/a", "/v/a") and not within("/v/a", "/v/ab")


def test_plain_and_inner_symlinks_resolve_inside(volume: Path) -> None:
    os.symlink("data/inner", volume / "short")  # a link that stays in the volume is allowed (upstream too)
    assert resolve_beneath(str(volume), "data/inner") == str(volume / "data/inner")
    assert resolve_beneath(str(volume), "short") == str(volume / "data/inner")
    assert resolve_beneath(str(volume), "new/dir", create=True) == str(volume / "new/dir")
    assert stat.S_IMODE((volume / "new/dir").stat().st_mode) == 0o750


@pytest.mark.parametrize("target", ["/", "..", "../outside", "data/../../outside"])
def test_links_out_of_the_volume_are_refused(volume: Path, target: str) -> None:
    os.symlink(target, volume / "link")
    with pytest.raises(PathEscapeError, match="not within volume path"):
        resolve_beneath(str(volume), "link")
    with pytest.raises(PathEscapeError):
        resolve_beneath(str(volume), "link/made", create=True)
    assert not (volume.parent / "outside/made").exists()


def test_a_link_deeper_in_the_path_is_refused(volume: Path) -> None:
    os.symlink("/", volume / "data/inner/up")
    with pytest.raises(PathEscapeError):
        resolve_beneath(str(volume), "data/inner/up/etc")


def test_the_walk_refuses_a_component_that_is_a_link(volume: Path) -> None:
    """What a container swaps in between the realpath and the walk: the walk itself
    never crosses a link, even one that points inside."""
    os.symlink("data", volume / "alias")
    with pytest.raises(PathEscapeError, match="symlink"):
        open_dir_beneath(str(volume), "alias/inner")
    fd = open_dir_beneath(str(volume), "data/inner")
    os.close(fd)


def test_subpath_errors_are_upstreams(volume: Path) -> None:
    os.symlink("/", volume / "root")
    with pytest.raises(PathEscapeError, match='failed to prepare subPath for volumeMount "v" of container "c"'):
        prepare_subpath(str(volume), "root/etc", volume="v", container="c")
    with pytest.raises(PathEscapeError, match="unable to provision SubPath `../x`"):
        prepare_subpath(str(volume), "../x", volume="v", container="c")


def test_a_link_made_after_preparation_is_refused_at_the_next_container(volume: Path) -> None:
    container = Pod.model_validate({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "uid": "u"},
                                    "spec": {"containers": [{"name": "c", "image": "i", "volumeMounts": [
                                        {"name": "v", "mountPath": "/m", "subPath": "data/inner"}]}]}}
                                   ).spec.containers[0]  # type: ignore[union-attr,index]
    assert mounts(container, {"v": str(volume)})[0].host_path == str(volume / "data/inner")
    (volume / "data/inner").rmdir()
    os.symlink("/", volume / "data/inner")  # the container replaces the directory by a link
    with pytest.raises(ConfigError, match="failed to prepare subPath") as caught:
        mounts(container, {"v": str(volume)})
    assert caught.value.reason == "CreateContainerConfigError"


def secret_pod(**source: object) -> Pod:
    return Pod.model_validate({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "ns", "uid": "u1"},
                               "spec": {"containers": [{"name": "c", "image": "i"}],
                                        "volumes": [{"name": "cfg", "configMap": {"name": "cm", **source}}]}})


def test_projected_writes_never_follow_planted_links(tmp_path: Path) -> None:
    manager = VolumeManager(tmp_path / "root", "n1")
    victim = tmp_path / "victim"
    victim.write_text("precious")
    pod = secret_pod(items=[{"key": "a", "path": "a"}, {"key": "b", "path": "sub/b"}])
    configmaps = {"ns/cm": {"data": {"a": "one", "b": "two"}}}
    target = Path(manager.prepare(pod, configmaps=configmaps, secrets={})["cfg"])
    (target / "a").unlink()
    os.symlink(victim, target / "a")  # the file itself
    os.symlink(victim, target / ".a.tmp")  # the temporary name
    os.mkfifo(target / "fifo-as-file")
    (target / "sub/b").unlink()
    (target / "sub").rmdir()
    os.symlink(tmp_path, target / "sub")  # a directory on the way
    configmaps["ns/cm"]["data"]["a"] = "changed"
    with pytest.raises(VolumeError, match="sub"):
        manager.prepare(pod, configmaps=configmaps, secrets={})
    os.unlink(target / "sub")
    manager.prepare(pod, configmaps=configmaps, secrets={})
    assert victim.read_text() == "precious" and not (tmp_path / "b").exists()
    assert (target / "a").read_text() == "changed" and not (target / "a").is_symlink()
    assert (target / "sub/b").read_text() == "two" and not (target / "fifo-as-file").exists()


def test_a_secret_file_replaced_by_a_link_is_restored(tmp_path: Path) -> None:
    manager = VolumeManager(tmp_path / "root", "n1")
    pod = Pod.model_validate({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "ns", "uid": "u2"},
                              "spec": {"containers": [{"name": "c", "image": "i"}],
                                       "volumes": [{"name": "s", "secret": {"secretName": "s", "defaultMode": 0o400}}]}})
    secrets = {"ns/s": {"data": {"key": base64.b64encode(b"v").decode()}}}
    target = Path(manager.prepare(pod, configmaps={}, secrets=secrets)["s"])
    (target / "key").unlink()
    os.symlink("/etc/hostname", target / "key")
    manager.prepare(pod, configmaps={}, secrets=secrets)
    assert (target / "key").read_bytes() == b"v" and stat.S_IMODE((target / "key").lstat().st_mode) == 0o400


@pytest.mark.skipif(os.geteuid() != 0 and not under_ci(), reason="bind mounts need root")
def test_a_subpath_is_bound_by_descriptor_so_a_later_swap_changes_nothing(volume: Path, tmp_path: Path) -> None:
    (volume / "data/inner/file").write_text("mine")
    binds = tmp_path / "volume-subpaths"
    try:
        bound = prepare_subpath(str(volume), "data/inner", volume="v", container="c", bind_at=str(binds / "v/c/0"))
        assert bound == str(binds / "v/c/0") and bound in [p for p, _ in read_mounts()]
        one_file = prepare_subpath(str(volume), "data/inner/file", volume="v", container="c",
                                   bind_at=str(binds / "v/c/1"))
        assert Path(one_file).read_text() == "mine" and Path(one_file).is_file()
        os.rename(volume / "data/inner", volume / "data/moved")  # the container swaps the checked directory
        os.symlink("/", volume / "data/inner")
        assert sorted(p.name for p in Path(bound).iterdir()) == ["file"]  # the bind holds what was checked
        with pytest.raises(PathEscapeError, match="failed to prepare subPath"):  # the next start is refused
            prepare_subpath(str(volume), "data/inner", volume="v", container="c", bind_at=str(binds / "v/c/0"))
    finally:
        MemoryMedium().unmount_below(tmp_path)
    assert not any(p.startswith(str(tmp_path)) for p, _ in read_mounts())


@pytest.mark.skipif(os.geteuid() != 0 and not under_ci(), reason="bind mounts need root")
def test_a_node_that_mounts_binds_subpaths_under_the_pod_and_cleans_them(tmp_path: Path) -> None:
    manager = VolumeManager(tmp_path / "root", "n1", memory=MemoryMedium(fallback=tmp_path / "unused"))
    pod = Pod.model_validate({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "ns", "uid": "u3"},
                              "spec": {"volumes": [{"name": "scratch", "emptyDir": {}}], "containers": [
                                  {"name": "c", "image": "i", "volumeMounts": [
                                      {"name": "scratch", "mountPath": "/m", "subPath": "sub"}]}]}})
    try:
        paths = manager.prepare(pod, configmaps={}, secrets={})
        (mount,) = mounts(pod.spec.containers[0], paths)  # type: ignore[union-attr,index]
        assert mount.host_path == str(manager.pod_dir("u3") / "volume-subpaths/scratch/c/0")
        assert mount.host_path in [p for p, _ in read_mounts()]
    finally:
        manager.cleanup("u3")
    assert not any(p.startswith(str(tmp_path)) for p, _ in read_mounts())
    assert not manager.pod_dir("u3").exists()
