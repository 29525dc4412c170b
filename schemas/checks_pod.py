"""Kubernetes' semantic checks of a pod spec (containers, ports, probes, volumes).

Used by ``schemas.checks`` for Pods and for the pod templates of ReplicationControllers,
ReplicaSets and Deployments. Every function is pure: model in, ``FieldError`` list out.
"""

from __future__ import annotations

from schemas.pod import Container, ContainerPort, PodSpec, Probe, ResourceRequirements
from schemas.quantity import parse_quantity
from schemas.validation import (
    FieldError,
    is_dns1123_label,
    is_dns1123_subdomain,
    is_iana_svc_name,
    is_valid_port_num,
    not_supported,
)

GE_ZERO = "must be greater than or equal to 0"


def non_negative(path: str, value: int | None) -> list[FieldError]:
    if value is not None and value < 0:
        return [FieldError(path, "Invalid", value, GE_ZERO)]
    return []


def check_port_number(path: str, port: int | None, *, required: bool = True) -> list[FieldError]:
    if port is None:
        return [FieldError(path, "Required")] if required else []
    return [FieldError(path, "Invalid", port, msg) for msg in is_valid_port_num(port)]


def check_port_name(path: str, name: str | None) -> list[FieldError]:
    if not name:
        return []
    return [FieldError(path, "Invalid", name, msg) for msg in is_iana_svc_name(name)]


def _check_container_port(path: str, port: ContainerPort) -> list[FieldError]:
    errs = check_port_number(f"{path}.containerPort", port.container_port)
    if port.host_port:
        errs += check_port_number(f"{path}.hostPort", port.host_port)
    return errs + check_port_name(f"{path}.name", port.name)


def _check_probe(path: str, probe: Probe, *, liveness: bool) -> list[FieldError]:
    extra = probe.model_extra or {}
    handlers: list[object] = [probe.exec, probe.http_get, probe.tcp_socket, extra.get("grpc")]
    handlers = [h for h in handlers if h is not None]
    if not handlers:
        return [FieldError(path, "Required", detail="must specify a handler type")]
    if len(handlers) > 1:
        return [FieldError(path, "Forbidden", detail="may not specify more than 1 handler type")]
    errs: list[FieldError] = []
    for name in ("initial_delay_seconds", "timeout_seconds", "period_seconds"):
        alias = Probe.model_fields[name].alias or name
        errs += non_negative(f"{path}.{alias}", getattr(probe, name))
    if liveness and probe.success_threshold not in (None, 1):
        errs.append(FieldError(f"{path}.successThreshold", "Invalid", probe.success_threshold,
                               "must be 1"))
    for owner, sub in ((probe.http_get, "httpGet"), (probe.tcp_socket, "tcpSocket")):
        if owner is not None:
            errs += check_int_or_name_port(f"{path}.{sub}.port", owner.port)
    return errs


def check_int_or_name_port(path: str, port: int | str | None) -> list[FieldError]:
    """A port given as a number (1-65535) or as a named port (IANA_SVC_NAME)."""
    if isinstance(port, int):
        return check_port_number(path, port)
    return check_port_name(path, port)


def _check_resources(path: str, res: ResourceRequirements) -> list[FieldError]:
    errs: list[FieldError] = []
    for part, values in (("limits", res.limits or {}), ("requests", res.requests or {})):
        for key, text in values.items():
            if parse_quantity(text) < 0:
                errs.append(FieldError(f"{path}.{part}[{key}]", "Invalid", text, GE_ZERO))
    for key, request in (res.requests or {}).items():
        limit = (res.limits or {}).get(key)
        if limit is not None and parse_quantity(request) > parse_quantity(limit):
            errs.append(FieldError(f"{path}.requests", "Invalid", request,
                                   f"must be less than or equal to {key} limit of {limit}"))
    return errs


