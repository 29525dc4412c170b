"""Access control of one write request: authenticate its token, then authorise it as
kube-apiserver does: RBAC for the verb on the resource, the NodeRestriction admission
for kubelets, and RBAC's escalation check for roles and bindings.

`new_object` (pure) is the object a request would leave, for the checks that look at
content. `AccessControl` holds the authenticator and the API's live view of the RBAC
topics. Used by `services.api.writer` for every request.
"""

from __future__ import annotations

from typing import Any, Protocol

from schemas.auth import UserInfo
from schemas.records import Op, WriteRequest
from schemas.registry import KindInfo
from services.api.authn import Authenticator
from services.api.cluster_views import bounded_barrier
from services.api.decide import Outcome, rejected
from services.api.merge_patch import merge_patch
from services.api.service_accounts import is_default_service_account
from services.api.rbac import (RBAC_KINDS, Attributes, Policy, escalation_problem, forbidden_message, node_restriction,
                               request_attributes)

WRITING_VERBS = frozenset({"create", "update", "patch"})


class PolicySource(Protocol):
    """The live RBAC policy (`services.api.rbac_view.RbacView`)."""

    @property
    def policy(self) -> Policy: ...

    async def barrier(self) -> None: ...


def new_object(request: WriteRequest, current: dict[str, Any] | None) -> dict[str, Any] | None:
    """The object as the request would leave it (before admission): a patch applies to
    what is stored, a bind sets the node."""
    if request.op is Op.DELETE:
        return None
    if request.op is Op.PATCH and current is not None:
        return merge_patch(current, request.body or {})
    if request.op is Op.BIND and current is not None:
        return {**current, "spec": {**(current.get("spec") or {}), "nodeName": request.node_name}}
    return request.body


class AccessControl:
    """Authentication and authorisation of requests against the live policy.

    `bootstrap` holds the objects every API instance ensures at start (built-in
    namespaces, the default RBAC policy), by (kind, key): an ENSURE of exactly one of
    them needs no token, since anyone sending it can only cause what the API itself does
    (and API replicas share no secret to sign their own requests with). So does the
    ENSURE of a namespace's `default` ServiceAccount the writer sends when a namespace is
    created (`services.api.service_accounts.default_service_account`)."""

    def __init__(self, authenticator: Authenticator, rbac: PolicySource, *,
                 bootstrap: dict[tuple[str, str], dict[str, Any]] | None = None) -> None:
        self._authn = authenticator
        self._rbac = rbac
        self._bootstrap = bootstrap or {}

    @property
    def policy(self) -> Policy:
        return self._rbac.policy

    def authenticate(self, headers: Any) -> UserInfo | None:
        return self._authn.of_record(headers)

    async def check(self, user: UserInfo, attrs: Attributes) -> Outcome | None:
        """None when RBAC allows `attrs`; else the Forbidden answer. A deny is asked again
        after a read barrier: a binding committed just before is then seen."""
        if not self.policy.authorize(user, attrs).allowed:
            await bounded_barrier(self._rbac.barrier(), what="rbac")
            decision = self.policy.authorize(user, attrs)
            if not decision.allowed:
                return rejected("Forbidden", forbidden_message(user, attrs, reason=decision.reason))
        return None

    async def authorize(self, user: UserInfo, request: WriteRequest, info: KindInfo,
                        current: dict[str, Any] | None) -> Outcome | None:
        """None when the request may proceed; else its Forbidden answer (RBAC by `check`,
        then NodeRestriction and the escalation check)."""
        if request.op is Op.ENSURE and self._bootstrap.get((request.kind, request.key)) == request.body:
            return None
        if is_default_service_account(request):
            return None
        attrs = request_attributes(request.op, info, namespace=request.namespace, name=request.name,
                                   exists=current is not None)
        if refusal := await self.check(user, attrs):
            return refusal
        obj = new_object(request, current)
        if problem := node_restriction(user, attrs, current, obj):
            return rejected("Forbidden", problem)
        if info.kind in RBAC_KINDS.values() and attrs.verb in WRITING_VERBS and obj is not None:
            if problem := escalation_problem(user, self.policy, obj, request.namespace or "", old=current):
                return rejected("Forbidden", problem)
        return None
