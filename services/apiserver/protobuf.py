"""The protobuf bodies this server reads, turned into their JSON shape: those client-go's
typed clients send (they prefer protobuf for built-in kinds): a `SelfSubjectAccessReview`
(`kubectl auth can-i`) and a `Secret` (`kubectl create secret`, Helm's release storage).
Kubernetes' envelope is `k8s\\x00` + `runtime.Unknown{typeMeta=1, raw=2,
contentEncoding=3, contentType=4}`; `raw` is the object:

- the review: `spec=2`: `resourceAttributes=1` {namespace=1, verb=2, group=3, version=4,
  resource=5, subresource=6, name=7}, `nonResourceAttributes=2` {path=1, verb=2};
- the Secret: `metadata=1` (ObjectMeta: name=1, generateName=2, namespace=3, uid=5,
  resourceVersion=6, labels=11, annotations=12, finalizers=14; the fields the server
  sets are ignored, as JSON's are), `data=2` (map of bytes), `type=3`, `stringData=4`,
  `immutable=5`. Any other field (ownerReferences, managedFields) is refused
  (ProtobufError), never dropped;
- the autoscaling/v1 HorizontalPodAutoscaler (`kubectl autoscale`): `metadata=1`, `spec=2`
  {scaleTargetRef=1 {kind=1, name=2, apiVersion=3}, minReplicas=2, maxReplicas=3,
  targetCPUUtilizationPercentage=4}; the status (3) is the controller's to write.

Pure; used by `services.apiserver.app` and `writes`."""

from __future__ import annotations

import base64
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


def entries(data: bytes) -> list[tuple[int, int | bytes]]:
    """Every field of one message in order, repeated ones included: (number, value),
    the value an int for a varint, bytes for a length-delimited field."""
    found: list[tuple[int, int | bytes]] = []
    at = 0
    while at < len(data):
        key, at = _varint(data, at)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, at = _varint(data, at)
            found.append((number, value))
        elif wire == 2:
            size, at = _varint(data, at)
            if at + size > len(data):
                raise ProtobufError("truncated field")
            found.append((number, data[at:at + size]))
            at += size
        else:
            raise ProtobufError(f"unsupported wire type {wire} (field {number})")
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


SECRET_META_STRINGS = {1: "name", 2: "generateName", 3: "namespace", 5: "uid", 6: "resourceVersion"}
SECRET_META_MAPS = {11: "labels", 12: "annotations"}
SERVER_META = {4, 7, 8, 9, 10}  # selfLink, generation, creation/deletion timestamps, grace: the server's to set


def _utf8(raw: bytes, field: str) -> str:
    """Text, or ProtobufError naming the field only (the bytes may be a Secret's value)."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ProtobufError(f"{field}: not UTF-8") from None


def _text(value: int | bytes, field: str) -> str:
    if not isinstance(value, bytes):
        raise ProtobufError(f"{field}: expected a string")
    return _utf8(value, field)


def _map_entry(value: int | bytes, field: str) -> tuple[str, bytes]:
    if not isinstance(value, bytes):
        raise ProtobufError(f"{field}: expected a map entry")
    parts = fields(value)
    return _utf8(parts.get(1, b""), f"{field} key"), parts.get(2, b"")


def _object_meta(data: bytes) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    for number, value in entries(data):
        if number in SERVER_META:
            continue
        if number in SECRET_META_STRINGS:
            if text := _text(value, f"metadata.{SECRET_META_STRINGS[number]}"):  # Go writes "" for unset
                meta[SECRET_META_STRINGS[number]] = text
        elif number in SECRET_META_MAPS:
            key, item = _map_entry(value, f"metadata.{SECRET_META_MAPS[number]}")
            meta.setdefault(SECRET_META_MAPS[number], {})[key] = _utf8(item, f"metadata.{SECRET_META_MAPS[number]}")
        elif number == 14:
            meta.setdefault("finalizers", []).append(_text(value, "metadata.finalizers"))
        else:
            raise ProtobufError(f"metadata field {number} is not read from protobuf here; send JSON")
    return meta


def secret(body: bytes) -> dict[str, Any]:
    """A protobuf `v1.Secret` in its JSON shape (`data` base64), or ProtobufError.
    The message never quotes a value."""
    if not body.startswith(MAGIC):
        raise ProtobufError("not a Kubernetes protobuf body (no k8s\\0 prefix)")
    envelope = fields(body[len(MAGIC):])
    type_meta = _strings(envelope.get(1, b""), {1: "apiVersion", 2: "kind"})
    if (type_meta.get("apiVersion"), type_meta.get("kind")) != ("v1", "Secret"):
        raise ProtobufError(f"expected a v1 Secret, not {type_meta.get('apiVersion')}/{type_meta.get('kind')}")
    obj: dict[str, Any] = {"apiVersion": "v1", "kind": "Secret", "metadata": {}}
    for number, value in entries(envelope.get(2, b"")):
        if number == 1 and isinstance(value, bytes):
            obj["metadata"] = _object_meta(value)
        elif number == 2:
            key, raw = _map_entry(value, "data")
            obj.setdefault("data", {})[key] = base64.b64encode(raw).decode("ascii")
        elif number == 3:
            if secret_type := _text(value, "type"):
                obj["type"] = secret_type
        elif number == 4:
            key, raw = _map_entry(value, "stringData")
            obj.setdefault("stringData", {})[key] = _utf8(raw, f"stringData[{key}]")
        elif number == 5:
            obj["immutable"] = bool(value)
        else:
            raise ProtobufError(f"Secret field {number} is not read from protobuf here; send JSON")
    return obj


TOKEN_REQUEST_REFERENCE = {1: "kind", 2: "apiVersion", 3: "name", 4: "uid"}


def token_request(body: bytes) -> dict[str, Any]:
    """A protobuf `authentication.k8s.io/v1 TokenRequest` (`kubectl create token`) in its
    JSON shape: `metadata=1` (name, namespace), `spec=2` {audiences=1 (repeated),
    boundObjectRef=3 {kind=1, apiVersion=2, name=3, uid=4}, expirationSeconds=4}; the
    status (3) is the server's to write. Or ProtobufError."""
    if not body.startswith(MAGIC):
        raise ProtobufError("not a Kubernetes protobuf body (no k8s\\0 prefix)")
    raw = fields(fields(body[len(MAGIC):]).get(2, b""))
    spec: dict[str, Any] = {}
    for number, value in entries(raw.get(2, b"")):
        if number == 1:
            spec.setdefault("audiences", []).append(_text(value, "spec.audiences"))
        elif number == 3 and isinstance(value, bytes):
            spec["boundObjectRef"] = {k: v for k, v in _strings(value, TOKEN_REQUEST_REFERENCE).items() if v}
        elif number == 4 and isinstance(value, int):
            spec["expirationSeconds"] = value
        else:
            raise ProtobufError(f"TokenRequest spec field {number} is not read from protobuf here; send JSON")
    return {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
            "metadata": _object_meta(raw.get(1, b"")), "spec": spec}


