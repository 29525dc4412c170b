"""The Pod Security Standards' baseline checks, as upstream's pod-security-admission words them.

Registered by ``schemas.podsecurity`` (which also runs them at the restricted level, unless a
restricted check overrides one). Each check takes the pod's metadata and spec as JSON and
returns a ``Violation`` or None; lists of names keep the pod's order, sets are sorted.
"""

from __future__ import annotations

from functools import partial

from schemas.podsecurity_common import (
    Check,
    CheckFn,
    Json,
    VersionedCheck,
    Violation,
    containers,
    containers_phrase,
    go_quote,
    in_user_namespace,
    items,
    join_quote,
    name_of,
    obj,
    pluralize,
    security_context,
    text,
)


def host_namespaces(meta: Json, spec: Json) -> Violation | None:
    used = [f"{key}=true" for key in ("hostNetwork", "hostPID", "hostIPC") if spec.get(key) is True]
    return Violation("host namespaces", ", ".join(used)) if used else None


def privileged(meta: Json, spec: Json) -> Violation | None:
    bad = [name_of(c) for c in containers(spec) if security_context(c).get("privileged") is True]
    if not bad:
        return None
    return Violation("privileged", f"{containers_phrase(bad)} must not set "
                                   "securityContext.privileged=true")


DEFAULT_CAPABILITIES = frozenset({
    "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
    "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
})


def capabilities_baseline(meta: Json, spec: Json) -> Violation | None:
    bad: list[str] = []
    added: set[str] = set()
    for c in containers(spec):
        caps = obj(security_context(c).get("capabilities"))
        extra = {text(cap) for cap in items(caps.get("add"))}
        extra -= DEFAULT_CAPABILITIES
        if extra:
            bad.append(name_of(c))
            added |= extra
    if not bad:
        return None
    return Violation("non-default capabilities", f"{containers_phrase(bad)} must not include "
                     f"{join_quote(sorted(added))} in securityContext.capabilities.add")


def host_path_volumes(meta: Json, spec: Json) -> Violation | None:
    vols = [text(obj(v).get("name")) for v in items(spec.get("volumes"))
            if obj(v).get("hostPath") is not None]
    if not vols:
        return None
    return Violation("hostPath volumes", f"{pluralize('volume', 'volumes', len(vols))} "
                                         f"{join_quote(vols)}")


def host_ports(meta: Json, spec: Json) -> Violation | None:
    bad: list[str] = []
    ports: set[str] = set()
    for c in containers(spec):
        used = {str(p.get("hostPort")) for p in map(obj, items(c.get("ports")))
                if p.get("hostPort") not in (None, 0)}
        if used:
            bad.append(name_of(c))
            ports |= used
    if not bad:
        return None
    return Violation("hostPort", f"{containers_phrase(bad)} {pluralize('uses', 'use', len(bad))} "
                     f"{pluralize('hostPort', 'hostPorts', len(ports))} {', '.join(sorted(ports))}")


def _handler_hosts(handler: object) -> list[str]:
    hosts = [text(obj(obj(handler).get(kind)).get("host")) for kind in ("httpGet", "tcpSocket")]
    return [h for h in hosts if h]


def host_probes_and_lifecycle(meta: Json, spec: Json) -> Violation | None:
    bad: set[str] = set()
    hosts: set[str] = set()
    for c in containers(spec):
        lifecycle = obj(c.get("lifecycle"))
        handlers = [c.get("livenessProbe"), c.get("readinessProbe"), c.get("startupProbe"),
                    lifecycle.get("postStart"), lifecycle.get("preStop")]
        found = [h for handler in handlers for h in _handler_hosts(handler)]
        if found:
            bad.add(name_of(c))
            hosts.update(found)
    if not bad:
        return None
    return Violation("probe or lifecycle host", " ".join([
        containers_phrase(sorted(bad)), pluralize("uses", "use", len(bad)),
        pluralize("probe or lifecycle host", "probe or lifecycle hosts", len(hosts)),
        join_quote(sorted(hosts))]))


APPARMOR_ANNOTATION_PREFIX = "container.apparmor.security.beta.kubernetes.io/"


def _apparmor_annotation_ok(value: str) -> bool:
    return value in ("", "runtime/default") or value.startswith("localhost/")


