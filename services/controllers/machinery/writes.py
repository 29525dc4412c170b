"""What a controller's action points at (`Target`: kind, name, resourceVersion of one
desired object) and the write requests built from it. Pure; used by the pure
reconciles of the cluster controllers (actions carry Targets) and their executors."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from schemas.records import Op, WriteRequest

Policy = Literal["Background", "Foreground", "Orphan"]


@dataclass(frozen=True, slots=True)
class Target:
    """One desired object as a request names it; `resource_version` is the version
    the decision was made against (sent as expectedResourceVersion)."""

    api_version: str
    kind: str
    name: str
    namespace: str | None = None
    uid: str | None = None
    resource_version: str | None = None

    @classmethod
    def of(cls, obj: dict[str, Any]) -> "Target":
        meta = obj.get("metadata") or {}
        return cls(api_version=obj.get("apiVersion", "v1"), kind=obj.get("kind", ""),
                   name=meta.get("name", ""), namespace=meta.get("namespace"),
                   uid=meta.get("uid"), resource_version=meta.get("resourceVersion"))

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}" if self.namespace else self.name

    def __str__(self) -> str:
        return f"{self.kind} {self.key}"


def delete_request(target: Target, *, writer: str, grace_period_seconds: int | None = None,
                   policy: Policy | None = None, precondition: bool = True) -> WriteRequest:
    return WriteRequest(op=Op.DELETE, apiVersion=target.api_version, kind=target.kind,
                        namespace=target.namespace, name=target.name,
                        gracePeriodSeconds=grace_period_seconds, propagationPolicy=policy,
                        expectedResourceVersion=target.resource_version if precondition else None,
                        writer=writer, principal=f"system:controller:{writer}", reply=False)


def patch_request(target: Target, body: dict[str, Any], *, writer: str) -> WriteRequest:
    """A JSON merge patch of `target`, valid only against the version decided on."""
    return WriteRequest(op=Op.PATCH, apiVersion=target.api_version, kind=target.kind,
                        namespace=target.namespace, name=target.name, body=body,
                        expectedResourceVersion=target.resource_version,
                        writer=writer, principal=f"system:controller:{writer}", reply=False)


def create_request(target: Target, body: dict[str, Any], *, writer: str) -> WriteRequest:
    """A CREATE of `target` (a replay of it is answered AlreadyExists)."""
    return WriteRequest(op=Op.CREATE, apiVersion=target.api_version, kind=target.kind,
                        namespace=target.namespace, name=target.name, body=body,
                        writer=writer, principal=f"system:controller:{writer}", reply=False)
