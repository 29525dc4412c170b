"""The pod's fsGroup on its volumes' files (I/O; upstream's volume.SetVolumeOwnership).

The sync calls `own_volumes` after each `VolumeManager.prepare`. For each emptyDir,
provisioned claim volume (a `kafkube.io/local` PV's directory, owned as an emptyDir),
configMap and secret volume (never a hostPath, which is the node's own) every regular
file and directory gets group `fsGroup` and the group bits: read and write (emptyDir) or
read only (configMap, secret), plus execute and set-group-id on directories so files made
later inherit the group. An emptyDir is owned once, when its root lacks the group (what
containers write there afterwards inherits it); configMap and secret files on every call,
since `prepare` rewrites them. `fsGroupChangePolicy` changes nothing here: these volumes
are set up by this kubelet, never re-mounted with old files.

A volume may hold whatever a container put there (symlinks, FIFOs, device nodes): the walk
holds each directory open and never follows a link, each entry is opened `O_PATH |
O_NOFOLLOW` (no device is opened) and only regular files and directories are changed,
through that descriptor. A kubelet that may not chown (not root) logs it and goes on.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Collection, Mapping

from schemas.pod import Pod
from services.kubelet.security_context import SecurityContextError, fs_group
from services.runtime.logging import get_logger

log = get_logger(__name__)
READ_WRITE, READ_ONLY, EXECUTE = 0o660, 0o440, 0o110


def own_volumes(pod: Pod, volume_paths: Mapping[str, str], provisioned: Collection[str] = ()) -> None:
    """`provisioned`: the pod's claim volumes whose directory the kubelet provisioned,
    owned once as an emptyDir is."""
    try:
        gid = fs_group(pod)
    except SecurityContextError:  # container_config reports it as CreateContainerConfigError
        return
    if gid is None or pod.spec is None:
        return
    for volume in pod.spec.volumes or []:
        path = volume_paths.get(volume.name or "")
        writable = volume.empty_dir is not None or (volume.name or "") in provisioned
        if path is None or not (writable or volume.config_map or volume.secret):
            continue
        try:
            if not writable or not _owned(path, gid):
                set_ownership(path, gid, read_only=not writable)
        except OSError as exc:
            log.warning("volume.fs_group_failed", volume=volume.name, path=path, gid=gid, error=str(exc))


def set_ownership(root: str, gid: int, *, read_only: bool) -> None:
    """Every regular file and directory under `root` (itself included) to group `gid`."""
    for _, _, files, dir_fd in os.fwalk(root):  # never enters a symlinked directory
        for name in [".", *files]:
            _own_at(dir_fd, name, gid, read_only=read_only)


def owned_mode(mode: int, *, read_only: bool) -> int:
    """Upstream's mode for an fsGroup-owned file: its bits plus group read (and write
    unless read-only); directories also group execute and set-group-id."""
    bits = stat.S_IMODE(mode) | (READ_ONLY if read_only else READ_WRITE)
    if stat.S_ISDIR(mode):
        bits |= stat.S_ISGID | EXECUTE
    return bits


def _own_at(dir_fd: int, name: str, gid: int, *, read_only: bool) -> None:
    try:
        fd = os.open(name, os.O_PATH | os.O_NOFOLLOW, dir_fd=dir_fd)
    except FileNotFoundError:  # removed while we walked
        return
    try:
        info = os.fstat(fd)
        if not (stat.S_ISREG(info.st_mode) or stat.S_ISDIR(info.st_mode)):
            return  # a symlink, FIFO, socket or device: left as it is
        handle = f"/proc/self/fd/{fd}"  # the very inode opened, whatever the name is now
        os.chown(handle, -1, gid)
        os.chmod(handle, owned_mode(info.st_mode, read_only=read_only))
    finally:
        os.close(fd)


def _owned(root: str, gid: int) -> bool:
    info = os.stat(root)
    return info.st_gid == gid and bool(info.st_mode & stat.S_ISGID)
