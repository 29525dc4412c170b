"""Memory-backed directories for secret volumes (I/O).

Upstream mounts a tmpfs per secret volume so a secret never reaches the node's disk.
`MemoryMedium.place(path, fallback)` makes the volume directory memory-backed and says
which way it did, in this order:

1. `path` is already a tmpfs mount point (a kubelet restart): kept;
2. a fresh tmpfs is mounted on `path` (`nosuid,nodev,noexec,size=…,mode=0755`; needs
   CAP_SYS_ADMIN in the host's mount namespace, the case of a kubelet run as root on
   the host);
3. otherwise `fallback`, a directory under an existing tmpfs (`KAFKUBE_KUBELET_SECRET_TMPFS`,
   default `/dev/shm/kafkube`), checked to be tmpfs in `/proc/self/mounts`;
4. otherwise `MediumError`: the volume is not set up (FailedMount), never silently on disk.

`unmount_below(dir)` detaches every mount under a pod's directory (secret tmpfs, subPath
binds) before it is removed.
The pure part (`parse_mounts`, `fs_type`) reads `/proc/self/mounts` text. Used by
`services.kubelet.volumes.VolumeManager`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from services.kubelet.pathjail import within
from services.kubelet.syscalls import MS_NODEV, MS_NOEXEC, MS_NOSUID, mount, umount
from services.runtime.logging import get_logger

log = get_logger(__name__)
DEFAULT_SIZE = 64 * 1024 * 1024


class MediumError(Exception):
    """No memory-backed place for a secret volume. Not retriable by the kubelet."""

    retriable = False


def parse_mounts(text: str) -> list[tuple[str, str]]:
    """(mount point, fs type) of each line of /proc/self/mounts, octal escapes decoded. Pure."""
    found = []
    for line in text.splitlines():
        fields = line.split(" ")
        if len(fields) >= 3:
            found.append((_unescape(fields[1]), fields[2]))
    return found


def _unescape(raw: str) -> str:
    return raw.encode().decode("unicode_escape") if "\\" in raw else raw


def fs_type(path: str, mounts: list[tuple[str, str]]) -> str | None:
    """The fs type of the deepest mount holding `path` (the last one mounted there wins). Pure."""
    best: tuple[int, str] | None = None
    for point, kind in mounts:
        if within(point, path) and (best is None or len(point) >= best[0]):
            best = (len(point), kind)
    return best[1] if best else None


def read_mounts() -> list[tuple[str, str]]:
    return parse_mounts(Path("/proc/self/mounts").read_text())


@dataclass
class MemoryMedium:
    """Places secret volumes in memory (see the module docstring)."""

    fallback: Path = Path("/dev/shm/kafkube")  # the shared tmpfs directory of step 3
    size_bytes: int = DEFAULT_SIZE
    _placed: dict[str, Path] = field(default_factory=dict)  # volume home -> where it went

    def place(self, path: Path, fallback: Path) -> Path:
        """The directory to use for a secret volume whose home is `path` (decided once
        per volume; the pod's later syncs get the same answer without a log line)."""
        where = str(path)
        if where in self._placed:
            return self._placed[where]
        mounts = read_mounts()
        if (where, "tmpfs") in mounts:
            self._placed[where] = path
            return path
        error = self._mount(where)
        if error is None:
            self._placed[where] = path
            log.info("kubelet.secret_medium", path=where, medium="tmpfs-mount")
            return path
        if self._tmpfs_parent(fallback, mounts):
            self.fallback.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.chmod(self.fallback, 0o700)  # host users stay out; containers bind the volume itself
            fallback.mkdir(mode=0o755, parents=True, exist_ok=True)
            self._placed[where] = fallback
            log.info("kubelet.secret_medium", path=str(fallback), medium="shared-tmpfs", mount_error=error)
            return fallback
        raise MediumError(f"no tmpfs for the volume: mounting one failed ({error}) and "
                          f"{fallback.parent} is not on a tmpfs")

    def forget_below(self, directory: Path) -> None:
        """Forget the placements of the volumes under a removed pod directory."""
        top = os.path.realpath(directory)
        self._placed = {k: v for k, v in self._placed.items() if not within(top, k)}

    @staticmethod
    def _tmpfs_parent(path: Path, mounts: list[tuple[str, str]]) -> bool:
        existing = next((p for p in [path, *path.parents] if p.exists()), Path("/"))
        return fs_type(str(existing.resolve()), mounts) == "tmpfs"

    def _mount(self, where: str) -> str | None:
        return mount("tmpfs", where, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, f"size={self.size_bytes},mode=0755")

    def unmount_below(self, directory: Path) -> None:
        """Detach every mount at or under `directory` (deepest first)."""
        top = os.path.realpath(directory)
        points = sorted({p for p, _ in read_mounts() if within(top, p)}, key=len, reverse=True)
        for point in points:
            if (error := umount(point)) is not None:
                log.warning("kubelet.unmount_failed", path=point, error=error)
        self.forget_below(directory)
