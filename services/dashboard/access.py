"""Who is asking and what they may see: the session cookie (or an `Authorization: Bearer`
header) to a caller, authenticated by the apiserver's door (the API's `authn.py`: token
file users and ServiceAccount tokens), and RBAC's answer to `list` for each kind and
namespace a view shows, asked once per kind and namespace per view. Used by
`services.dashboard.app` and `services.dashboard.streams`."""

from __future__ import annotations

import time
from collections.abc import Callable

from aiohttp import web

from services.api.rbac_policy import Attributes
from services.apiserver.auth import Caller, Door
from services.apiserver.http import status_response
from services.apiserver.status import failure, unauthorized
from services.dashboard.sessions import COOKIE, Sessions

GROUPS = {"deployments": "apps", "replicasets": "apps"}  # every other kind shown is in the core group


def caller_of(request: web.Request, door: Door, sessions: Sessions) -> Caller | None:
    """The request's caller: its bearer token if it sends one, else its session's; None
    when neither is a token the cluster accepts."""
    header = request.headers.get("Authorization")
    if header is None and (token := sessions.token(request.cookies.get(COOKIE), now=time.time())) is not None:
        header = f"Bearer {token}"
    return door.authenticate(header, None)


def may_list(door: Door, caller: Caller) -> Callable[[str, str], bool]:
    """RBAC's `list` decisions for `caller`, remembered for the life of one view."""
    decided: dict[tuple[str, str], bool] = {}

    def allowed(plural: str, namespace: str) -> bool:
        if (plural, namespace) not in decided:
            attrs = Attributes(verb="list", api_group=GROUPS.get(plural, ""), resource=plural, namespace=namespace)
            decided[(plural, namespace)] = door.allowed(caller, attrs)[0]
        return decided[(plural, namespace)]
    return allowed


def refused(door: Door, caller: Caller, attrs: Attributes) -> web.Response | None:
    """None when RBAC allows `attrs`; else the 403 `Status` in kube-apiserver's words."""
    message = door.forbidden(caller, attrs)
    return None if message is None else status_response(
        failure("Forbidden", message, kind=attrs.resource, name=attrs.name, group=attrs.api_group))


def unauthenticated() -> web.Response:
    return status_response(unauthorized())
