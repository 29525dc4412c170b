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

Secret volumes and the token volume are memory-backed (`tmpfs.MemoryMedium`: a tmpfs
mounted on the volume directory, else a directory under the shared tmpfs
`KAFKUBE_KUBELET_SECRET_TMPFS`, default /dev/shm/kafkube; never on disk) when the manager has
a medium (Docker nodes; hollow nodes keep them on disk). Files are written through
`pathjail` directory descriptors (`O_NOFOLLOW`, no path followed), so a symlink a
container planted in a volume never redirects a write of the kubelet (root) elsewhere.
`cleanup` unmounts what is mounted under the pod's directory (secret tmpfs, subPath
binds), then removes it and the pod's shared-tmpfs directory.

A `persistentVolumeClaim` volume is its bound PV's directory (`claims.resolve`): a
`local` or `hostPath` path bound as it is. The local provisioner's PVs live under
`<root>/<node>/volumes/pvc-<claim uid>`: the kubelet of the node makes the directory
(0777) when a pod first mounts it, and `reclaim` removes the ones whose PV is gone.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import os
import shutil
import stat
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from schemas.pod import KeyToPath, Pod, Volume
from services.kubelet.claims import ClaimError, ClaimMount, claim_sources, resolve, rwop_conflict, unclaimed_dirs
from services.kubelet.claims import unmounted_message
from services.kubelet.container_config import SERVICE_ACCOUNT_VOLUME, ConfigError, Store
from services.kubelet.fs_group import owned_mode
from services.kubelet.pathjail import SUBPATH_BINDS, PathEscapeError, open_dir_beneath
from services.kubelet.security_context import SecurityContextError, fs_group
from services.kubelet.tmpfs import MediumError, MemoryMedium

DEFAULT_MODE = 0o644
PROVISIONED_MODE = 0o777  # a provisioned volume's directory: any user of the pod may write (local-path's)
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
_CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


class VolumeError(ConfigError):
    """A volume cannot be set up yet (FailedMount)."""

    reason = "FailedMount"


