"""A protobuf `v1.Secret` (what client-go's typed clients send: `kubectl create secret`,
Helm's release storage) read into its JSON shape, encoded here as Go's generated code
writes it (unset strings and the server's metadata fields included)."""

from __future__ import annotations

import base64

import pytest

from services.apiserver.protobuf import MAGIC, ProtobufError, secret


def varint(n: int) -> bytes:
    out = b""
    while True:
        byte, n = n & 0x7F, n >> 7
        out += bytes([byte | (0x80 if n else 0)])
        if not n:
            return out


def field(number: int, value: bytes | int) -> bytes:
    if isinstance(value, int):
        return varint(number << 3) + varint(value)
    return varint(number << 3 | 2) + varint(len(value)) + value


def entry(number: int, key: str, value: bytes) -> bytes:
    return field(number, field(1, key.encode()) + field(2, value))


def envelope(api_version: str, kind: str, raw: bytes) -> bytes:
    type_meta = field(1, api_version.encode()) + field(2, kind.encode())
    return MAGIC + field(1, type_meta) + field(2, raw)


META = (field(1, b"sh.helm.release.v1.demo.v1") + field(2, b"") + field(3, b"default") + field(4, b"")
        + field(5, b"") + field(6, b"") + field(7, 0) + field(8, b"")
        + entry(11, "owner", b"helm") + entry(11, "name", b"demo") + entry(12, "note", b"x"))


def test_a_secret_is_read_with_its_metadata_values_and_type() -> None:
    raw = (field(1, META) + entry(2, "release", b"\x00\xffbinary") + entry(2, "other", b"two")
           + field(3, b"helm.sh/release.v1") + entry(4, "plain", b"text") + field(5, 1))
    assert secret(envelope("v1", "Secret", raw)) == {
        "apiVersion": "v1", "kind": "Secret", "type": "helm.sh/release.v1", "immutable": True,
        "metadata": {"name": "sh.helm.release.v1.demo.v1", "namespace": "default",
                     "labels": {"owner": "helm", "name": "demo"}, "annotations": {"note": "x"}},
        "data": {"release": base64.b64encode(b"\x00\xffbinary").decode(), "other": base64.b64encode(b"two").decode()},
        "stringData": {"plain": "text"}}


def test_an_empty_type_is_left_for_the_default() -> None:
    assert "type" not in secret(envelope("v1", "Secret", field(1, field(1, b"s")) + field(3, b"")))


@pytest.mark.parametrize("body, problem", [
    (envelope("v1", "ConfigMap", b""), "expected a v1 Secret"),
    (envelope("v1", "Secret", field(1, field(13, b"owner"))), "metadata field 13 is not read"),
    (envelope("v1", "Secret", field(9, b"x")), "Secret field 9 is not read"),
    (b"{}", "no k8s"),
    (envelope("v1", "Secret", field(1, b"\x0a\x10short")), "truncated"),
    (envelope("v1", "Secret", entry(4, "k", b"\xffsecret")), r"stringData\[k\]: not UTF-8$"),
])
def test_what_is_not_read_is_refused_never_dropped_nor_quoted(body: bytes, problem: str) -> None:
    with pytest.raises(ProtobufError, match=problem):
        secret(body)
