"""Pure parsers of Docker Engine API answers into the runtime contract's models.

`docker.py` calls `container_info` on `GET /containers/{id}/json` bodies and the log
helpers on `GET /containers/{id}/logs?timestamps=1` chunks. No I/O here.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from services.kubelet.runtime.base import (
    LABEL_ATTEMPT,
    LABEL_CONTAINER,
    LABEL_NAME,
    LABEL_NAMESPACE,
    LABEL_ROLE,
    LABEL_UID,
    ContainerInfo,
    LogChunk,
    PodRef,
)

_STATES: dict[str, Literal["created", "running", "exited", "unknown"]] = {
    "created": "created",
    "running": "running",
    "paused": "running",
    "restarting": "running",
    "exited": "exited",
    "dead": "exited",
    "removing": "exited",
}


def parse_time(value: str | None) -> datetime | None:
    """An Engine RFC 3339 time (nanoseconds allowed) as an aware datetime; the zero time
    `0001-01-01T00:00:00Z`, empty or unparsable values give None."""
    if not value or value.startswith("0001-01-01"):
        return None
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    main, sep, rest = text.partition(".")
    if sep:  # trim the fraction to microseconds: fromisoformat takes at most 6 digits
        digits = len(rest) - len(rest.lstrip("0123456789"))
        frac, tz = rest[:digits], rest[digits:]
        text = f"{main}.{(frac + '000000')[:6]}{tz}"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _int(value: Any, default: int = 0) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def container_info(body: dict[str, Any]) -> ContainerInfo:
    """ContainerInfo of a managed container from its inspect body."""
    config = body.get("Config") or {}
    labels = config.get("Labels") or {}
    state = body.get("State") or {}
    status = _STATES.get(str(state.get("Status", "")), "unknown")
    network = body.get("NetworkSettings") or {}
    ip = network.get("IPAddress") or None
    if not ip:
        ip = next((n.get("IPAddress") for n in (network.get("Networks") or {}).values() if n.get("IPAddress")), None)
    role = labels.get(LABEL_ROLE, "app")
    return ContainerInfo(
        id=body["Id"],
        pod=PodRef(
            namespace=labels.get(LABEL_NAMESPACE, ""),
            name=labels.get(LABEL_NAME, ""),
            uid=labels.get(LABEL_UID, ""),
        ),
        name=labels.get(LABEL_CONTAINER, str(body.get("Name", "")).lstrip("/")),
        role=role if role in ("infra", "init", "app") else "app",
        image=config.get("Image") or body.get("Image", ""),
        image_id=body.get("Image") or None,
        state=status,
        exit_code=_int(state.get("ExitCode")) if status == "exited" else None,
        oom_killed=bool(state.get("OOMKilled")),
        error=state.get("Error") or None,
        started_at=parse_time(state.get("StartedAt")),
        finished_at=parse_time(state.get("FinishedAt")),
        attempt=_int(labels.get(LABEL_ATTEMPT)),
        ip=ip if role == "infra" else None,
    )


def log_chunk(stream: Literal["stdout", "stderr"], raw: str) -> LogChunk:
    """One `timestamps=1` log line ("<RFC3339Nano> <text>") as a LogChunk."""
    stamp, sep, line = raw.partition(" ")
    when = parse_time(stamp) if sep or stamp else None
    if when is None:  # no timestamp prefix: keep the whole text, stamp it now
        return LogChunk(stream=stream, timestamp=datetime.now(UTC), line=raw)
    return LogChunk(stream=stream, timestamp=when, line=line)


class LineBuffer:
    """Joins arbitrary text chunks into whole lines (without their newline)."""

    def __init__(self) -> None:
        self._partial = ""

    def feed(self, chunk: str) -> list[str]:
        text = self._partial + chunk
        *lines, self._partial = text.split("\n")
        return [line.removesuffix("\r") for line in lines]

    def flush(self) -> list[str]:
        rest, self._partial = self._partial, ""
        return [rest] if rest else []