class VolumeManager:
    def __init__(self, root: Path, node: str, *, memory: MemoryMedium | None = None) -> None:
        self.base = root / node / "pods"
        self.provisioned = root / node / "volumes"  # the local provisioner's PV directories: pvc-<claim uid>
        self.memory = memory  # None: secret volumes on disk (hollow nodes, unit tests)
        self.fallback_base = (memory.fallback if memory else root) / node / "pods"

    def pod_dir(self, uid: str) -> Path:
        return self.base / uid

    def prepare(self, pod: Pod, *, configmaps: Store, secrets: Store, token: str | None = None,
                claims: Store | None = None, persistent_volumes: Store | None = None,
                neighbours: Iterable[Pod] = ()) -> dict[str, str]:
        """Create or refresh every volume of the pod; return name -> host path (with
        `token`, the ServiceAccount token volume under SERVICE_ACCOUNT_VOLUME; on a node
        with a memory medium, the pod's kubelet-only subPath bind directory under
        SUBPATH_BINDS, for `container_config.mounts`). A claim volume resolves through
        `claims` and `persistent_volumes` to its PV's directory (`neighbours`: the node's
        other pods, for ReadWriteOncePod); until each is ready, upstream's FailedMount."""
        meta = pod.metadata
        assert meta is not None and meta.uid
        namespace = meta.namespace or "default"
        gid = _fs_group(pod)
        paths: dict[str, str] = {}
        try:
            sources = claim_sources(pod)
        except ClaimError as exc:
            raise VolumeError(str(exc)) from None
        unmounted: list[str] = []
        failure = ""
        for volume in (pod.spec.volumes if pod.spec else None) or []:
            name = volume.name or ""
            if name in sources:
                try:
                    mount = resolve(namespace, name, sources[name], claims or {}, persistent_volumes or {},
                                    provisioned_base=str(self.provisioned))
                    refusal = rwop_conflict(pod, mount, claims or {}, neighbours)
                    if refusal is not None:
                        raise ClaimError(f"error processing PVC {mount.claim}: {refusal}")
                    paths[name] = self._claim_dir(mount)
                except ClaimError as exc:
                    unmounted.append(name)
                    failure = failure or str(exc)
                continue
            try:
                paths[name] = self._one(meta.uid, namespace, volume, configmaps, secrets, gid)
            except VolumeError as exc:
                raise VolumeError(f'MountVolume.SetUp failed for volume "{volume.name}" : {exc}') from None
        if unmounted:
            raise VolumeError(unmounted_message(unmounted, failure))
        if token is not None:
            try:
                target = self._secret_dir(meta.uid, "kube-api-access", "serviceaccount")
                files = {"token": token.encode(), "namespace": namespace.encode(), "ca.crt": b""}
                _write_files(target, files, None, DEFAULT_MODE, False, gid)
            except VolumeError as exc:
                raise VolumeError(f'MountVolume.SetUp failed for volume "kube-api-access" : {exc}') from None
            paths[SERVICE_ACCOUNT_VOLUME] = str(target)
        if self.memory is not None:  # a node that mounts: subPaths are bound by descriptor here
            paths[SUBPATH_BINDS] = str(self.pod_dir(meta.uid) / "volume-subpaths")
        return paths

    def cleanup(self, uid: str) -> None:
        if self.memory is not None and self.pod_dir(uid).exists():
            self.memory.unmount_below(self.pod_dir(uid))
        shutil.rmtree(self.pod_dir(uid), ignore_errors=True)
        shutil.rmtree(self.fallback_base / uid, ignore_errors=True)

    def provisioned_volumes(self, paths: Mapping[str, str]) -> frozenset[str]:
        """The volumes (of `prepare`'s answer) that are directories this kubelet provisioned."""
        return frozenset(name for name, path in paths.items() if Path(path).parent == self.provisioned)

    def reclaim(self, persistent_volumes: Store) -> list[str]:
        """Remove the provisioned directories no PersistentVolume names any more (the PV
        was deleted: reclaim policy Delete); the names removed."""
        try:
            names = [p.name for p in self.provisioned.iterdir() if p.is_dir() and not p.is_symlink()]
        except FileNotFoundError:
            return []
        gone = unclaimed_dirs(names, persistent_volumes, str(self.provisioned))
        for name in gone:
            shutil.rmtree(self.provisioned / name, ignore_errors=True)
        return gone

    def known_uids(self) -> list[str]:
        """Pods with a directory here or in the shared tmpfs (for the adoption's clean-up)."""
        found = {p.name for base in (self.base, self.fallback_base) if base.is_dir() for p in base.iterdir()}
        return sorted(found)

    # -- one volume ----------------------------------------------------------------------
    def _claim_dir(self, mount: ClaimMount) -> str:
        """The PV's directory, made when the kubelet provisions it (mode 0777 as
        local-path's, for any user of the pod) or a hostPath says DirectoryOrCreate."""
        path = Path(mount.path)
        if path.is_dir():
            return str(path)
        if not mount.create:
            raise ClaimError(f'MountVolume.NewMounter initialization failed for volume "{mount.persistent_volume}" '
                             f': path "{mount.path}" does not exist')
        try:
            path.mkdir(parents=True, exist_ok=True)
            if mount.kind == "local":
                os.chmod(path, PROVISIONED_MODE)  # not trimmed by the umask
        except OSError as exc:
            raise ClaimError(f'MountVolume.SetUp failed for volume "{mount.persistent_volume}" : '
                             f"{exc.strerror}") from None
        return str(path)

    def _dir(self, uid: str, kind: str, name: str) -> Path:
        path = self.pod_dir(uid) / "volumes" / kind / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def _secret_dir(self, uid: str, kind: str, name: str) -> Path:
        """A secret-holding volume's directory, memory-backed when the manager has a medium."""
        path = self._dir(uid, kind, name)
        if self.memory is None:
            return path
        try:
            return self.memory.place(path, self.fallback_base / uid / kind / name)
        except MediumError as exc:
            raise VolumeError(str(exc)) from None

    def _one(self, uid: str, namespace: str, volume: Volume, configmaps: Store, secrets: Store,
             gid: int | None) -> str:
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
            _write_files(target, data, src.items, src.default_mode, bool(src.optional), gid)
            return str(target)
        if volume.secret is not None:
            ssrc = volume.secret
            obj = secrets.get(f"{namespace}/{ssrc.secret_name}")
            if obj is None and not ssrc.optional:
                raise VolumeError(f'secret "{ssrc.secret_name}" not found')
            target = self._secret_dir(uid, "secret", name)
            _write_files(target, _secret_files(obj), ssrc.items, ssrc.default_mode, bool(ssrc.optional), gid)
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


