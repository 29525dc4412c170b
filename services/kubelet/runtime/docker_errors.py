"""DockerRuntime's error boundary: aiodocker/aiohttp failures become RuntimeFailure here.

`boundary(what)` wraps every Engine call in `docker.py`; nothing else in the kubelet sees
an aiodocker exception. The classes live in `errors.py` (shared with HollowRuntime).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import aiohttp
from aiodocker.exceptions import DockerError

from services.kubelet.runtime.base import ImageUnavailable, RuntimeFailure
from services.kubelet.runtime.errors import (
    ContainerNotFound,
    ContainerNotRunning,
    RuntimeApiError,
    RuntimeHandlerUnsupported,
    RuntimeUnavailable,
)


_NO_CONNECTION = 900  # aiodocker's status for "Cannot connect to Docker Engine"
_UNKNOWN_RUNTIME = "unknown runtime specified "  # the Engine's 400 for a HostConfig.Runtime it lacks


def failure(exc: DockerError, what: str) -> RuntimeFailure:
    message = f"{what}: {exc.message}"
    if exc.status == _NO_CONNECTION:
        return RuntimeUnavailable(message)
    if exc.status == 404 and "no such image" in str(exc.message).lower():
        return ImageUnavailable(message)
    text = str(exc.message).lower()
    if exc.status == 404 or "no such container" in text:  # also a create joining a gone sandbox (400)
        return ContainerNotFound(message)
    if exc.status == 409 and ("not running" in text or "non running" in text):
        return ContainerNotRunning(message)
    if exc.status == 400 and _UNKNOWN_RUNTIME in text:
        return RuntimeHandlerUnsupported(str(exc.message)[text.index(_UNKNOWN_RUNTIME) + len(_UNKNOWN_RUNTIME):].strip(),
                                         message)
    return RuntimeApiError(exc.status, message)


@contextmanager
def boundary(what: str) -> Iterator[None]:
    """Re-raise aiodocker and transport errors as RuntimeFailure, with `what` as context."""
    try:
        yield
    except RuntimeFailure:
        raise
    except DockerError as exc:
        raise failure(exc, what) from exc
    except (aiohttp.ClientError, OSError) as exc:  # includes TimeoutError
        raise RuntimeUnavailable(f"{what}: {type(exc).__name__}: {exc}") from exc
