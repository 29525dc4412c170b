"""This process's identity on the bus: the `kafkube.token` header every record it writes
to `kafkube.requests` (or `kafkube.manifests`) carries, so the API knows its author
(DESIGN.md §8). Used by every component that sends write requests and by the CLI."""

from __future__ import annotations

from schemas.auth import TOKEN_HEADER
from services.runtime.config import Settings


def token_headers(settings: Settings) -> list[tuple[str, bytes]]:
    """The header that names this process's author, or none (the API sees system:anonymous)."""
    return [(TOKEN_HEADER, settings.token.encode())] if settings.token else []