def _fs_group(pod: Pod) -> int | None:
    try:
        return fs_group(pod)
    except SecurityContextError:  # container_config reports it as CreateContainerConfigError
        return None


def _write_files(target: Path, data: Mapping[str, bytes], items: list[KeyToPath] | None,
                 default_mode: int | None, optional: bool, gid: int | None = None) -> None:
    """Write the projected files, each through its directory's descriptor (no symlink
    followed); remove the entries no longer projected. With an fsGroup `gid` each file is
    written group-owned with upstream's group-read mode, so the ownership pass
    (services/kubelet/fs_group.py) finds it done and a sync rewrites nothing."""
    wanted = _projection(data, items, default_mode, optional)
    for rel, (content, file_mode) in wanted.items():
        if gid is not None:
            file_mode = stat.S_IMODE(owned_mode(stat.S_IFREG | file_mode, read_only=True))
        parent, name = os.path.split(rel)
        try:
            dir_fd = open_dir_beneath(str(target), parent, create=True)
        except PathEscapeError as exc:
            raise VolumeError(f"cannot write {rel!r}: {exc}") from None
        try:
            _write_at(dir_fd, name, content, file_mode, gid)
        except OSError as exc:
            raise VolumeError(f"cannot write {rel!r}: {exc.strerror}") from None
        finally:
            os.close(dir_fd)
    for dirpath, _dirs, files, dir_fd in os.fwalk(str(target)):
        for name in files:
            if os.path.normpath(os.path.join(os.path.relpath(dirpath, target), name)) not in wanted:
                os.unlink(name, dir_fd=dir_fd)


def _projection(data: Mapping[str, bytes], items: list[KeyToPath] | None, default_mode: int | None,
                optional: bool) -> dict[str, tuple[bytes, int]]:
    """Relative path -> (content, mode) of every file to project. Pure."""
    mode = DEFAULT_MODE if default_mode is None else default_mode
    if not items:
        return {k: (v, mode) for k, v in data.items()}
    wanted: dict[str, tuple[bytes, int]] = {}
    for item in items:
        if item.key not in data:
            if optional:
                continue
            raise VolumeError(f"configmap references non-existent config key: {item.key}")
        wanted[os.path.normpath(item.path)] = (data[item.key], item.mode if item.mode is not None else mode)
    return wanted


def _write_at(dir_fd: int, name: str, content: bytes, mode: int, gid: int | None = None) -> None:
    """Replace `name` in the directory atomically unless it already holds `content` with
    `mode` (and group `gid`). Whatever is there (a symlink, a FIFO) is never opened through."""
    if _holds(dir_fd, name, content, mode, gid):
        return
    tmp = f".{name}.tmp"
    with contextlib.suppress(FileNotFoundError):
        os.unlink(tmp, dir_fd=dir_fd)
    fd = os.open(tmp, _CREATE_FLAGS, mode, dir_fd=dir_fd)
    try:
        view = memoryview(content)
        while view:
            view = view[os.write(fd, view):]
        os.fchmod(fd, mode)  # the umask trimmed the mode of os.open
        if gid is not None and os.geteuid() == 0:
            os.fchown(fd, -1, gid)
    finally:
        os.close(fd)
    os.replace(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)


def _holds(dir_fd: int, name: str, content: bytes, mode: int, gid: int | None = None) -> bool:
    try:
        fd = os.open(name, _READ_FLAGS, dir_fd=dir_fd)
    except OSError:
        return False
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or stat.S_IMODE(info.st_mode) != mode or info.st_size != len(content):
            return False
        if gid is not None and os.geteuid() == 0 and info.st_gid != gid:
            return False
        return os.read(fd, len(content) + 1) == content
    finally:
        os.close(fd)
