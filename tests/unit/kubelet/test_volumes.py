"""Volumes on disk: emptyDir, hostPath, configMap and secret files with items and modes."""

from __future__ import annotations

import base64
import stat
from pathlib import Path

import pytest

from schemas.pod import Pod
from services.kubelet.volumes import VolumeError, VolumeManager


def with_volumes(*volumes: dict) -> Pod:
    return Pod.model_validate({"apiVersion": "v1", "kind": "Pod",
                               "metadata": {"name": "p", "namespace": "ns", "uid": "u9"},
                               "spec": {"containers": [{"name": "c", "image": "i"}], "volumes": list(volumes)}})


def test_volumes_are_written_and_cleaned(tmp_path: Path) -> None:
    manager = VolumeManager(tmp_path, "n1")
    host = tmp_path / "host"
    pod = with_volumes({"name": "scratch", "emptyDir": {}}, {"name": "h", "hostPath": {"path": str(host)}},
                       {"name": "cfg", "configMap": {"name": "cm", "defaultMode": 0o600}},
                       {"name": "sec", "secret": {"secretName": "s", "items": [
                           {"key": "pw", "path": "deep/password", "mode": 0o400}]}})
    configmaps = {"ns/cm": {"data": {"a.conf": "alpha", "b": "beta"}}}
    secrets = {"ns/s": {"data": {"pw": base64.b64encode(b"hunter2").decode(), "other": "eA=="}}}
    paths = manager.prepare(pod, configmaps=configmaps, secrets=secrets)
    assert paths["scratch"] == str(tmp_path / "n1/pods/u9/volumes/empty-dir/scratch")
    assert paths["h"] == str(host) and host.is_dir()
    cfg = Path(paths["cfg"])
    assert (cfg / "a.conf").read_text() == "alpha" and stat.S_IMODE((cfg / "b").stat().st_mode) == 0o600
    secret = Path(paths["sec"]) / "deep/password"
    assert secret.read_bytes() == b"hunter2" and stat.S_IMODE(secret.stat().st_mode) == 0o400
    assert not (Path(paths["sec"]) / "other").exists()
    configmaps["ns/cm"] = {"data": {"a.conf": "changed"}}
    manager.prepare(pod, configmaps=configmaps, secrets=secrets)
    assert (cfg / "a.conf").read_text() == "changed" and not (cfg / "b").exists()
    assert manager.known_uids() == ["u9"]
    manager.cleanup("u9")
    assert not manager.pod_dir("u9").exists()


def test_missing_configmap_fails_unless_optional(tmp_path: Path) -> None:
    manager = VolumeManager(tmp_path, "n1")
    with pytest.raises(VolumeError, match='configmap "cm" not found'):
        manager.prepare(with_volumes({"name": "cfg", "configMap": {"name": "cm"}}), configmaps={}, secrets={})
    optional = with_volumes({"name": "cfg", "configMap": {"name": "cm", "optional": True}})
    assert Path(manager.prepare(optional, configmaps={}, secrets={})["cfg"]).is_dir()
