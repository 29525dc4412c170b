"""The entry point for admitting manifests: split a payload, validate each object.

Used by the API intake (``kafkube.manifests`` and write requests) and the CLI
(``apply -f``, client-side checks). ``split_documents`` never raises on user input;
``validate_object`` raises only ``ManifestError`` subclasses (``ManifestInvalid``,
``NoKindMatch``), whose messages follow Kubernetes' wording.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from schemas.autoscaling_v1 import V1 as AUTOSCALING_V1, from_v1
from schemas.checks import check_metadata, check_resource
from schemas.checks_paths import check_object_paths
from schemas.documents import (
    YAML_PREFIX,
    Budget,
    DocumentError,
    DocumentResult,
    expand,
    load_chunk,
    split_chunks,
    to_json_like,
)
from schemas.limits import MAX_DOCUMENTS, MAX_REQUEST_BYTES, entity_too_large
from schemas.meta import INT32_MAX, INT32_MESSAGE, INT32_MIN, INT64_MAX, INT64_MESSAGE, INT64_MIN, Resource
from schemas.paths import field_path
from schemas.registry import KindInfo, lookup_kind
from schemas.secret_fields import REDACTED, holds_values, is_secret
from schemas.validation import FieldError, ManifestInvalid, not_supported

__all__ = ["DocumentResult", "split_documents", "unknown_fields", "validate_object"]

R = TypeVar("R", bound=Resource)


def _decode(payload: bytes) -> str:
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DocumentError(
            f"{YAML_PREFIX}yaml: invalid UTF-8 byte at offset {exc.start}") from None
    return text.removeprefix("\ufeff")


def split_documents(payload: bytes) -> list[DocumentResult]:
    """Every document of a YAML/JSON payload, in order; ``List`` kinds expand to items.

    Empty documents are dropped; autoscaling/v1 HorizontalPodAutoscalers come out as the
    autoscaling/v2 ones stored. A document that does not parse is returned as an error
    result (``error`` set), and the others still parse. A payload over the size limit, or
    with more than ``MAX_DOCUMENTS`` documents, is one error: nothing of it is applied.
    """
    if len(payload) > MAX_REQUEST_BYTES:
        return [DocumentResult(0, 1, error=entity_too_large())]
    try:
        text = _decode(payload)
    except DocumentError as exc:
        return [DocumentResult(0, 1, error=str(exc))]
    results: list[DocumentResult] = []
    budget = Budget()
    for index, (line, chunk) in enumerate(split_chunks(text)):
        try:
            doc = to_json_like(load_chunk(chunk, line), budget)
        except DocumentError as exc:
            results.append(DocumentResult(index, line, error=str(exc)))
            continue
        results += map(_at_stored_version, expand(doc, index, line))
        if len(results) > MAX_DOCUMENTS:
            return [DocumentResult(0, 1, error=f"the record holds more than {MAX_DOCUMENTS} "
                                   "documents and items: split it into several records")]
    return results


def _at_stored_version(result: DocumentResult) -> DocumentResult:
    """An autoscaling/v1 HorizontalPodAutoscaler as the v2 one Kafkube stores (upstream's
    conversion, ``schemas.autoscaling_v1``); any other document as it is."""
    doc = result.doc
    if doc is None or (doc.get("apiVersion"), doc.get("kind")) != (AUTOSCALING_V1, "HorizontalPodAutoscaler"):
        return result
    return replace(result, doc=from_v1(doc))


_TYPE_MESSAGES = {
    "int_type": "must be an integer",
    "int_parsing": "must be an integer",
    "int_from_float": "must be an integer",
    "string_type": "must be a string",
    "bool_type": "must be a boolean",
    "bool_parsing": "must be a boolean",
    "dict_type": "must be an object",
    "model_type": "must be an object",
    "model_attributes_type": "must be an object",
    "list_type": "must be an array",
    "datetime_type": "must be an RFC 3339 timestamp",
    "datetime_parsing": "must be an RFC 3339 timestamp",
    "datetime_from_date_parsing": "must be an RFC 3339 timestamp",
}


def _field_error(model: type[BaseModel], err: Any, *, secret: bool = False) -> FieldError:
    """One pydantic error as a field error; a Secret's value is shown as upstream's
    ``"<secret contents redacted>"``."""
    path = field_path(model, err["loc"])
    kind = err["type"]
    if kind == "missing":
        return FieldError(path, "Required")
    shown = REDACTED if secret and holds_values(err["loc"]) else err["input"]
    if kind == "literal_error":
        supported = sorted(re.findall(r"'((?:[^'\\]|\\.)*)'", err["ctx"]["expected"]))
        return not_supported(path, shown, supported)
    detail = _TYPE_MESSAGES.get(kind) or _range_message(err) or err["msg"].removeprefix("Value error, ")
    return FieldError(path, "Invalid", shown, detail)


def _range_message(err: Any) -> str | None:
    """An integer outside its Kubernetes width: int32 or int64."""
    if err["type"] not in ("greater_than_equal", "less_than_equal"):
        return None
    bound = (err.get("ctx") or {}).get("ge", (err.get("ctx") or {}).get("le"))
    if bound in (INT32_MIN, INT32_MAX):
        return INT32_MESSAGE
    return INT64_MESSAGE if bound in (INT64_MIN, INT64_MAX) else None


def _name_of(doc: dict[str, Any]) -> str:
    meta = doc.get("metadata")
    if not isinstance(meta, dict):
        return ""
    for key in ("name", "generateName"):
        if isinstance(meta.get(key), str) and meta[key]:
            return str(meta[key])
    return ""


def _kind_info(doc: dict[str, Any]) -> KindInfo:
    errs: list[FieldError] = []
    api_version, kind = doc.get("apiVersion"), doc.get("kind")
    for key, value in (("apiVersion", api_version), ("kind", kind)):
        if value is None or value == "":
            errs.append(FieldError(key, "Required"))
        elif not isinstance(value, str):
            errs.append(FieldError(key, "Invalid", value, "must be a string"))
    if errs:
        raise ManifestInvalid(kind if isinstance(kind, str) and kind else "Object",
                              _name_of(doc), errs)
    return lookup_kind(str(api_version), str(kind))


def _parse(info: KindInfo, doc: dict[str, Any]) -> tuple[Resource | None, list[FieldError]]:
    try:
        resource = info.model.model_validate(doc, by_alias=True, by_name=False)
    except ValidationError as exc:
        secret = is_secret(info.kind)
        return None, [_field_error(info.model, e, secret=secret) for e in exc.errors(include_url=False)]
    except RecursionError:
        return None, [FieldError("", "Invalid", detail="document is nested too deeply")]
    return resource, []


def validate_object(doc: dict[str, Any]) -> Resource:
    """Validate one document like Kubernetes' API server and return the typed resource.

    Raises ``NoKindMatch`` for an unknown apiVersion/kind and ``ManifestInvalid`` (with
    every ``FieldError`` found) for anything else. Does not apply defaults.
    """
    if not isinstance(doc, dict):
        value = type(doc).__name__
        raise ManifestInvalid("Object", "", [FieldError("", "Invalid", value, "must be an object")])
    info = _kind_info(doc)
    errs = check_metadata(info.kind, doc.get("metadata"), namespaced=info.namespaced)
    resource, parse_errs = _parse(info, doc)
    errs += parse_errs
    if resource is not None:
        errs += check_resource(resource)
        errs += check_object_paths(info.kind, doc)
    if errs or resource is None:
        raise ManifestInvalid(info.kind, _name_of(doc), errs, group=info.group)
    return resource


def _walk(value: object, path: str, out: list[str]) -> None:
    if isinstance(value, BaseModel):
        prefix = f"{path}." if path else ""
        out.extend(prefix + str(key) for key in value.model_extra or {})
        for name, info in type(value).model_fields.items():
            _walk(getattr(value, name), prefix + (info.alias or name), out)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _walk(item, f"{path}[{i}]", out)
    elif isinstance(value, dict):
        for key, item in value.items():
            _walk(item, f"{path}[{key}]", out)


def unknown_fields(doc: dict[str, Any], resource: Resource | type[Resource]) -> list[str]:
    """Dotted paths of the fields the model kept without knowing them (``spec.foo``).

    ``resource`` is the validated object, or a model class to validate ``doc`` with
    (raising pydantic's ValidationError when it does not parse).
    """
    if isinstance(resource, type):
        resource = resource.model_validate(doc, by_alias=True, by_name=False)
    out: list[str] = []
    _walk(resource, "", out)
    return out
