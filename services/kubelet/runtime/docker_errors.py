"""DockerRuntime's errors: aiodocker/aiohttp failures become RuntimeFailure subclasses here.

`boundary(what)` wraps every Engine call in `docker.py`; nothing else in the kubelet sees
an aiodocker exception. `retriable` says whether trying again can help.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import aiohttp
from aiodocker.exceptions import DockerError

from services.kubelet.runtime.base import RuntimeFailure


class DockerUnavailable(RuntimeFailure):
    """The Engine did not answer (socket gone, connection reset, HTTP timeout)."""

    retriable = True


class DockerApiError(RuntimeFailure):
    """The Engine answered with an error status; 5xx may pass, 4xx will not."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.retriable = status >= 500


class ContainerNotFound(DockerApiError):
    """No such container (404)."""


class ContainerNotRunning(DockerApiError):
    """The container exists but is not running (409 on exec)."""


def failure(exc: DockerError, what: str) -> DockerApiError:
    message = f"{what}: {exc.message}"
    if exc.status == 404:
        return ContainerNotFound(404, message)
    if exc.status == 409 and "not running" in str(exc.message):
        return ContainerNotRunning(409, message)
    return DockerApiError(exc.status, message)


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
        raise DockerUnavailable(f"{what}: {type(exc).__name__}: {exc}") from exc
