"""The channel protocol of `kubectl exec` and `kubectl attach` over a WebSocket
(`v5.channel.k8s.io`, and `v4.channel.k8s.io` without the close frame): every binary
message is one channel byte and its data — 0 stdin, 1 stdout, 2 stderr, 3 error (one
`Status` JSON when the command ends: Success, or `NonZeroExitCode` with an `ExitCode`
cause), 4 resize (`{"Width": w, "Height": h}`) and, in v5, 255 close (its data is the
channel whose writer is done: `[255, 0]` is the end of stdin). As upstream's
`apimachinery/pkg/util/httpstream/wsstream` and `client-go/tools/remotecommand`. Pure;
used by the kubelet's streaming endpoint (which speaks it) and the apiserver (which
negotiates it and relays the messages as they are)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

V5 = "v5.channel.k8s.io"
V4 = "v4.channel.k8s.io"
PROTOCOLS = (V5, V4)
STDIN, STDOUT, STDERR, ERROR, RESIZE, CLOSE = 0, 1, 2, 3, 4, 255


class FrameError(ValueError):
    """A message that is not a channel frame."""


@dataclass(frozen=True, slots=True)
class Frame:
    channel: int
    data: bytes


def frame(channel: int, data: bytes) -> bytes:
    """A message on `channel`."""
    if not 0 <= channel <= 255:
        raise FrameError(f"no channel {channel}")
    return bytes((channel,)) + data


def parse(message: bytes) -> Frame:
    """The channel and data of a message (an empty one is not a frame)."""
    if not message:
        raise FrameError("an empty message")
    return Frame(message[0], bytes(message[1:]))


def closed_channel(data: bytes) -> int:
    """The channel a v5 close frame (`[255, channel]`) ends."""
    if len(data) != 1:
        raise FrameError("a close frame names one channel")
    return data[0]


def terminal_size(data: bytes) -> tuple[int, int]:
    """(width, height) of a resize frame."""
    try:
        size = orjson.loads(data)
        width, height = int(size["Width"]), int(size["Height"])
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise FrameError("a resize frame is {\"Width\": w, \"Height\": h}") from exc
    if width < 0 or height < 0:
        raise FrameError("a terminal size is not negative")
    return width, height


def exit_status(command: tuple[str, ...], exit_code: int) -> bytes:
    """The error channel's Status at the end of a command, as the kubelet writes it."""
    status: dict[str, Any] = {"metadata": {}, "status": "Success"}
    if exit_code != 0:
        status = {"metadata": {}, "status": "Failure", "reason": "NonZeroExitCode",
                  "message": f"command terminated with non-zero exit code: error executing command "
                             f"[{' '.join(command)}], exit code {exit_code}",
                  "details": {"causes": [{"reason": "ExitCode", "message": str(exit_code)}]}}
    return orjson.dumps(status)


def error_status(message: str) -> bytes:
    """The error channel's Status when the command could not run (no exit code)."""
    return orjson.dumps({"metadata": {}, "status": "Failure", "message": message})