def _check_env_and_mounts(path: str, c: Container, volumes: set[str]) -> list[FieldError]:
    errs: list[FieldError] = []
    for i, env in enumerate(c.env or []):
        if not env.name:
            errs.append(FieldError(f"{path}.env[{i}].name", "Required"))
    for i, mount in enumerate(c.volume_mounts or []):
        if mount.name not in volumes:
            errs.append(FieldError(f"{path}.volumeMounts[{i}].name", "NotFound", mount.name))
        if not mount.mount_path:
            errs.append(FieldError(f"{path}.volumeMounts[{i}].mountPath", "Required"))
    return errs


def _check_container(path: str, c: Container, volumes: set[str]) -> list[FieldError]:
    errs: list[FieldError] = []
    if not c.name:
        errs.append(FieldError(f"{path}.name", "Required"))
    else:
        errs += [FieldError(f"{path}.name", "Invalid", c.name, m) for m in is_dns1123_label(c.name)]
    if not c.image or not c.image.strip():
        errs.append(FieldError(f"{path}.image", "Required"))
    for i, port in enumerate(c.ports or []):
        errs += _check_container_port(f"{path}.ports[{i}]", port)
    errs += _check_env_and_mounts(path, c, volumes)
    probes = (("livenessProbe", c.liveness_probe, True), ("readinessProbe", c.readiness_probe,
              False), ("startupProbe", c.startup_probe, True))
    for alias, probe, liveness in probes:
        if probe is not None:
            errs += _check_probe(f"{path}.{alias}", probe, liveness=liveness)
    if c.resources is not None:
        errs += _check_resources(f"{path}.resources", c.resources)
    return errs


def _check_volumes(path: str, spec: PodSpec) -> tuple[set[str], list[FieldError]]:
    names: set[str] = set()
    errs: list[FieldError] = []
    for i, vol in enumerate(spec.volumes or []):
        where = f"{path}.volumes[{i}].name"
        if not vol.name:
            errs.append(FieldError(where, "Required"))
            continue
        errs += [FieldError(where, "Invalid", vol.name, m) for m in is_dns1123_label(vol.name)]
        if vol.name in names:
            errs.append(FieldError(where, "Duplicate", vol.name))
        names.add(vol.name)
    return names, errs


def check_pod_spec(
    path: str, spec: PodSpec | None, *, restart_policies: tuple[str, ...] = ()
) -> list[FieldError]:
    """All pod-spec rules; ``restart_policies`` narrows the allowed restartPolicy values."""
    if spec is None or not spec.containers:
        return [FieldError(f"{path}.containers", "Required")]
    volumes, errs = _check_volumes(path, spec)
    seen: set[str] = set()
    groups = (("initContainers", spec.init_containers or []), ("containers", spec.containers))
    for field, containers in groups:
        for i, container in enumerate(containers):
            where = f"{path}.{field}[{i}]"
            errs += _check_container(where, container, volumes)
            if container.name and container.name in seen:
                errs.append(FieldError(f"{where}.name", "Duplicate", container.name))
            seen.add(container.name or "")
    policy = spec.restart_policy
    if restart_policies and policy is not None and policy not in restart_policies:
        errs.append(not_supported(f"{path}.restartPolicy", policy, list(restart_policies)))
    errs += non_negative(f"{path}.terminationGracePeriodSeconds",
                         spec.termination_grace_period_seconds)
    return errs + _check_runtime_class(path, spec)


def _check_runtime_class(path: str, spec: PodSpec) -> list[FieldError]:
    """ValidateRuntimeClassName (a DNS subdomain) and validateOverhead (non-negative)."""
    name = spec.runtime_class_name
    errs = [FieldError(f"{path}.runtimeClassName", "Invalid", name, m)
            for m in (is_dns1123_subdomain(name) if name is not None else [])]
    return errs + [FieldError(f"{path}.overhead[{key}]", "Invalid", value, GE_ZERO)
                   for key, value in (spec.overhead or {}).items() if parse_quantity(value) < 0]
