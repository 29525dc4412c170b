"""``apps/v1`` ControllerRevision: an immutable snapshot of a workload's pod template.

The DaemonSet and StatefulSet controllers write one per distinct template (``data`` holds
the patch that rebuilds it, ``revision`` its order) and read them back for the rollout
history and ``rollout undo``. Validation as upstream's ``ValidateControllerRevisionCreate``
(``check_controller_revision``) and ``ValidateControllerRevisionUpdate``
(``check_controller_revision_update``: ``data`` is immutable).

Used by the registry (kind, topics), ``schemas.checks`` / ``schemas.updates``
(admission), the DaemonSet and StatefulSet controllers and the CLI (``rollout history``).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import JsonValue

from schemas.checks_pod import non_negative
from schemas.meta import Int64, Resource
from schemas.validation import FieldError

DATA_MANDATORY = "data is mandatory"
DATA_NOT_OBJECT = "data must be a valid JSON object"


class ControllerRevision(Resource):
    api_version: Literal["apps/v1"] = "apps/v1"
    kind: Literal["ControllerRevision"] = "ControllerRevision"
    data: JsonValue = None
    revision: Int64 = 0


def check_controller_revision(revision: ControllerRevision) -> list[FieldError]:
    """``revision`` non-negative; ``data`` present and a JSON object (upstream's words)."""
    errs = non_negative("revision", revision.revision)
    if revision.data is None:
        errs.append(FieldError("data", "Required", detail=DATA_MANDATORY))
    elif not isinstance(revision.data, dict):
        errs.append(FieldError("data", "Required", detail=DATA_NOT_OBJECT))
    return errs


def check_controller_revision_update(new: dict[str, Any], old: dict[str, Any]) -> list[FieldError]:
    """``data`` never changes once written (``ValidateImmutableField``)."""
    if new.get("data") != old.get("data"):
        return [FieldError("data", "Invalid", new.get("data"), "field is immutable")]
    return []
