"""The assume cache: pods this scheduler asked to bind, counted on their node
until the desired-pods informer shows how the API decided.

Every outcome of a BIND is visible on `kafkube.desired.pods` (the API orders writes
per key): the pod bound to our node (confirmed), bound elsewhere (lost to another
replica), changed while still unbound or deleted (rejected). So an assumption
lives until the informer resolves it; a long TTL only guards against bugs. Pure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Verdict = Literal["pending", "confirmed", "lost", "rejected"]
DEFAULT_TTL_S = 300.0


@dataclass(frozen=True, slots=True)
class Assumption:
    node: str
    resource_version: str | None
    deadline: float


class AssumeCache:
    def __init__(self, *, ttl_s: float = DEFAULT_TTL_S) -> None:
        self._ttl_s = ttl_s
        self._assumed: dict[str, Assumption] = {}

    def assume(self, key: str, node: str, resource_version: str | None, *, now: float) -> None:
        self._assumed[key] = Assumption(node, resource_version, now + self._ttl_s)

    def get(self, key: str) -> Assumption | None:
        return self._assumed.get(key)

    def forget(self, key: str) -> None:
        self._assumed.pop(key, None)

    def __len__(self) -> int:
        return len(self._assumed)

    def settle(self, key: str, pod: dict[str, Any] | None) -> Verdict | None:
        """Resolve the assumption of `key` against the pod's latest desired record."""
        assumption = self._assumed.get(key)
        if assumption is None:
            return None
        verdict = verdict_for(assumption, pod)
        if verdict != "pending":
            del self._assumed[key]
        return verdict

    def expired(self, *, now: float) -> list[str]:
        """Drop and return the assumptions past their deadline."""
        gone = [k for k, a in self._assumed.items() if a.deadline <= now]
        for key in gone:
            del self._assumed[key]
        return gone

    def nodes(self) -> set[str]:
        return {a.node for a in self._assumed.values()}


def verdict_for(assumption: Assumption, pod: dict[str, Any] | None) -> Verdict:
    if pod is None:
        return "rejected"
    bound = (pod.get("spec") or {}).get("nodeName")
    if bound:
        return "confirmed" if bound == assumption.node else "lost"
    meta = pod.get("metadata") or {}
    if meta.get("deletionTimestamp") or meta.get("resourceVersion") != assumption.resource_version:
        return "rejected"
    return "pending"
