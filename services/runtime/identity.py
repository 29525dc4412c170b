"""This process's identity on the bus: the `kafkube.token` header every record it writes
to `kafkube.requests` (or `kafkube.manifests`) carries, so the API knows its author
(DESIGN.md §8). Used by every component that sends write requests and by the CLI."""

from __future__ import annotations

from pathlib import Path

from schemas.auth import TOKEN_HEADER
from services.runtime.config import Settings


def token_headers(settings: Settings) -> list[tuple[str, bytes]]:
    """The header that names this process's author, or none (the API sees system:anonymous)."""
    return [(TOKEN_HEADER, settings.token.encode())] if settings.token else []


def node_token_headers(settings: Settings, node: str) -> list[tuple[str, bytes]]:
    """A kubelet's header for one node it runs: `node-<name>.token` in
    `KAFKUBE_NODE_TOKEN_DIR` when there is one (a fleet of nodes in one process, each
    with its own identity, as `kafkube init --node` writes them), else the process's token."""
    if settings.node_token_dir:
        path = Path(settings.node_token_dir) / f"node-{node}.token"
        if path.is_file() and (token := path.read_text(encoding="utf-8").strip()):
            return [(TOKEN_HEADER, token.encode())]
    return token_headers(settings)
