"""`kafkube logs`: a pod's container output from `kafkube.logs`, read by
`services.runtime.podlogs` (shared with the HTTP API's `pods/log`)."""

from __future__ import annotations

from collections.abc import AsyncIterator

from services.cli.client import Client
from services.runtime import podlogs
from services.runtime.podlogs import LogsError, attempt_shown, pick_container

__all__ = ["LogsError", "attempt_shown", "pick_container", "pod_lines"]


def pod_lines(client: Client, pod_key: str, container: str, *, follow: bool,
              tail: int | None, attempt: int | None) -> AsyncIterator[str]:
    """The container's lines of one run (None: every run), oldest first; with `tail`, only
    the last N of what exists."""
    return podlogs.pod_lines(client.settings, client.topics.logs, pod_key, container, follow=follow, tail=tail,
                             attempt=attempt)
