"""Pure parsers of Docker Engine API answers into the runtime contract's models.

`docker.py` calls `container_info` on `GET /containers/{id}/json` bodies, `image_user` on
`GET /images/{name}/json` bodies and the log helpers on `GET /containers/{id}/logs?timestamps=1` chunks. No I/O here.
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
    ImageUser,
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
    started, finished = parse_time(state.get("StartedAt")), parse_time(state.get("FinishedAt"))
    if started and finished and finished < started:  # the Engine stamps StartedAt late for
        finished = started  # containers that exit at once; keep started <= finished
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
        started_at=started,
        finished_at=finished,
        attempt=_int(labels.get(LABEL_ATTEMPT)),
        ip=ip if role == "infra" else None,
    )


class LogAssembler:
    """Turns the frames of one `timestamps=1` log stream into LogChunk lines.

    The Engine sends one frame per log message, "<RFC3339Nano> <text>"; a line longer than
    16 KiB arrives as several messages, each stamped, only the last ending in a newline.
    A line keeps the timestamp of its first message. Text without a timestamp prefix is
    kept whole (stamped now)."""

    def __init__(self, stream: Literal["stdout", "stderr"]) -> None:
        self._stream = stream
        self._text = ""
        self._stamp: datetime | None = None

    def feed(self, frame: str) -> list[LogChunk]:
        stamp, sep, text = frame.partition(" ")
        when = parse_time(stamp) if sep else None
        if when is None:
            when, text = datetime.now(UTC), frame
        if not self._text:
            self._stamp = when
        self._text += text
        chunks = []
        while "\n" in self._text:
            line, self._text = self._text.split("\n", 1)
            chunks.append(LogChunk(stream=self._stream, timestamp=self._stamp or when, line=line.removesuffix("\r")))
            self._stamp = when
        return chunks

    def flush(self) -> list[LogChunk]:
        """The unterminated rest, at the end of the stream."""
        if not self._text:
            return []
        chunk = LogChunk(stream=self._stream, timestamp=self._stamp or datetime.now(UTC), line=self._text)
        self._text, self._stamp = "", None
        return [chunk]


def image_user(body: dict[str, Any]) -> ImageUser:
    """The image's `Config.User` ("", "1000", "1000:50", "nobody", "nobody:staff"): the uid
    when numeric, else the name (the group part does not matter to runAsNonRoot)."""
    user = str((body.get("Config") or {}).get("User") or "").split(":", 1)[0].strip()
    if not user:
        return ImageUser()
    return ImageUser(uid=int(user)) if user.isdigit() else ImageUser(username=user)
