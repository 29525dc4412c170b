"""The one protobuf body kubectl sends that this server reads: a `SelfSubjectAccessReview`
(`kubectl auth can-i` uses the typed client, which speaks protobuf). Kubernetes' envelope
is `k8s\\x00` + `runtime.Unknown{typeMeta=1, raw=2, contentEncoding=3, contentType=4}`;
`raw` is the review (`spec=2`: `resourceAttributes=1` {namespace=1, verb=2, group=3,
version=4, resource=5, subresource=6, name=7}, `nonResourceAttributes=2` {path=1, verb=2}),
turned here into its JSON shape. Pure; used by `services.apiserver.app`."""

from __future__ import annotations

from typing import Any

MAGIC = b"k8s\x00"
RESOURCE_FIELDS = {1: "namespace", 2: "verb", 3: "group", 4: "version", 5: "resource", 6: "subresource", 7: "name"}
NON_RESOURCE_FIELDS = {1: "path", 2: "verb"}


class ProtobufError(ValueError):
    """Bytes that are not the protobuf this module reads."""


def _varint(data: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if at >= len(data) or shift > 63:
            raise ProtobufError("truncated varint")
        byte = data[at]
        value |= (byte & 0x7F) << shift
        at, shift = at + 1, shift + 7
        if not byte & 0x80:
            return value, at


def fields(data: bytes) -> dict[int, bytes]:
    """The length-delimited fields of one message by number (the last one wins); varint
    and fixed-width fields are skipped."""
    found: dict[int, bytes] = {}
    at = 0
    while at < len(data):
        key, at = _varint(data, at)
        number, wire = key >> 3, key & 7
        if wire == 0:
            _, at = _varint(data, at)
        elif wire == 1:
            at += 8
        elif wire == 5:
            at += 4
        elif wire == 2:
            size, at = _varint(data, at)
            if at + size > len(data):
                raise ProtobufError("truncated field")
            found[number] = data[at:at + size]
            at += size
        else:
            raise ProtobufError(f"unsupported wire type {wire}")
    return found


def _strings(data: bytes, names: dict[int, str]) -> dict[str, str]:
    return {names[n]: v.decode("utf-8", "replace") for n, v in fields(data).items() if n in names}


def access_review(body: bytes) -> dict[str, Any]:
    """A protobuf `SelfSubjectAccessReview` in its JSON shape, or ProtobufError."""
    if not body.startswith(MAGIC):
        raise ProtobufError("not a Kubernetes protobuf body (no k8s\\0 prefix)")
    raw = fields(body[len(MAGIC):]).get(2, b"")
    spec = fields(fields(raw).get(2, b""))
    parsed: dict[str, Any] = {}
    if 1 in spec:
        parsed["resourceAttributes"] = _strings(spec[1], RESOURCE_FIELDS)
    if 2 in spec:
        parsed["nonResourceAttributes"] = _strings(spec[2], NON_RESOURCE_FIELDS)
    return {"spec": parsed}