def eviction(body: bytes) -> dict[str, Any]:
    """A protobuf `policy/v1 Eviction` (`kubectl drain`) in its JSON shape: `metadata=1`,
    `deleteOptions=2` {gracePeriodSeconds=1, preconditions=2 {uid=1, resourceVersion=2},
    orphanDependents=3, propagationPolicy=4, dryRun=5 (repeated)}. Or ProtobufError."""
    if not body.startswith(MAGIC):
        raise ProtobufError("not a Kubernetes protobuf body (no k8s\\0 prefix)")
    raw = fields(fields(body[len(MAGIC):]).get(2, b""))
    options: dict[str, Any] = {}
    for number, value in entries(raw.get(2, b"")):
        if number == 1 and isinstance(value, int):
            options["gracePeriodSeconds"] = value
        elif number == 2 and isinstance(value, bytes):
            options["preconditions"] = {k: v for k, v in _strings(value, {1: "uid", 2: "resourceVersion"}).items() if v}
        elif number == 3 and isinstance(value, int):
            options["orphanDependents"] = bool(value)
        elif number == 4:
            options["propagationPolicy"] = _text(value, "deleteOptions.propagationPolicy")
        elif number == 5:
            options.setdefault("dryRun", []).append(_text(value, "deleteOptions.dryRun"))
        else:
            raise ProtobufError(f"DeleteOptions field {number} is not read from protobuf here; send JSON")
    found: dict[str, Any] = {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": _object_meta(raw.get(1, b""))}
    if 2 in raw:
        found["deleteOptions"] = options
    return found


HPA_SPEC_NUMBERS = {2: "minReplicas", 3: "maxReplicas", 4: "targetCPUUtilizationPercentage"}
REFERENCE_FIELDS = {1: "kind", 2: "name", 3: "apiVersion"}


def _int32(value: int) -> int:
    """A varint as the int32 Go encoded (a negative one sign-extended to 64 bits)."""
    return value - (1 << 64) if value >= 1 << 63 else value


def hpa_v1(body: bytes) -> dict[str, Any]:
    """A protobuf `autoscaling/v1 HorizontalPodAutoscaler` in its JSON shape, or ProtobufError."""
    if not body.startswith(MAGIC):
        raise ProtobufError("not a Kubernetes protobuf body (no k8s\\0 prefix)")
    envelope = fields(body[len(MAGIC):])
    type_meta = _strings(envelope.get(1, b""), {1: "apiVersion", 2: "kind"})
    if (type_meta.get("apiVersion"), type_meta.get("kind")) != ("autoscaling/v1", "HorizontalPodAutoscaler"):
        raise ProtobufError(f"expected an autoscaling/v1 HorizontalPodAutoscaler, not "
                            f"{type_meta.get('apiVersion')}/{type_meta.get('kind')}")
    raw = fields(envelope.get(2, b""))
    spec: dict[str, Any] = {}
    for number, value in entries(raw.get(2, b"")):
        if number == 1 and isinstance(value, bytes):
            spec["scaleTargetRef"] = {k: v for k, v in _strings(value, REFERENCE_FIELDS).items() if v}
        elif number in HPA_SPEC_NUMBERS and isinstance(value, int):
            spec[HPA_SPEC_NUMBERS[number]] = _int32(value)
        else:
            raise ProtobufError(f"HorizontalPodAutoscaler spec field {number} is not read from protobuf here; send JSON")
    return {"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler",
            "metadata": _object_meta(raw.get(1, b"")), "spec": spec}
