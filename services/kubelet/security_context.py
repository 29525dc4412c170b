"""From a pod's and a container's securityContext to the runtime's ContainerSecurity (pure).

Kubernetes' precedence (upstream `securitycontext.DetermineEffectiveSecurityContext`):
the pod's runAsUser, runAsGroup, runAsNonRoot, seLinuxOptions, seccompProfile and
windowsOptions are defaults that a container's own field overrides; capabilities,
privileged, readOnlyRootFilesystem, allowPrivilegeEscalation and procMount are the
container's alone; supplementalGroups, fsGroup and sysctls are the pod's alone.

runAsNonRoot is checked as upstream's `verifyRunAsNonRoot` does, against the effective
runAsUser or else the image's configured user (`ImageUser`, asked of the runtime only
when `needs_image_user` says so), with upstream's messages. Deviation, on purpose: an
unset seccompProfile means the runtime's default profile (kubelet `--seccomp-default`).

`services.kubelet.container_config` calls `container_security` for each container it
configures (a `SecurityContextError` becomes CreateContainerConfigError there); the sync
calls `needs_image_user` and `pod_sysctls` (for the sandbox); `services.kubelet.fs_group`
reads `fs_group`.
"""

from __future__ import annotations

import posixpath

from pydantic import ValidationError

from schemas.pod import Container, Pod
from schemas.security_context import (
    PodSecurityContext, SeccompProfile, SeccompProfileType, SecurityContext, SELinuxOptions,
)
from services.kubelet.runtime.base import ContainerSecurity, ImageUser, SELinuxLabel
from services.runtime.logging import get_logger

log = get_logger(__name__)
MAX_USER_ID = 2**31 - 1


class SecurityContextError(ValueError):
    """The securityContext cannot be honoured (the container is not created)."""


def pod_security_context(pod: Pod) -> PodSecurityContext:
    raw = (pod.spec.model_extra or {}).get("securityContext") if pod.spec else None
    try:
        return PodSecurityContext.model_validate(raw or {})
    except ValidationError as exc:
        raise SecurityContextError(f"invalid pod securityContext: {_first(exc)}") from None


def container_security_context(container: Container) -> SecurityContext:
    raw = (container.model_extra or {}).get("securityContext")
    try:
        return SecurityContext.model_validate(raw or {})
    except ValidationError as exc:
        raise SecurityContextError(f"invalid securityContext of container {container.name}: {_first(exc)}") from None


def effective(pod_sc: PodSecurityContext, container_sc: SecurityContext) -> SecurityContext:
    """The container's settings with the pod's defaults filled in where it sets none."""
    inherited = {
        "run_as_user": pod_sc.run_as_user, "run_as_group": pod_sc.run_as_group,
        "run_as_non_root": pod_sc.run_as_non_root, "se_linux_options": pod_sc.se_linux_options,
        "seccomp_profile": pod_sc.seccomp_profile, "windows_options": pod_sc.windows_options,
    }
    own = container_sc.model_dump(exclude_unset=True, exclude_none=True)
    update = {k: v for k, v in inherited.items() if k not in own and v is not None}
    return container_sc.model_copy(update=update)


def needs_image_user(pod: Pod, container: Container) -> bool:
    """Whether building this container needs the image's user: runAsNonRoot or runAsGroup
    set without a runAsUser. An invalid securityContext needs none (`container_security`
    reports it)."""
    try:
        sc = effective(pod_security_context(pod), container_security_context(container))
    except SecurityContextError:
        return False
    return sc.run_as_user is None and (bool(sc.run_as_non_root) or sc.run_as_group is not None)


