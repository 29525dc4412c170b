"""Impersonation, as kube-apiserver's `Impersonate-User` / `Impersonate-Group` headers: a
request record carrying `kafkube.impersonate-user` (and any `kafkube.impersonate-group`)
is decided as that user once RBAC allows its authenticated sender `impersonate` on
`users/<name>` and on every `groups/<group>`. The HTTP API sends its client-certificate
callers' writes this way: they hold no token to carry, and the API (not the front door)
decides every write. Whoever may impersonate is as powerful as the users they may name,
so the default policy grants it to the apiserver's own identity only
(`services.api.rbac_bootstrap`). Pure."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from schemas.auth import AUTHENTICATED_GROUP, IMPERSONATE_GROUP_HEADER, IMPERSONATE_USER_HEADER, UserInfo
from services.api.rbac import Attributes


IMPERSONATED_BY = "kafkube.io/impersonated-by"
"""The audit annotation naming who sent a request decided as another user."""


@dataclass(frozen=True, slots=True)
class Impersonation:
    user: str
    groups: tuple[str, ...]


def requested(headers: Iterable[tuple[str, bytes]] | None) -> Impersonation | None:
    """The impersonation a record asks for; None when it asks none (groups without a user
    are ignored, as upstream refuses them: there is no user to give them to)."""
    user, groups = None, []
    for key, value in headers or ():
        if key == IMPERSONATE_USER_HEADER:
            user = value.decode("utf-8", "replace")
        elif key == IMPERSONATE_GROUP_HEADER:
            groups.append(value.decode("utf-8", "replace"))
    return Impersonation(user, tuple(groups)) if user else None


def checks(impersonation: Impersonation) -> list[Attributes]:
    """What the sender must be allowed: `impersonate` on the user and on each group."""
    return [Attributes("impersonate", "", "users", "", "", impersonation.user),
            *(Attributes("impersonate", "", "groups", "", "", group) for group in impersonation.groups)]


def as_user(impersonation: Impersonation) -> UserInfo:
    """The user the request is decided as: the named one, its groups and
    `system:authenticated`, as upstream adds it."""
    groups = tuple(dict.fromkeys((*impersonation.groups, AUTHENTICATED_GROUP)))
    return UserInfo(username=impersonation.user, groups=groups)
