"""Protobuf bodies read generically, by the field tables generated from Kubernetes' own
generated.proto and types.go (`protobuf_tables.py`, `scripts/gen_protobuf_tables.py`):
the batch/v1 Job (`kubectl create job`, `--from=cronjob/...`) and CronJob (`kubectl create
cronjob`) into their JSON shape. Rules, as Go's JSON of the same object:

- a field the table does not know is refused (ProtobufError), never dropped;
- a non-pointer scalar at its zero ("" / 0 / false), which gogo-protobuf always writes, is
  left out (Go's `omitempty`); a pointer field keeps its zero (`backoffLimit: 0`);
- Quantity is its string, IntOrString an int or a string, Time RFC 3339 (zero: left out),
  FieldsV1 its JSON; bytes base64; `status` is the server's and dropped.

Pure; used by `services.apiserver.writes`."""

from __future__ import annotations

import base64
from datetime import datetime, timezone
from typing import Any

import orjson

from services.apiserver.protobuf import (MAGIC, ProtobufError, _int32, _map_entry, _strings, _utf8, _varint, entries,
                                         fields)
from services.apiserver.protobuf_tables import MESSAGES, SPECIAL

TYPED = {("batch/v1", "Job"): "k8s.io.api.batch.v1.Job", ("batch/v1", "CronJob"): "k8s.io.api.batch.v1.CronJob"}
ABSENT = object()


def typed_object(body: bytes, api_version: str, kind: str) -> dict[str, Any]:
    """The protobuf `api_version`/`kind` object of `body` in its JSON shape, or ProtobufError."""
    if not body.startswith(MAGIC):
        raise ProtobufError("not a Kubernetes protobuf body (no k8s\\0 prefix)")
    envelope = fields(body[len(MAGIC):])
    type_meta = _strings(envelope.get(1, b""), {1: "apiVersion", 2: "kind"})
    if (type_meta.get("apiVersion"), type_meta.get("kind")) != (api_version, kind):
        raise ProtobufError(f"expected a {api_version} {kind}, not {type_meta.get('apiVersion')}/{type_meta.get('kind')}")
    obj = message(envelope.get(2, b""), TYPED[(api_version, kind)], kind)
    obj.pop("status", None)
    return {"apiVersion": api_version, "kind": kind, **obj}


def message(data: bytes, name: str, where: str) -> dict[str, Any]:
    """One message of the table in its JSON shape."""
    table = MESSAGES[name]
    out: dict[str, Any] = {}
    for number, value in entries(data):
        if number not in table:
            raise ProtobufError(f"{where}: field {number} of {name.rsplit('.', 1)[-1]} is not known here; send JSON")
        field, kind, type_name, pointer = table[number]
        path = f"{where}.{field}"
        if kind == "map":
            key, raw = _map_entry(value, path)
            out.setdefault(field, {})[key] = _value(raw, type_name, f"{path}[{key}]", keep_zero=True)
        elif kind == "rep":
            for item in _repeated(value, type_name):
                out.setdefault(field, []).append(_value(item, type_name, path, keep_zero=True))
        elif (decoded := _value(value, type_name, path, keep_zero=pointer)) is not ABSENT:
            out[field] = decoded
    return out


def _repeated(value: int | bytes, type_name: str) -> list[int | bytes]:
    """The items of one repeated entry: itself, or a packed run of varints."""
    if type_name in ("int32", "int64", "bool") and isinstance(value, bytes):
        items: list[int | bytes] = []
        at = 0
        while at < len(value):
            number, at = _varint(value, at)
            items.append(number)
        return items
    return [value]


def _value(value: int | bytes, type_name: str, path: str, *, keep_zero: bool) -> Any:
    """A scalar, special or nested message value; ABSENT for a zero Go's JSON leaves out."""
    if type_name in ("int32", "int64", "bool"):
        if not isinstance(value, int):
            raise ProtobufError(f"{path}: expected a number")
        number = _int32(value)
        decoded: Any = bool(number) if type_name == "bool" else number
        return decoded if decoded or keep_zero else ABSENT
    if not isinstance(value, bytes):
        raise ProtobufError(f"{path}: expected a length-delimited value")
    if type_name == "string":
        text = _utf8(value, path)
        return text if text or keep_zero else ABSENT
    if type_name == "bytes":
        return base64.b64encode(value).decode("ascii")
    special = SPECIAL.get(type_name)
    if special is not None:
        return _special(special, value, path, keep_zero=keep_zero)
    return message(value, type_name, path)


def _special(special: str, value: bytes, path: str, *, keep_zero: bool) -> Any:
    if special == "quantity":
        return _utf8(fields(value).get(1, b""), path)
    if special == "rawjson":
        try:
            return orjson.loads(fields(value).get(1, b"{}"))
        except orjson.JSONDecodeError:
            raise ProtobufError(f"{path}: not JSON") from None
    parts = dict(entries(value))
    if special == "intorstring":
        if parts.get(1, 0) == 1:
            return _utf8(parts.get(3, b"") if isinstance(parts.get(3), bytes) else b"", path)  # type: ignore[arg-type]
        number = parts.get(2, 0)
        return _int32(number) if isinstance(number, int) else 0
    seconds = parts.get(1, 0)  # time
    if not isinstance(seconds, int) or (seconds == 0 and not keep_zero):
        return ABSENT
    return datetime.fromtimestamp(_int32(seconds), timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