def container_security(pod: Pod, container: Container, *, image_user: ImageUser | None) -> ContainerSecurity:
    """The runtime settings for `container`; raises SecurityContextError when runAsNonRoot
    cannot be verified or a seccomp profile is unusable."""
    pod_sc = pod_security_context(pod)
    sc = effective(pod_sc, container_security_context(container))
    verify_run_as_non_root(pod, container, sc, image_user)
    if sc.windows_options:
        log.info("security_context.windows_options_ignored", pod=_describe(pod), container=container.name)
    groups = ([pod_sc.fs_group] if pod_sc.fs_group is not None else []) + list(pod_sc.supplemental_groups or [])
    caps = sc.capabilities
    seccomp, localhost = _seccomp(sc.seccomp_profile)
    username = None
    if sc.run_as_user is None and sc.run_as_group is not None and image_user is not None:
        uid, name = _image_identity(image_user)
        username = name or str(uid)
    return ContainerSecurity(
        run_as_user=sc.run_as_user, run_as_username=username, run_as_group=sc.run_as_group,
        supplemental_groups=list(dict.fromkeys(groups)), privileged=bool(sc.privileged),
        read_only_rootfs=bool(sc.read_only_root_filesystem),
        cap_add=[capability(c) for c in (caps.add if caps else None) or []],
        cap_drop=[capability(c) for c in (caps.drop if caps else None) or []],
        no_new_privs=sc.allow_privilege_escalation is False, seccomp=seccomp, seccomp_localhost=localhost,
        unmasked_proc=sc.proc_mount == "Unmasked", selinux=_selinux(sc.se_linux_options),
    )


def verify_run_as_non_root(pod: Pod, container: Container, sc: SecurityContext,
                           image_user: ImageUser | None) -> None:
    """Upstream's verifyRunAsNonRoot (kuberuntime/security_context_others.go), its messages
    word for word. An image with neither uid nor name runs as root."""
    if not sc.run_as_non_root:
        return
    where = f'(pod: "{_describe(pod)}", container: {container.name})'
    if sc.run_as_user is not None:
        if sc.run_as_user == 0:
            raise SecurityContextError(f"container's runAsUser breaks non-root policy {where}")
        return
    uid, name = _image_identity(image_user or ImageUser())
    if uid is None:
        raise SecurityContextError(f"container has runAsNonRoot and image has non-numeric user "
                                   f"({name}), cannot verify user is non-root {where}")
    if uid == 0:
        raise SecurityContextError(f"container has runAsNonRoot and image will run as root {where}")
    if not 0 <= uid <= MAX_USER_ID:
        raise SecurityContextError(
            f"container has runAsNonRoot and image has an invalid user id ({uid}). (Must be 1-({MAX_USER_ID})): "
            f"must be between 0 and {MAX_USER_ID}, inclusive {where}")


def capability(name: str) -> str:
    """`net_raw`, `NET_RAW` and `CAP_NET_RAW` all mean CAP_NET_RAW; `ALL` stays ALL."""
    upper = name.strip().upper()
    return upper if upper == "ALL" or upper.startswith("CAP_") else f"CAP_{upper}"


def pod_sysctls(pod: Pod) -> dict[str, str]:
    """The pod's sysctls, set on its sandbox (their namespaces are the sandbox's); none when
    the securityContext is invalid (its containers are refused by `container_security`)."""
    try:
        return {s.name: s.value for s in pod_security_context(pod).sysctls or []}
    except SecurityContextError:
        return {}


def fs_group(pod: Pod) -> int | None:
    """The pod's fsGroup (`services.kubelet.fs_group` applies it to the pod's volumes)."""
    return pod_security_context(pod).fs_group


def _image_identity(user: ImageUser) -> tuple[int | None, str]:
    """Upstream's getImageUser: the uid, else the name; an image with neither runs as root."""
    if user.uid is not None:
        return user.uid, ""
    return (None, user.username) if user.username else (0, "")


def _seccomp(profile: SeccompProfile | None) -> tuple[SeccompProfileType, str | None]:
    if profile is None or profile.type == "RuntimeDefault":
        return "RuntimeDefault", None
    if profile.type == "Unconfined":
        return "Unconfined", None
    name = profile.localhost_profile or ""
    if not name:
        raise SecurityContextError("localhostProfile must be set if seccompProfile type is Localhost.")
    if posixpath.isabs(name) or ".." in name.split("/"):
        raise SecurityContextError(f'seccomp profile "{name}" must be a relative path inside the '
                                   "kubelet's seccomp directory (no absolute path, no '..')")
    return "Localhost", posixpath.normpath(name)


def _selinux(options: SELinuxOptions | None) -> SELinuxLabel | None:
    if options is None:
        return None
    return SELinuxLabel(user=options.user or "", role=options.role or "", type=options.type or "",
                        level=options.level or "")


def _describe(pod: Pod) -> str:
    """Upstream's format.Pod: `name_namespace(uid)`."""
    meta = pod.metadata
    assert meta is not None
    return f"{meta.name}_{meta.namespace or 'default'}({meta.uid})"


def _first(exc: ValidationError) -> str:
    error = exc.errors()[0]
    return f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}"
