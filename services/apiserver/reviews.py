"""`SelfSubjectAccessReview` (POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews):
may I do this? — `kubectl auth can-i`. Answered by the door's RBAC view
(`services.apiserver.auth.Door.allowed`), never stored. Called by `services.apiserver.app`."""

from __future__ import annotations

from typing import Any

from services.api.rbac import Attributes


def review_attributes(body: dict[str, Any]) -> Attributes | None:
    """The attributes a review asks about; None when it names neither kind. Pure."""
    spec = body.get("spec") or {}
    if resource := spec.get("resourceAttributes"):
        return Attributes(str(resource.get("verb", "")), str(resource.get("group", "")),
                          str(resource.get("resource", "")), str(resource.get("subresource", "")),
                          str(resource.get("namespace", "")), str(resource.get("name", "")))
    if non_resource := spec.get("nonResourceAttributes"):
        return Attributes(str(non_resource.get("verb", "")), "", "", path=str(non_resource.get("path", "")))
    return None


def answered(body: dict[str, Any], allowed: bool, reason: str) -> dict[str, Any]:
    """The review as kube-apiserver returns it: the request with its `status`."""
    status: dict[str, Any] = {"allowed": allowed}
    if reason:
        status["reason"] = reason
    return {"kind": "SelfSubjectAccessReview", "apiVersion": "authorization.k8s.io/v1",
            "metadata": {"creationTimestamp": None}, "spec": body.get("spec") or {}, "status": status}
