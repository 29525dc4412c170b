"""Reviews: questions to the API that store nothing, answered like writes so any Kafka
client can ask them. `SelfSubjectReview` (authentication.k8s.io/v1: who am I?) and
`SelfSubjectAccessReview` / `SubjectAccessReview` (authorization.k8s.io/v1: may I, or
may that user, do VERB on RESOURCE?), as `kubectl auth whoami` and `kubectl auth can-i`
ask them, and `SealingKeyReview` (kafkube.io/v1: the public key `kafkube apply` seals
Secret values for, services/runtime/manifest_sealing.py). The answer event's annotation `kafkube.io/review` holds the result as JSON.
Pure; called by `services.api.writer`."""

from __future__ import annotations

from typing import Any

import orjson

from schemas.auth import UserInfo
from schemas.records import REVIEW_ANNOTATION, WriteRequest
from services.api.decide import Outcome, rejected
from services.api.rbac import Attributes, Policy

SEALING_KEY_REVIEW = ("kafkube.io/v1", "SealingKeyReview")
REVIEW_KINDS = {("authentication.k8s.io/v1", "SelfSubjectReview"),
                ("authorization.k8s.io/v1", "SelfSubjectAccessReview"),
                ("authorization.k8s.io/v1", "SubjectAccessReview"), SEALING_KEY_REVIEW}
NO_SEALING_KEY = ("the server could not find the requested resource (sealingkey): the API stores Secret values "
                  "as sent (no KAFKUBE_ENCRYPTION_CONFIG that encrypts secrets)")
REVIEWER = Attributes(verb="create", api_group="authorization.k8s.io", resource="subjectaccessreviews",
                      subresource="", namespace="", name="")


def is_review(request: WriteRequest) -> bool:
    return (request.api_version, request.kind) in REVIEW_KINDS


def review(request: WriteRequest, user: UserInfo, policy: Policy, *,
           sealing_key: tuple[str, str] | None = None) -> Outcome:
    """The answer to one review asked by `user`. `sealing_key`: the API's manifest key
    (fingerprint, base64 X25519 public key) that `kafkube apply` seals Secret values for."""
    if (request.api_version, request.kind) == SEALING_KEY_REVIEW:
        if sealing_key is None:
            return rejected("NotFound", NO_SEALING_KEY)
        return _answer(f"sealing key {sealing_key[0]}", {"keyId": sealing_key[0], "publicKey": sealing_key[1]})
    if request.kind == "SelfSubjectReview":
        info = {"username": user.name, "uid": user.uid, "groups": list(user.groups)}
        return _answer(f"username: {user.name}", {"userInfo": info})
    spec = (request.body or {}).get("spec") or {}
    subject = user
    if request.kind == "SubjectAccessReview":
        if not policy.authorize(user, REVIEWER).allowed:
            return rejected("Forbidden", f'subjectaccessreviews.authorization.k8s.io is forbidden: User '
                            f'"{user.name}" cannot create resource "subjectaccessreviews" in API group '
                            '"authorization.k8s.io" at the cluster scope')
        subject = UserInfo(username=str(spec.get("user") or ""), groups=tuple(spec.get("groups") or ()))
    attrs = _attributes(spec.get("resourceAttributes") or {})
    if attrs is None:
        return rejected("Invalid", "spec.resourceAttributes: Required value: a verb and a resource")
    decision = policy.authorize(subject, attrs)
    return _answer("yes" if decision.allowed else "no",
                   {"allowed": decision.allowed, "reason": decision.reason})


def _attributes(spec: dict[str, Any]) -> Attributes | None:
    verb, resource = spec.get("verb"), spec.get("resource")
    if not isinstance(verb, str) or not verb or not isinstance(resource, str) or not resource:
        return None
    return Attributes(verb=verb, api_group=str(spec.get("group") or ""), resource=resource,
                      subresource=str(spec.get("subresource") or ""), namespace=str(spec.get("namespace") or ""),
                      name=str(spec.get("name") or ""))


def _answer(message: str, status: dict[str, Any]) -> Outcome:
    return Outcome("Reviewed", message, details={REVIEW_ANNOTATION: orjson.dumps(status).decode()})