def _bad_profile_type(holder: Json, field: str, allowed: tuple[str, ...]) -> str | None:
    """The profile type ``holder.securityContext.<field>`` sets when not allowed, else None."""
    profile = security_context(holder).get(field)
    if profile is None:
        return None
    kind = text(obj(profile).get("type"))
    return None if kind in allowed else kind


def _setters(pod_bad: bool, bad_containers: list[str]) -> list[str]:
    setters = ["pod"] if pod_bad else []
    return setters + ([containers_phrase(bad_containers)] if bad_containers else [])


def app_armor_profile(meta: Json, spec: Json) -> Violation | None:
    allowed = ("RuntimeDefault", "Localhost")
    values: set[str] = set()
    pod_value = _bad_profile_type(spec, "appArmorProfile", allowed)
    if pod_value is not None:
        values.add(pod_value)
    bad: list[str] = []
    for c in containers(spec):
        value = _bad_profile_type(c, "appArmorProfile", allowed)
        if value is not None:
            bad.append(name_of(c))
            values.add(value)
    setters = _setters(pod_value is not None, bad)
    annotations = sorted(
        f"{key}={go_quote(text(value))}" for key, value in obj(meta.get("annotations")).items()
        if key.startswith(APPARMOR_ANNOTATION_PREFIX) and not _apparmor_annotation_ok(text(value)))
    shown = sorted(values) + annotations
    if annotations:
        setters.append(pluralize("annotation", "annotations", len(annotations)))
    if not setters:
        return None
    reason = pluralize("forbidden AppArmor profile", "forbidden AppArmor profiles", len(shown))
    return Violation(reason, f"{' and '.join(setters)} must not set AppArmor profile type to "
                             f"{join_quote(shown)}")


SELINUX_TYPES_1_0 = frozenset({"", "container_t", "container_init_t", "container_kvm_t"})
SELINUX_TYPES_1_31 = SELINUX_TYPES_1_0 | {"container_engine_t"}


def selinux_options(meta: Json, spec: Json, *, allowed: frozenset[str]) -> Violation | None:
    types: set[str] = set()
    set_fields: set[str] = set()

    def bad(holder: Json) -> bool:
        options = security_context(holder).get("seLinuxOptions")
        if options is None:
            return False
        opts = obj(options)
        found = {f for f in ("user", "role") if text(opts.get(f))}
        set_fields.update(found)
        if text(opts.get("type")) not in allowed:
            types.add(text(opts.get("type")))
            return True
        return bool(found)

    setters = _setters(bad(spec), [name_of(c) for c in containers(spec) if bad(c)])
    if not setters:
        return None
    data = []
    if types:
        data.append(f"{pluralize('type', 'types', len(types))} {join_quote(sorted(types))}")
    data += [f"{f} may not be set" for f in ("user", "role") if f in set_fields]
    return Violation("seLinuxOptions", f"{' and '.join(setters)} set forbidden "
                     f"securityContext.seLinuxOptions: {'; '.join(data)}")


def proc_mount(meta: Json, spec: Json) -> Violation | None:
    """Unconditional before v1.35; the restricted level keeps it so from v1.35 on."""
    bad: list[str] = []
    kinds: set[str] = set()
    for c in containers(spec):
        value = security_context(c).get("procMount")
        if value is not None and value != "Default":
            bad.append(name_of(c))
            kinds.add(text(value))
    if not bad:
        return None
    return Violation("procMount", f"{containers_phrase(bad)} must not set "
                                  f"securityContext.procMount to {join_quote(sorted(kinds))}")


def proc_mount_1_35(meta: Json, spec: Json) -> Violation | None:
    return None if in_user_namespace(spec) else proc_mount(meta, spec)


SECCOMP_POD_ANNOTATION = "seccomp.security.alpha.kubernetes.io/pod"
SECCOMP_CONTAINER_PREFIX = "container.seccomp.security.alpha.kubernetes.io/"
SECCOMP_TYPES = ("RuntimeDefault", "Localhost")


