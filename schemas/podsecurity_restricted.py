"""The Pod Security Standards' restricted checks, as upstream's pod-security-admission words them.

Registered by ``schemas.podsecurity``; some override a baseline check at the restricted level
(restricted volumes replace hostPath volumes, restricted capabilities and seccomp replace
their baseline forms, and from v1.35 the unconditional procMount check replaces baseline's).
"""

from __future__ import annotations

from schemas.podsecurity_baseline import proc_mount, seccomp_explicit, seccomp_violation
from schemas.podsecurity_common import (
    Check,
    Json,
    VersionedCheck,
    Violation,
    containers,
    containers_phrase,
    in_user_namespace,
    is_windows,
    items,
    join_quote,
    name_of,
    obj,
    pluralize,
    security_context,
    text,
)


def allow_privilege_escalation(meta: Json, spec: Json) -> Violation | None:
    bad = [name_of(c) for c in containers(spec)
           if security_context(c).get("allowPrivilegeEscalation") is not False]
    if not bad:
        return None
    return Violation("allowPrivilegeEscalation != false", f"{containers_phrase(bad)} must set "
                     "securityContext.allowPrivilegeEscalation=false")


def allow_privilege_escalation_1_25(meta: Json, spec: Json) -> Violation | None:
    return None if is_windows(spec) else allow_privilege_escalation(meta, spec)


def capabilities_restricted(meta: Json, spec: Json) -> Violation | None:
    missing_drop: list[str] = []
    adding: list[str] = []
    added: set[str] = set()
    for c in containers(spec):
        caps = obj(security_context(c).get("capabilities"))
        if "ALL" not in items(caps.get("drop")):
            missing_drop.append(name_of(c))
        extra = {text(cap) for cap in items(caps.get("add")) if cap != "NET_BIND_SERVICE"}
        if extra:
            adding.append(name_of(c))
            added |= extra
    details = []
    if missing_drop:
        details.append(f'{containers_phrase(missing_drop)} must set '
                       'securityContext.capabilities.drop=["ALL"]')
    if adding:
        details.append(f"{containers_phrase(adding)} must not include {join_quote(sorted(added))} "
                       "in securityContext.capabilities.add")
    return Violation("unrestricted capabilities", "; ".join(details)) if details else None


def capabilities_restricted_1_25(meta: Json, spec: Json) -> Violation | None:
    return None if is_windows(spec) else capabilities_restricted(meta, spec)


ALLOWED_VOLUME_SOURCES = ("configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "image",
                          "persistentVolumeClaim", "projected", "secret")
RESTRICTED_VOLUME_SOURCES = (
    "hostPath", "gcePersistentDisk", "awsElasticBlockStore", "gitRepo", "nfs", "iscsi",
    "glusterfs", "rbd", "flexVolume", "cinder", "cephfs", "flocker", "fc", "azureFile",
    "vsphereVolume", "quobyte", "azureDisk", "photonPersistentDisk", "portworxVolume",
    "scaleIO", "storageos",
)


def _volume_type(volume: Json) -> str | None:
    """None for an allowed source, else the restricted source's name (or ``unknown``)."""
    if any(volume.get(key) is not None for key in ALLOWED_VOLUME_SOURCES):
        return None
    return next((k for k in RESTRICTED_VOLUME_SOURCES if volume.get(k) is not None), "unknown")


def restricted_volumes(meta: Json, spec: Json) -> Violation | None:
    bad: list[str] = []
    kinds: set[str] = set()
    for volume in map(obj, items(spec.get("volumes"))):
        kind = _volume_type(volume)
        if kind is not None:
            bad.append(text(volume.get("name")))
            kinds.add(kind)
    if not bad:
        return None
    return Violation("restricted volume types", " ".join([
        pluralize("volume", "volumes", len(bad)), join_quote(bad),
        pluralize("uses", "use", len(bad)),
        pluralize("restricted volume type", "restricted volume types", len(kinds)),
        join_quote(sorted(kinds))]))


def run_as_non_root(meta: Json, spec: Json) -> Violation | None:
    pod_value = security_context(spec).get("runAsNonRoot")
    setters = ["pod"] if pod_value is False else []
    explicit: list[str] = []
    implicit: list[str] = []
    for c in containers(spec):
        value = security_context(c).get("runAsNonRoot")
        if value is False:
            explicit.append(name_of(c))
        elif value is None and pod_value is not True:
            implicit.append(name_of(c))
    if explicit:
        setters.append(containers_phrase(explicit))
    if setters:
        return Violation("runAsNonRoot != true", f"{' and '.join(setters)} must not set "
                                                 "securityContext.runAsNonRoot=false")
    if implicit:
        return Violation("runAsNonRoot != true", f"pod or {containers_phrase(implicit)} must set "
                                                 "securityContext.runAsNonRoot=true")
    return None


def run_as_non_root_1_35(meta: Json, spec: Json) -> Violation | None:
    return None if in_user_namespace(spec) else run_as_non_root(meta, spec)


def _root(holder: Json) -> bool:
    value = security_context(holder).get("runAsUser")
    return value == 0 and not isinstance(value, bool)


def run_as_user(meta: Json, spec: Json) -> Violation | None:
    setters = ["pod"] if _root(spec) else []
    bad = [name_of(c) for c in containers(spec) if _root(c)]
    if bad:
        setters.append(containers_phrase(bad))
    if not setters:
        return None
    return Violation("runAsUser=0", f"{' and '.join(setters)} must not set runAsUser=0")


def run_as_user_1_35(meta: Json, spec: Json) -> Violation | None:
    return None if in_user_namespace(spec) else run_as_user(meta, spec)


def seccomp_restricted(meta: Json, spec: Json) -> Violation | None:
    setters, values = seccomp_explicit(spec)
    if setters:
        return seccomp_violation(setters, values)
    pod_set = security_context(spec).get("seccompProfile") is not None
    implicit = [name_of(c) for c in containers(spec)
                if security_context(c).get("seccompProfile") is None and not pod_set]
    if not implicit:
        return None
    return Violation("seccompProfile", f"pod or {containers_phrase(implicit)} must set "
                     'securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"')


def seccomp_restricted_1_25(meta: Json, spec: Json) -> Violation | None:
    return None if is_windows(spec) else seccomp_restricted(meta, spec)


def _check(check_id: str, *versions: VersionedCheck) -> Check:
    return Check(check_id, "restricted", versions)


CHECKS: tuple[Check, ...] = (
    _check("allowPrivilegeEscalation", VersionedCheck(8, allow_privilege_escalation),
           VersionedCheck(25, allow_privilege_escalation_1_25)),
    _check("capabilities_restricted",
           VersionedCheck(22, capabilities_restricted, ("capabilities_baseline",)),
           VersionedCheck(25, capabilities_restricted_1_25, ("capabilities_baseline",))),
    _check("procMount_restricted", VersionedCheck(35, proc_mount, ("procMount",))),
    _check("restrictedVolumes", VersionedCheck(0, restricted_volumes, ("hostPathVolumes",))),
    _check("runAsNonRoot", VersionedCheck(0, run_as_non_root),
           VersionedCheck(35, run_as_non_root_1_35)),
    _check("runAsUser", VersionedCheck(23, run_as_user), VersionedCheck(35, run_as_user_1_35)),
    _check("seccompProfile_restricted",
           VersionedCheck(19, seccomp_restricted, ("seccompProfile_baseline",)),
           VersionedCheck(25, seccomp_restricted_1_25, ("seccompProfile_baseline",))),
)
