"""Is a record on `kafkube.requests` what it claims to be? The key, the partition, the
request's fields and its body must all name the same object, or the writer of one key
could be made to write another (a request keyed `team-a/a` stored as `kube-system/b`).
Pure; called by `services.api.writer` before it decides a request."""

from __future__ import annotations

from typing import Any

from schemas.records import Op, WriteRequest
from schemas.registry import KindInfo

BODY_IS_A_PATCH = (Op.PATCH, Op.BIND)


def envelope_problem(request: WriteRequest, info: KindInfo, *, record_key: bytes | None,
                     partition: int, owner: int) -> str | None:
    """Why the request cannot be decided as sent (a BadRequest), or None when it can.

    `owner` is the partition that the request's object key hashes to."""
    key = record_key.decode("utf-8", "replace") if record_key is not None else None
    if key != request.key:
        return (f'the record key {_quoted(key)} does not name the object of the request '
                f'("{request.key}")')
    if partition != owner:
        return (f'the request for "{request.key}" is on partition {partition}, but its key '
                f"belongs to partition {owner}")
    if info.namespaced and not request.namespace:
        return f"{info.plural} is namespaced: the request must name a namespace"
    if not info.namespaced and request.namespace:
        return f"{info.plural} is cluster-scoped: the request may not name a namespace"
    if request.op is Op.BIND and not request.node_name:
        return "nodeName: Required value: a bind names the node"
    if request.body is not None and request.op not in BODY_IS_A_PATCH:
        return _body_problem(request, request.body)
    return None


def _body_problem(request: WriteRequest, body: dict[str, Any]) -> str | None:
    for field, expected in (("apiVersion", request.api_version), ("kind", request.kind)):
        if field in body and body[field] != expected:
            return (f"the {field} of the object ({body[field]!r}) does not match the "
                    f"request's ({expected!r})")
    meta = body.get("metadata")
    if not isinstance(meta, dict):
        return None
    name, namespace = meta.get("name"), meta.get("namespace")
    if name is not None and name != request.name:
        return f"the name of the object ({name}) does not match the name on the request ({request.name})"
    if namespace is not None and request.namespace is not None and namespace != request.namespace:
        return "the namespace of the provided object does not match the namespace sent on the request"
    return None


def _quoted(key: str | None) -> str:
    return "(none)" if key is None else f'"{key}"'
