"""A pod's volumes on the node's disk (I/O).

Each pod gets `<root>/<node>/pods/<uid>/volumes/<type>/<name>`: an emptyDir is a
directory, configMap and secret volumes are directories of files written from the
object's data (secrets base64-decoded) honouring `items`, `defaultMode`/`mode` and
`optional`; a hostPath binds the host's path. The sync calls `prepare` before starting
containers (and again on each sync, so edited ConfigMaps reach the files) and
`cleanup` once the pod is gone. Root: env KAFKUBE_KUBELET_ROOT, default /var/lib/kafkube.

The ServiceAccount token volume (what upstream's `kube-api-access-*` projected volume
holds) is `<pod>/volumes/kube-api-access/serviceaccount/` with `token`, `namespace` and
`ca.crt`, each 0644 (the projected volume's default mode), replaced atomically when the
token is renewed; Kafkube's API is Kafka, not an HTTPS server, so there is no API server
CA and `ca.crt` is present but empty.
"""

from __future__ import annotations

import base64
import binascii
import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from schemas.pod import KeyToPath, Pod, Volume
from services.kubelet.container_config import SERVICE_ACCOUNT_VOLUME, ConfigError, Store

DEFAULT_MODE = 0o644


class VolumeError(ConfigError):
    """A volume cannot be set up yet (FailedMount)."""

    reason = "FailedMount"


class VolumeManager:
    def __init__(self, root: Path, node: str) -> None:
        self.base = root / node / "pods"

    def pod_dir(self, uid: str) -> Path:
        return self.base / uid

    def prepare(self, pod: Pod, *, configmaps: Store, secrets: Store,
                token: str | None = None) -> dict[str, str]:
        """Create or refresh every volume of the pod; return name -> host path (with
        `token`, the ServiceAccount token volume under SERVICE_ACCOUNT_VOLUME)."""
        meta = pod.metadata
        assert meta is not None and meta.uid
        namespace = meta.namespace or "default"
        paths: dict[str, str] = {}
        for volume in (pod.spec.volumes if pod.spec else None) or []:
            try:
                paths[volume.name or ""] = self._one(meta.uid, namespace, volume, configmaps, secrets)
            except VolumeError as exc:
                raise VolumeError(f'MountVolume.SetUp failed for volume "{volume.name}" : {exc}') from None
        if token is not None:
            target = self._dir(meta.uid, "kube-api-access", "serviceaccount")
            files = {"token": token.encode(), "namespace": namespace.encode(), "ca.crt": b""}
            _write_files(target, files, None, DEFAULT_MODE, False)
            paths[SERVICE_ACCOUNT_VOLUME] = str(target)
        return paths

    def cleanup(self, uid: str) -> None:
        shutil.rmtree(self.pod_dir(uid), ignore_errors=True)

    def known_uids(self) -> list[str]:
        return [p.name for p in self.base.iterdir()] if self.base.is_dir() else []

    # -- one volume ----------------------------------------------------------------------
    def _dir(self, uid: str, kind: str, name: str) -> Path:
        path = self.pod_dir(uid) / "volumes" / kind / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def _one(self, uid: str, namespace: str, volume: Volume, configmaps: Store, secrets: Store) -> str:
        name = volume.name or ""
        if volume.host_path is not None:
            path = Path(volume.host_path.path)
            if volume.host_path.type in ("DirectoryOrCreate", None, "") and not path.exists():
                path.mkdir(parents=True, exist_ok=True)
            return str(path)
        if volume.config_map is not None:
            src = volume.config_map
            obj = configmaps.get(f"{namespace}/{src.name}")
            if obj is None and not src.optional:
                raise VolumeError(f'configmap "{src.name}" not found')
            data = _configmap_files(obj)
            target = self._dir(uid, "configmap", name)
            _write_files(target, data, src.items, src.default_mode, bool(src.optional))
            return str(target)
        if volume.secret is not None:
            ssrc = volume.secret
            obj = secrets.get(f"{namespace}/{ssrc.secret_name}")
            if obj is None and not ssrc.optional:
                raise VolumeError(f'secret "{ssrc.secret_name}" not found')
            target = self._dir(uid, "secret", name)
            _write_files(target, _secret_files(obj), ssrc.items, ssrc.default_mode, bool(ssrc.optional))
            return str(target)
        return str(self._dir(uid, "empty-dir", name))  # emptyDir, and sources we do not model


def _configmap_files(obj: Mapping[str, Any] | None) -> dict[str, bytes]:
    if obj is None:
        return {}
    files = {k: v.encode() for k, v in (obj.get("data") or {}).items()}
    files.update({k: _b64(v) for k, v in (obj.get("binaryData") or {}).items()})
    return files


def _secret_files(obj: Mapping[str, Any] | None) -> dict[str, bytes]:
    if obj is None:
        return {}
    files = {k: _b64(v) for k, v in (obj.get("data") or {}).items()}
    files.update({k: v.encode() for k, v in (obj.get("stringData") or {}).items()})
    return files


def _b64(raw: str) -> bytes:
    try:
        return base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        return raw.encode()


def _write_files(target: Path, data: Mapping[str, bytes], items: list[KeyToPath] | None,
                 default_mode: int | None, optional: bool) -> None:
    """Write the projected files; remove files no longer projected."""
    wanted: dict[str, tuple[bytes, int]] = {}
    mode = DEFAULT_MODE if default_mode is None else default_mode
    if items:
        for item in items:
            if item.key not in data:
                if optional:
                    continue
                raise VolumeError(f"configmap references non-existent config key: {item.key}")
            wanted[item.path] = (data[item.key], item.mode if item.mode is not None else mode)
    else:
        wanted = {k: (v, mode) for k, v in data.items()}
    for rel, (content, file_mode) in wanted.items():
        path = target / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_bytes() != content:
            tmp = path.with_name(f".{path.name}.tmp")
            tmp.write_bytes(content)
            os.replace(tmp, path)
        if (path.stat().st_mode & 0o7777) != file_mode:
            os.chmod(path, file_mode)
    for existing in target.rglob("*"):
        if existing.is_file() and str(existing.relative_to(target)) not in wanted:
            existing.unlink()
