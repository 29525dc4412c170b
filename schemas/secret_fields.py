"""Where a Secret holds its values, so nothing but ``get -o yaml|json`` shows them.

A Secret's values live in ``data`` (base64) and ``stringData`` (plain), and are copied
into the annotation ``kubectl.kubernetes.io/last-applied-configuration`` when a client
(kubectl's client-side apply) stores its manifest there. Used by the admission messages
(``schemas.manifest``, ``schemas.documents``, ``schemas.checks_data``), the CLI's
describe and history (``services.cli.secret_view``) and the HTTP API (``services.apiserver``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
VALUE_FIELDS = ("data", "stringData")
REDACTED = "<secret contents redacted>"  # upstream's stand-in for a value in messages


def is_secret(kind: object) -> bool:
    return kind == "Secret"


def holds_values(path: Sequence[object]) -> bool:
    """Can the field at ``path`` (segments from the object's root) hold a Secret's value:
    a data or stringData field, the last-applied annotation, or a map holding either?"""
    if path[:1] and path[0] in VALUE_FIELDS:
        return True
    head = tuple(path[:3])
    return head == _LAST_APPLIED_PATH[:len(head)]


_LAST_APPLIED_PATH = ("metadata", "annotations", LAST_APPLIED)


def without_last_applied(secret: dict[str, Any]) -> dict[str, Any]:
    """The Secret without the last-applied annotation, which copies its values in clear."""
    meta = secret.get("metadata") or {}
    annotations = {k: v for k, v in (meta.get("annotations") or {}).items() if k != LAST_APPLIED}
    meta = {k: v for k, v in meta.items() if k != "annotations"} | ({"annotations": annotations} if annotations else {})
    return {**secret, "metadata": meta}


def error_text(exc: BaseException) -> str:
    """An exception's message fit to publish: a pydantic ValidationError named by its
    fields and problems only, never by the input it would quote (a write request's body
    may hold a Secret). Used by the API writer's answer to a malformed request."""
    if not isinstance(exc, ValidationError):
        return str(exc)
    problems = exc.errors(include_url=False, include_context=False, include_input=False)
    return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" if e["loc"] else e["msg"] for e in problems)
