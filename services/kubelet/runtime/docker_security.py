"""ContainerSecurity as Docker Engine API fields (pure).

`docker_config.container_body` calls `docker_user` (the body's `User`) and
`security_host_config` (fields merged into `HostConfig`); DockerRuntime reads a Localhost
seccomp profile's file and hands its text in, as the docker CLI does for
`--security-opt seccomp=<file>`.

| ContainerSecurity | Docker |
|---|---|
| run_as_user / run_as_group | `User` "uid" or "uid:gid" ("name:gid" when only the group is set) |
| supplemental_groups (fsGroup first) | `HostConfig.GroupAdd` |
| privileged / read_only_rootfs | `Privileged` / `ReadonlyRootfs` |
| cap_add / cap_drop | `CapAdd` / `CapDrop` ("CAP_X" names, or "ALL") |
| no_new_privs | `SecurityOpt` "no-new-privileges" |
| seccomp RuntimeDefault / Unconfined / Localhost | nothing (the Engine's default profile) / "seccomp=unconfined" / "seccomp=<profile JSON>" |
| unmasked_proc | `MaskedPaths: []`, `ReadonlyPaths: []` |
| selinux | `SecurityOpt` "label=user:U", "label=role:R", "label=type:T", "label=level:L" |
"""

from __future__ import annotations

from typing import Any

from services.kubelet.runtime.base import ContainerSecurity

JSON = dict[str, Any]


def docker_user(security: ContainerSecurity) -> str | None:
    """The container's `User`, or None to keep the image's."""
    user = str(security.run_as_user) if security.run_as_user is not None else security.run_as_username
    if user is None:
        return None
    return f"{user}:{security.run_as_group}" if security.run_as_group is not None else user


def security_host_config(security: ContainerSecurity, *, seccomp_profile: str | None = None) -> JSON:
    """HostConfig fields for `security`; `seccomp_profile` is the Localhost profile's JSON."""
    host: JSON = {}
    if security.supplemental_groups:
        host["GroupAdd"] = [str(g) for g in security.supplemental_groups]
    if security.privileged:
        host["Privileged"] = True
    if security.read_only_rootfs:
        host["ReadonlyRootfs"] = True
    if security.cap_add:
        host["CapAdd"] = list(security.cap_add)
    if security.cap_drop:
        host["CapDrop"] = list(security.cap_drop)
    if security.unmasked_proc:
        host["MaskedPaths"] = []
        host["ReadonlyPaths"] = []
    options = security_options(security, seccomp_profile=seccomp_profile)
    if options:
        host["SecurityOpt"] = options
    return host


def security_options(security: ContainerSecurity, *, seccomp_profile: str | None = None) -> list[str]:
    options: list[str] = []
    if security.no_new_privs:
        options.append("no-new-privileges")
    if security.seccomp == "Unconfined":
        options.append("seccomp=unconfined")
    elif security.seccomp == "Localhost":
        if seccomp_profile is None:
            raise ValueError("a Localhost seccomp profile needs the profile's text")
        options.append(f"seccomp={seccomp_profile}")
    if security.selinux is not None:
        parts = security.selinux.model_dump()
        options += [f"label={part}:{value}" for part, value in parts.items() if value]
    return options
