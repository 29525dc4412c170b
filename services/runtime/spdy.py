"""SPDY/3 framing, the part `kubectl port-forward` speaks: kubectl 1.32 tunnels a SPDY/3.1
session through a WebSocket (subprotocol `SPDY/3.1+portforward.k8s.io`, every binary
message a piece of the byte stream), and opens two SPDY streams per connection to the
local port (headers `streamtype: error|data`, `port`, `requestid`). This module turns
bytes into frames and back (`FrameBuffer`, `data_frame`, `control_frame`), and encodes
and decodes the zlib-compressed header blocks (`HeaderCodec`: one compressor and one
decompressor per session, primed with the SPDY/3 dictionary). As upstream's
`moby/spdystream/spdy`; no flow control (spdystream keeps no windows either). Pure; used
by `services.kubelet.streaming.portforward`."""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

from services.runtime.spdy_dictionary import HEADER_DICTIONARY

TUNNEL_PROTOCOL = "SPDY/3.1+portforward.k8s.io"
VERSION = 3
SYN_STREAM, SYN_REPLY, RST_STREAM, SETTINGS, PING, GOAWAY, HEADERS, WINDOW_UPDATE = 1, 2, 3, 4, 6, 7, 8, 9
FLAG_FIN = 0x01
RST_CANCEL = 5
MAX_LENGTH = (1 << 24) - 1
MAX_HEADER_BLOCK = 1 << 20  # a decompressed header block larger than this is refused


class SpdyError(ValueError):
    """Bytes that are not SPDY/3 frames, or a header block that does not decode."""


@dataclass(frozen=True, slots=True)
class DataFrame:
    stream_id: int
    flags: int
    data: bytes

    @property
    def fin(self) -> bool:
        return bool(self.flags & FLAG_FIN)


@dataclass(frozen=True, slots=True)
class ControlFrame:
    type: int
    flags: int
    payload: bytes

    @property
    def stream_id(self) -> int:
        """The first word of the payload: the stream of SYN_STREAM, SYN_REPLY, RST_STREAM, HEADERS, WINDOW_UPDATE."""
        if len(self.payload) < 4:
            raise SpdyError(f"a control frame of type {self.type} without a stream id")
        return int(struct.unpack(">I", self.payload[:4])[0] & 0x7FFFFFFF)


Frame = DataFrame | ControlFrame


def data_frame(stream_id: int, data: bytes = b"", *, fin: bool = False) -> bytes:
    if not 0 < stream_id <= 0x7FFFFFFF or len(data) > MAX_LENGTH:
        raise SpdyError("a data frame needs a stream id and at most 16 MiB of data")
    return struct.pack(">IB", stream_id, FLAG_FIN if fin else 0) + len(data).to_bytes(3, "big") + data


def control_frame(frame_type: int, payload: bytes, *, flags: int = 0) -> bytes:
    if len(payload) > MAX_LENGTH:
        raise SpdyError("a control frame of more than 16 MiB")
    return struct.pack(">HHB", 0x8000 | VERSION, frame_type, flags) + len(payload).to_bytes(3, "big") + payload


def encode(frame: Frame) -> bytes:
    if isinstance(frame, DataFrame):
        return data_frame(frame.stream_id, frame.data, fin=frame.fin)
    return control_frame(frame.type, frame.payload, flags=frame.flags)


class FrameBuffer:
    """Bytes in, whole frames out, in any chunking."""

    def __init__(self) -> None:
        self._pending = bytearray()

    def feed(self, data: bytes) -> list[Frame]:
        self._pending += data
        frames: list[Frame] = []
        while len(self._pending) >= 8:
            length = int.from_bytes(self._pending[5:8], "big")
            if len(self._pending) < 8 + length:
                break
            head, body = bytes(self._pending[:8]), bytes(self._pending[8:8 + length])
            del self._pending[:8 + length]
            frames.append(_frame(head, body))
        return frames


def _frame(head: bytes, body: bytes) -> Frame:
    first, flags = struct.unpack(">IB", head[:5])
    if not first & 0x80000000:
        return DataFrame(first, flags, body)
    version, frame_type = first >> 16 & 0x7FFF, first & 0xFFFF
    if version != VERSION:
        raise SpdyError(f"SPDY version {version} is not spoken (3 is)")
    return ControlFrame(frame_type, flags, body)


def header_block(headers: dict[str, str]) -> bytes:
    """The uncompressed name/value block: names lower case, each length a 32-bit word."""
    parts = [struct.pack(">I", len(headers))]
    for name, value in headers.items():
        for text in (name.lower().encode(), value.encode()):
            parts.append(struct.pack(">I", len(text)) + text)
    return b"".join(parts)


def parse_header_block(raw: bytes) -> dict[str, str]:
    try:
        (count,), offset, headers = struct.unpack(">I", raw[:4]), 4, {}
        for _ in range(count):
            texts = []
            for _part in range(2):
                (size,) = struct.unpack(">I", raw[offset:offset + 4])
                texts.append(raw[offset + 4:offset + 4 + size].decode())
                offset += 4 + size
            headers[texts[0].lower()] = texts[1]
    except (struct.error, UnicodeDecodeError) as exc:
        raise SpdyError("a malformed header block") from exc
    return headers


class HeaderCodec:
    """One session's header compression: blocks are sync-flushed pieces of one zlib stream each way."""

    def __init__(self) -> None:
        self._out = zlib.compressobj(zdict=HEADER_DICTIONARY)
        self._in = zlib.decompressobj(zdict=HEADER_DICTIONARY)

    def compress(self, headers: dict[str, str]) -> bytes:
        return self._out.compress(header_block(headers)) + self._out.flush(zlib.Z_SYNC_FLUSH)

    def decompress(self, block: bytes) -> dict[str, str]:
        try:
            raw = self._in.decompress(block, MAX_HEADER_BLOCK)
        except zlib.error as exc:
            raise SpdyError(f"a header block that does not inflate: {exc}") from exc
        return parse_header_block(raw)


def syn_stream_headers(frame: ControlFrame, codec: HeaderCodec) -> dict[str, str]:
    """The headers of a SYN_STREAM (after stream id, associated id, priority and slot)."""
    return codec.decompress(frame.payload[10:])


def syn_reply(stream_id: int, codec: HeaderCodec) -> bytes:
    return control_frame(SYN_REPLY, struct.pack(">I", stream_id) + codec.compress({}))


def rst_stream(stream_id: int, status: int = RST_CANCEL) -> bytes:
    return control_frame(RST_STREAM, struct.pack(">II", stream_id, status))
