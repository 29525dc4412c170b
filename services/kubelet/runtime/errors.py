"""The runtimes' shared RuntimeFailure subclasses (base.py holds the root and ImageUnavailable).

Raised by DockerRuntime (translated from aiodocker in `docker_errors`) and by HollowRuntime
alike, so the kubelet can tell "gone" and "not running" apart without knowing the runtime.
"""

from __future__ import annotations

from services.kubelet.runtime.base import RuntimeFailure


class RuntimeUnavailable(RuntimeFailure):
    """The container engine did not answer (socket gone, connection reset, HTTP timeout)."""

    retriable = True


class RuntimeApiError(RuntimeFailure):
    """The engine answered with an error status (HTTP-like); 5xx may pass, 4xx will not."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.retriable = status >= 500


class ContainerNotFound(RuntimeApiError):
    """No such container (or image) (404)."""

    def __init__(self, message: str, status: int = 404) -> None:
        super().__init__(status, message)


class RuntimeHandlerUnsupported(RuntimeApiError):
    """The Engine has no runtime of that name (400 "Unknown runtime specified x")."""

    def __init__(self, handler: str, message: str, status: int = 400) -> None:
        super().__init__(status, message)
        self.handler = handler


class ContainerNotRunning(RuntimeApiError):
    """The container exists but is not running (409), e.g. on exec or when joining a sandbox."""

    def __init__(self, message: str, status: int = 409) -> None:
        super().__init__(status, message)


class ContainerStartFailed(RuntimeApiError):
    """The container was created but could not start (e.g. its command does not exist);
    the runtime removed it. Kubernetes calls this RunContainerError: back off and retry."""
