"""Admission: validation and defaulting of one object, as the API stores it.
Pure; a thin seam over `schemas` used by `decide` and the manifest intake."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from schemas.defaults import apply_defaults
from schemas.manifest import validate_object
from schemas.registry import KindInfo, lookup_kind
from schemas.validation import ManifestInvalid


class AdmissionError(Exception):
    """The object cannot be admitted; `status_reason` is Kubernetes' Status reason."""

    def __init__(self, status_reason: Any, message: str) -> None:
        super().__init__(message)
        self.status_reason = status_reason


@dataclass(frozen=True, slots=True)
class Admitted:
    info: KindInfo
    obj: dict[str, Any]  # the Kubernetes JSON to store: defaulted, without status

    @property
    def namespaced(self) -> bool:
        return self.info.namespaced


def admit(body: dict[str, Any]) -> Admitted:
    """Validate and default `body`; raise AdmissionError("Invalid", ...) if it is bad."""
    try:
        resource = validate_object(body)
    except ManifestInvalid as exc:
        raise AdmissionError("Invalid", str(exc)) from exc
    except LookupError as exc:
        raise AdmissionError("BadRequest", str(exc.args[0] if exc.args else exc)) from exc
    obj = apply_defaults(resource).model_dump(by_alias=True, exclude_none=True, mode="json")
    obj.pop("status", None)
    return Admitted(lookup_kind(obj["apiVersion"], obj["kind"]), obj)


def resource_name(api_version: str, kind: str) -> str:
    """Kubernetes' name of a resource in messages: `deployments.apps`, `pods`."""
    try:
        info = lookup_kind(api_version, kind)
    except LookupError:
        return kind.lower()
    return f"{info.plural}.{info.group}" if info.group else info.plural
