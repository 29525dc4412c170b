"""Host paths under a volume root, resolved with the root as a jail (I/O).

A container can write into its volumes (an emptyDir, or any volume it mounts
read-write) and plant symlinks there: `link -> /`, `a -> ../../..`. The kubelet runs as
root, so every path it later binds (a `subPath`) or writes (configMap, secret and token
files) under a volume root must never follow such a link out of the root.

- `check_relative(rel)`: pure; refuses absolute paths and `..` components (the schema
  refuses them too, schemas/checks_paths.py; this is the kubelet's own check).
- `resolve_beneath(root, rel, create=...)`: as upstream's `PrepareSafeSubpath`: the
  path with its symlinks evaluated must stay inside the root, then it is re-opened
  component by component from the root with `O_NOFOLLOW` (a component swapped for a
  symlink since is refused); missing directories are created one by one the same way
  (upstream's `SafeMakeDir`). Returns the symlink-free host path.
- `open_dir_beneath(root, rel, create=...)`: the same walk, returning an `O_DIRECTORY`
  file descriptor, for writing files with `dir_fd` (never through a path).

- `prepare_subpath(...)`: the subPath step, with upstream's error messages; on a node
  that may mount, the checked directory is bind-mounted by descriptor onto a
  kubelet-only path (`<pod>/volume-subpaths/<volume>/<container>/<index>`, as upstream)
  and that is what the Engine binds: no window between check and bind.

Callers: `container_config.mounts` (subPath, right before each container is created),
`volumes._write_files` (projected files).
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat

from services.kubelet.syscalls import MS_BIND, mount, umount
from services.runtime.logging import get_logger

log = get_logger(__name__)
SUBPATH_BINDS = "@subpaths"  # volume_paths key of the pod's kubelet-only bind directory (no volume name has an @)
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_ANY_FLAGS = os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC


class PathEscapeError(Exception):
    """A path under a volume root leaves the root or crosses a symlink. Not retriable
    by itself: the volume's content must change."""

    retriable = False


def check_relative(rel: str) -> list[str]:
    """The components of a relative path; no absolute path, no `..`. Pure."""
    if rel.startswith("/"):
        raise PathEscapeError(f"{rel!r} must not be an absolute path")
    parts = [p for p in rel.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise PathEscapeError(f"{rel!r} must not contain '..'")
    return parts


def within(root: str, path: str) -> bool:
    """Whether `path` is `root` or below it (both absolute, normalised). Pure."""
    return os.path.commonpath([root, path]) == root


def resolve_beneath(root: str, rel: str, *, create: bool = False) -> str:
    """The host path of `rel` under `root`, checked as the module says; with `create`,
    missing directories are made (mode 0750, as upstream's subPath directories)."""
    real, fd = _open_beneath(root, rel, create=create)
    os.close(fd)
    return real


def _open_beneath(root: str, rel: str, *, create: bool) -> tuple[str, int]:
    """`resolve_beneath`, also returning an O_PATH descriptor of the checked path."""
    check_relative(rel)
    real_root = os.path.realpath(root)
    real = os.path.realpath(os.path.join(real_root, rel))
    if not within(real_root, real):
        raise PathEscapeError(f"subpath {rel!r} not within volume path {root!r}")
    parts = [] if real == real_root else os.path.relpath(real, real_root).split("/")
    return real, _walk(real_root, parts, create=create, last_dir=False)


def open_dir_beneath(root: str, rel: str, *, create: bool = False) -> int:
    """An open directory descriptor of `rel` under `root`, no symlink followed on the
    way (the caller closes it)."""
    return _walk(os.path.realpath(root), check_relative(rel), create=create, last_dir=True)


def _walk(real_root: str, parts: list[str], *, create: bool, last_dir: bool) -> int:
    fd = os.open(real_root, _DIR_FLAGS)
    try:
        for index, part in enumerate(parts):
            final = index == len(parts) - 1
            child = _open_child(fd, part, create=create, as_dir=not final or last_dir,
                                shown="/".join(parts[:index + 1]))
            os.close(fd)
            fd = child
        return fd
    except BaseException:
        os.close(fd)
        raise


def _open_child(parent: int, name: str, *, create: bool, as_dir: bool, shown: str) -> int:
    if create:
        with contextlib.suppress(FileExistsError):
            os.mkdir(name, 0o750, dir_fd=parent)
    try:
        child = os.open(name, _DIR_FLAGS if as_dir else _ANY_FLAGS, dir_fd=parent)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            raise PathEscapeError(f"{shown!r} is a symlink or not a directory") from None
        raise PathEscapeError(f"cannot open {shown!r}: {exc.strerror}") from None
    if stat.S_ISLNK(os.fstat(child).st_mode):  # O_PATH|O_NOFOLLOW opens the link itself
        os.close(child)
        raise PathEscapeError(f"{shown!r} is a symlink")
    return child


def prepare_subpath(volume_dir: str, sub_path: str, *, volume: str, container: str,
                    bind_at: str | None = None) -> str:
    """Upstream's subPath step of `makeMounts`: the host path to bind for a volumeMount
    with `subPath`, made (missing directories) and checked beneath the volume. With
    `bind_at` (a kubelet-only path, no container can touch it), the opened descriptor
    itself is bind-mounted there (`/proc/self/fd/N`, as upstream) and that path is
    returned, so what the Engine binds is what was checked; when the kubelet may not
    mount, the checked path is returned (logged). The error says what upstream says
    (no host detail for the pod's owner); the log has it all."""
    try:
        check_relative(sub_path)
    except PathEscapeError as exc:
        raise PathEscapeError(f"unable to provision SubPath `{sub_path}`: {exc}") from None
    try:
        real, fd = _open_beneath(volume_dir, sub_path, create=True)
    except (PathEscapeError, OSError) as exc:
        log.warning("kubelet.subpath_refused", volume=volume, container=container, sub_path=sub_path,
                    volume_dir=volume_dir, error=str(exc))
        raise PathEscapeError(f'failed to prepare subPath for volumeMount "{volume}" of container '
                              f'"{container}"') from None
    try:
        if bind_at is None:
            return real
        error = _bind_fd(fd, bind_at)
        if error is None:
            return bind_at
        log.warning("kubelet.subpath_bind_failed", volume=volume, container=container, path=real, error=error)
        return real
    finally:
        os.close(fd)


def _bind_fd(fd: int, target: str) -> str | None:
    """Bind-mount the object behind `fd` on `target` (made anew: a directory or an empty
    file like the source; a previous bind there is detached first)."""
    umount(target)  # a container's previous start; EINVAL when nothing is mounted
    with contextlib.suppress(FileNotFoundError):
        if os.path.isdir(target) and not os.path.islink(target):
            os.rmdir(target)
        else:
            os.unlink(target)
    os.makedirs(os.path.dirname(target), mode=0o750, exist_ok=True)
    if stat.S_ISDIR(os.fstat(fd).st_mode):
        os.mkdir(target, 0o750)
    else:
        os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o640))
    return mount(f"/proc/self/fd/{fd}", target, None, MS_BIND)
