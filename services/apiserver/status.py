"""Kubernetes `Status` objects: the body of every error (and of a finished delete), with
the HTTP code of its reason, as kube-apiserver's `apimachinery/pkg/api/errors` builds
them. Pure; used by the handlers (`services.apiserver.resources`) and the watch."""

from __future__ import annotations

from typing import Any

CODES: dict[str, int] = {
    "BadRequest": 400, "Unauthorized": 401, "Forbidden": 403, "NotFound": 404,
    "MethodNotAllowed": 405, "NotAcceptable": 406, "AlreadyExists": 409, "Conflict": 409,
    "Expired": 410, "Gone": 410, "RequestEntityTooLarge": 413, "UnsupportedMediaType": 415,
    "Invalid": 422, "TooManyRequests": 429, "InternalError": 500, "ServiceUnavailable": 503,
    "Timeout": 504,
}
"""The HTTP code of each `StatusReason` (upstream's `metav1.StatusReason*`)."""


def failure(reason: str, message: str, *, name: str = "", group: str = "", kind: str = "",
            code: int | None = None) -> dict[str, Any]:
    """A failed request's `Status`; `kind` is the resource's plural, as upstream's details name it.
    An unknown reason is an InternalError (500)."""
    status: dict[str, Any] = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                              "message": message, "reason": reason if reason in CODES else "InternalError",
                              "code": code or CODES.get(reason, 500)}
    details = {k: v for k, v in (("name", name), ("group", group), ("kind", kind)) if v}
    if details:
        status["details"] = details
    return status


def success(*, name: str, group: str, kind: str, uid: str | None = None) -> dict[str, Any]:
    """The `Status` a delete answers when the object is gone at once."""
    details: dict[str, Any] = {"name": name, "kind": kind, **({"group": group} if group else {}),
                               **({"uid": uid} if uid else {})}
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details}


def unauthorized() -> dict[str, Any]:
    return failure("Unauthorized", "Unauthorized")


def not_found(plural: str, group: str, name: str) -> dict[str, Any]:
    """`deployments.apps "web" not found`, upstream's NewNotFound wording."""
    resource = f"{plural}.{group}" if group else plural
    return failure("NotFound", f'{resource} "{name}" not found', name=name, group=group, kind=plural)


def expired(message: str) -> dict[str, Any]:
    """410: a watch from a resourceVersion this server cannot serve exactly."""
    return failure("Expired", message)
