"""The API's view of RBAC: follows the four RBAC desired topics (every partition) and
keeps a `services.api.rbac.Policy` equal to what they hold, record by record.

Used by the API's writer: `await view.start()`, `await view.wait_synced()` before the
first decision (never authorise against a policy not yet read), then `view.policy`.
RBAC, like Kubernetes' informer-fed authorizer, is eventually consistent: a binding
committed a moment ago may not be seen yet, so on a deny the writer may
`await view.barrier()` and ask again. `bootstrap_requests()` are the ENSURE requests for
the default roles and bindings, sent once at startup (like the built-in namespaces).
"""

from __future__ import annotations

from typing import Any

import orjson

from schemas.auth import API_USER
from schemas.records import Op, WriteRequest
from services.api.rbac import RBAC_KINDS, Policy, bootstrap_policy
from services.runtime.buskeys import bus_trust
from services.runtime.config import Settings
from services.runtime.informer import Change, Informer
from services.runtime.topics import Topics
from services.runtime.trust import BusTrust


def _decode(_topic: str, raw: bytes) -> Any:
    return orjson.loads(raw)


class RbacView:
    """A live `Policy` over `kafkube.desired.{roles,clusterroles,rolebindings,clusterrolebindings}`."""

    def __init__(self, settings: Settings, topics: Topics, *, name: str = "api-rbac",
                 trust: BusTrust | None = None) -> None:
        """Only records the API signed count (`trust`: this process's bus keys by default)."""
        self._kinds = {topics.desired(plural): kind for plural, kind in RBAC_KINDS.items()}
        # The default roles and bindings count until their records are read: every API
        # ensures them at start, so their absence is only a moment (a kubelet registering
        # while a fresh cluster boots must not be refused); a stored record replaces each.
        self._policy = Policy.of(bootstrap_policy())
        self._informer: Informer[Any] = Informer(settings, list(self._kinds), decoder=_decode, name=name,
                                                 trust=trust or bus_trust(settings))
        self._informer.add_handler(self._on_change)

    def _on_change(self, change: Change[Any]) -> None:
        new = change.new if isinstance(change.new, dict) else None
        self._policy.apply(self._kinds[change.topic], change.key, new)

    @property
    def policy(self) -> Policy:
        """The current policy; it changes in place as records arrive (read, never mutate)."""
        return self._policy

    @property
    def synced(self) -> bool:
        return self._informer.synced

    async def start(self) -> None:
        """Start following; returns at once (see `wait_synced`)."""
        await self._informer.start()

    async def wait_synced(self) -> None:
        """Wait until the policy holds everything committed when the view started."""
        await self._informer.wait_synced()

    async def barrier(self) -> None:
        """Wait until the policy holds everything committed now."""
        await self._informer.barrier()

    async def stop(self) -> None:
        await self._informer.stop()

    async def __aenter__(self) -> RbacView:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


def bootstrap_requests() -> list[WriteRequest]:
    """ENSURE requests for the default ClusterRoles and ClusterRoleBindings: created where
    missing, left alone where present (an admin's edits survive a restart)."""
    return [WriteRequest(op=Op.ENSURE, apiVersion=obj["apiVersion"], kind=obj["kind"],
                         name=obj["metadata"]["name"], body=obj, writer="api",
                         principal=API_USER, reply=False)
            for obj in bootstrap_policy()]
