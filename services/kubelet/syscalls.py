"""mount(2) and umount2(2) through libc (ctypes): the kubelet's tmpfs and bind mounts
without a `mount` process per call. Each returns None on success, else the error text.
Used by `services.kubelet.tmpfs` and `services.kubelet.pathjail`."""

from __future__ import annotations

import ctypes
import os

MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_BIND = 2, 4, 8, 4096
MNT_DETACH = 2
_libc = ctypes.CDLL(None, use_errno=True)


def mount(source: str, target: str, fstype: str | None, flags: int, data: str | None = None) -> str | None:
    result = _libc.mount(source.encode(), target.encode(), fstype.encode() if fstype else None, flags,
                         data.encode() if data else None)
    return None if result == 0 else os.strerror(ctypes.get_errno())


def umount(target: str) -> str | None:
    """Detach (lazily, MNT_DETACH) the mount on `target`."""
    return None if _libc.umount2(target.encode(), MNT_DETACH) == 0 else os.strerror(ctypes.get_errno())
