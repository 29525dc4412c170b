"""Kubernetes' `securityContext` models: the pod's (PodSecurityContext) and a container's
(SecurityContext), with their capabilities, seccomp, SELinux and sysctl parts.

`schemas.pod` keeps `securityContext` as an extra field (Pod Security admission reads it
as JSON); the kubelet parses it with these models (`services.kubelet.security_context`)
when it builds a container. Field names and enums are upstream's (core/v1 types.go).
"""

from __future__ import annotations

from typing import Any, Literal

from schemas.meta import Int64, KubeModel

ProcMountType = Literal["Default", "Unmasked"]
SeccompProfileType = Literal["RuntimeDefault", "Unconfined", "Localhost"]


class Capabilities(KubeModel):
    add: list[str] | None = None
    drop: list[str] | None = None


class SeccompProfile(KubeModel):
    type: SeccompProfileType
    localhost_profile: str | None = None


class SELinuxOptions(KubeModel):
    user: str | None = None
    role: str | None = None
    type: str | None = None
    level: str | None = None


class Sysctl(KubeModel):
    name: str
    value: str


class SecurityContext(KubeModel):
    """A container's securityContext; its fields override the pod's."""

    run_as_user: Int64 | None = None
    run_as_group: Int64 | None = None
    run_as_non_root: bool | None = None
    read_only_root_filesystem: bool | None = None
    privileged: bool | None = None
    allow_privilege_escalation: bool | None = None
    capabilities: Capabilities | None = None
    seccomp_profile: SeccompProfile | None = None
    proc_mount: ProcMountType | None = None
    se_linux_options: SELinuxOptions | None = None
    windows_options: dict[str, Any] | None = None


class PodSecurityContext(KubeModel):
    """The pod's securityContext: defaults for every container, plus pod-only fields."""

    run_as_user: Int64 | None = None
    run_as_group: Int64 | None = None
    run_as_non_root: bool | None = None
    supplemental_groups: list[Int64] | None = None
    fs_group: Int64 | None = None
    fs_group_change_policy: Literal["OnRootMismatch", "Always"] | None = None
    seccomp_profile: SeccompProfile | None = None
    se_linux_options: SELinuxOptions | None = None
    sysctls: list[Sysctl] | None = None
    windows_options: dict[str, Any] | None = None
