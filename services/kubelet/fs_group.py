"""The pod's fsGroup on its volumes' files (I/O; upstream's volume.SetVolumeOwnership).

The sync calls `own_volumes` before each container start, after the volumes are
prepared. For each emptyDir, configMap and secret volume (never a hostPath, which is the
node's own) every file and directory gets group `fsGroup` and the group bits: read and
write (emptyDir) or read only (configMap, secret), plus execute and set-group-id on
directories so new files inherit the group. With fsGroupChangePolicy OnRootMismatch a
volume whose root already has the group and the set-group-id bit is left alone.
Symlinks are not followed. A kubelet that may not chown (not root) logs it and goes on.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from pathlib import Path

from schemas.pod import Pod
from services.kubelet.security_context import SecurityContextError, fs_group
from services.runtime.logging import get_logger

log = get_logger(__name__)
READ_WRITE, READ_ONLY, EXECUTE = 0o660, 0o440, 0o110


def own_volumes(pod: Pod, volume_paths: Mapping[str, str]) -> None:
    try:
        gid, on_root_mismatch = fs_group(pod)
    except SecurityContextError:  # container_config reports it as CreateContainerConfigError
        return
    if gid is None or pod.spec is None:
        return
    for volume in pod.spec.volumes or []:
        path = volume_paths.get(volume.name or "")
        if path is None or not (volume.empty_dir or volume.config_map or volume.secret):
            continue
        try:
            set_ownership(Path(path), gid, read_only=volume.empty_dir is None,
                          only_on_root_mismatch=on_root_mismatch)
        except OSError as exc:
            log.warning("volume.fs_group_failed", volume=volume.name, path=path, gid=gid, error=str(exc))


def set_ownership(root: Path, gid: int, *, read_only: bool, only_on_root_mismatch: bool = False) -> None:
    if only_on_root_mismatch and _owned(root, gid):
        return
    for directory, _, files in os.walk(root):  # symlinked directories are not entered
        for name in [directory, *(os.path.join(directory, f) for f in files)]:
            info = os.lstat(name)
            if stat.S_ISLNK(info.st_mode):
                continue
            os.lchown(name, -1, gid)
            os.chmod(name, owned_mode(info.st_mode, read_only=read_only))


def owned_mode(mode: int, *, read_only: bool) -> int:
    """Upstream's mode for an fsGroup-owned file: its bits plus group read (and write
    unless read-only); directories also group execute and set-group-id."""
    bits = stat.S_IMODE(mode) | (READ_ONLY if read_only else READ_WRITE)
    if stat.S_ISDIR(mode):
        bits |= stat.S_ISGID | EXECUTE
    return bits


def _owned(root: Path, gid: int) -> bool:
    info = root.stat()
    return info.st_gid == gid and bool(info.st_mode & stat.S_ISGID)