def seccomp_annotations(meta: Json, spec: Json) -> Violation | None:
    """Policy versions before v1.19 read the alpha annotations instead of the fields."""
    annotations = obj(meta.get("annotations"))
    keys = [SECCOMP_POD_ANNOTATION]
    keys += [SECCOMP_CONTAINER_PREFIX + name_of(c) for c in containers(spec)]
    forbidden = sorted({
        f"{key}={go_quote(text(annotations[key]))}" for key in keys if key in annotations
        and not (text(annotations[key]) in ("runtime/default", "docker/default")
                 or text(annotations[key]).startswith("localhost/"))})
    if not forbidden:
        return None
    noun = pluralize("annotation", "annotations", len(forbidden))
    return Violation("seccompProfile", f"forbidden {noun} {', '.join(forbidden)}")


def seccomp_explicit(spec: Json) -> tuple[list[str], set[str]]:
    """Who sets seccompProfile.type to a forbidden value, and the values; shared with restricted."""
    values: set[str] = set()
    pod_value = _bad_profile_type(spec, "seccompProfile", SECCOMP_TYPES)
    if pod_value is not None:
        values.add(pod_value)
    bad: list[str] = []
    for c in containers(spec):
        value = _bad_profile_type(c, "seccompProfile", SECCOMP_TYPES)
        if value is not None:
            bad.append(name_of(c))
            values.add(value)
    return _setters(pod_value is not None, bad), values


def seccomp_violation(setters: list[str], values: set[str]) -> Violation:
    return Violation("seccompProfile", f"{' and '.join(setters)} must not set "
                     f"securityContext.seccompProfile.type to {join_quote(sorted(values))}")


def seccomp_baseline(meta: Json, spec: Json) -> Violation | None:
    setters, values = seccomp_explicit(spec)
    return seccomp_violation(setters, values) if setters else None


SYSCTLS_1_0 = frozenset({
    "kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range", "net.ipv4.ip_unprivileged_port_start",
})
SYSCTLS_1_27 = SYSCTLS_1_0 | {"net.ipv4.ip_local_reserved_ports"}
SYSCTLS_1_29 = SYSCTLS_1_27 | {"net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout",
                               "net.ipv4.tcp_keepalive_intvl", "net.ipv4.tcp_keepalive_probes"}
SYSCTLS_1_32 = SYSCTLS_1_29 | {"net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem"}


def sysctls(meta: Json, spec: Json, *, allowed: frozenset[str]) -> Violation | None:
    names = [text(obj(s).get("name")) for s in items(security_context(spec).get("sysctls"))]
    forbidden = [n for n in names if n not in allowed]
    return Violation("forbidden sysctls", ", ".join(forbidden)) if forbidden else None


def _host_process(holder: Json) -> bool:
    return obj(security_context(holder).get("windowsOptions")).get("hostProcess") is True


def windows_host_process(meta: Json, spec: Json) -> Violation | None:
    bad = [name_of(c) for c in containers(spec) if _host_process(c)]
    setters = _setters(_host_process(spec), bad)
    if not setters:
        return None
    return Violation("hostProcess", f"{' and '.join(setters)} must not set "
                                    "securityContext.windowsOptions.hostProcess=true")


def _once(check_id: str, fn: CheckFn, minor: int = 0) -> Check:
    return Check(check_id, "baseline", (VersionedCheck(minor, fn),))


CHECKS: tuple[Check, ...] = (
    _once("appArmorProfile", app_armor_profile),
    _once("capabilities_baseline", capabilities_baseline),
    _once("hostNamespaces", host_namespaces),
    _once("hostPathVolumes", host_path_volumes),
    _once("hostPorts", host_ports),
    _once("hostProbesAndHostLifecycle", host_probes_and_lifecycle, 34),
    _once("privileged", privileged),
    Check("procMount", "baseline", (VersionedCheck(0, proc_mount),
                                    VersionedCheck(35, proc_mount_1_35))),
    Check("seLinuxOptions", "baseline", (
        VersionedCheck(0, partial(selinux_options, allowed=SELINUX_TYPES_1_0)),
        VersionedCheck(31, partial(selinux_options, allowed=SELINUX_TYPES_1_31)))),
    Check("seccompProfile_baseline", "baseline", (VersionedCheck(0, seccomp_annotations),
                                                  VersionedCheck(19, seccomp_baseline))),
    Check("sysctls", "baseline", tuple(
        VersionedCheck(minor, partial(sysctls, allowed=allowed)) for minor, allowed in
        ((0, SYSCTLS_1_0), (27, SYSCTLS_1_27), (29, SYSCTLS_1_29), (32, SYSCTLS_1_32)))),
    _once("windowsHostProcess", windows_host_process),
)
