"""From a pod's container spec to the runtime's ContainerConfig (pure but for the subPath check).

Resolves the environment as the kubelet does: `envFrom` (ConfigMaps and Secrets, with
prefix) first, then `env` in order (`value`, `valueFrom.configMapKeyRef`,
`secretKeyRef`, `fieldRef`, `resourceFieldRef`), with `$(VAR)` expansion in env
values, command and args; maps resources to Docker limits and volumeMounts to bind
mounts (a `subPath` made and checked beneath its volume by `pathjail`, the
one I/O here), plus the ServiceAccount token volume (read-only at
/var/run/secrets/kubernetes.io/serviceaccount, unless the container mounts something there),
and the securityContext to the runtime's ContainerSecurity (`security_context`). A missing
required ConfigMap/Secret (or key), or a securityContext that cannot be honoured (runAsNonRoot
with a root image), raises `ConfigError`, which the sync shows as the waiting reason
CreateContainerConfigError. Called by
`services.kubelet.sync` before each container start.
"""

from __future__ import annotations

import base64
import binascii
import math
import os
import re
from collections.abc import Mapping
from typing import Any

from schemas.pod import Container, EnvVarSource, Pod
from schemas.quantity import cpu_millis, memory_bytes, parse_quantity
from services.kubelet.claims import read_only_claims
from services.kubelet.pathjail import SUBPATH_BINDS, PathEscapeError, prepare_subpath
from services.kubelet.runtime.base import ContainerConfig, ImageUser, Mount, PodRef
from services.kubelet.security_context import SecurityContextError, container_security
from services.runtime.podnet import service_env

Store = Mapping[str, Any]  # "namespace/name" -> the object as JSON
SERVICE_ACCOUNT_VOLUME = "@serviceaccount"  # volume_paths key of the token volume (no volume name has an @)
SERVICE_ACCOUNT_MOUNT = "/var/run/secrets/kubernetes.io/serviceaccount"
_REF = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.\-]*)\)")
MIN_SHARES = 2


class ConfigError(Exception):
    """The container cannot be configured yet (CreateContainerConfigError)."""

    reason = "CreateContainerConfigError"


def pod_ref(pod: Pod) -> PodRef:
    meta = pod.metadata
    assert meta is not None and meta.name and meta.uid
    return PodRef(namespace=meta.namespace or "default", name=meta.name, uid=meta.uid)


def container_config(pod: Pod, container: Container, *, configmaps: Store, secrets: Store,
                     volume_paths: Mapping[str, str], attempt: int, role: str = "app",
                     pod_ip: str | None = None, host_ip: str | None = None,
                     services: Store | None = None, image_user: ImageUser | None = None) -> ContainerConfig:
    """`image_user`: the image's user, needed when `security_context.needs_image_user` says so."""
    try:
        security = container_security(pod, container, image_user=image_user)
    except SecurityContextError as exc:
        raise ConfigError(str(exc)) from None
    env = resolve_env(pod, container, configmaps=configmaps, secrets=secrets,
                      pod_ip=pod_ip, host_ip=host_ip, services=services)
    command = [expand(a, env) for a in container.command] if container.command else None
    args = [expand(a, env) for a in container.args] if container.args else None
    limits = dict((container.resources.limits if container.resources else None) or {})
    requests = dict((container.resources.requests if container.resources else None) or {})
    cpu_request = requests.get("cpu", limits.get("cpu"))
    return ContainerConfig(
        pod=pod_ref(pod), name=container.name or "", role=role,  # type: ignore[arg-type]
        image=container.image or "", command=command, args=args, env=env,
        working_dir=container.working_dir,
        mounts=mounts(container, volume_paths, read_only=projected_volumes(pod) | read_only_claims(pod)),
        memory_limit_bytes=memory_bytes(limits["memory"]) if "memory" in limits else None,
        nano_cpus=cpu_millis(limits["cpu"]) * 1_000_000 if "cpu" in limits else None,
        cpu_shares=max(MIN_SHARES, cpu_millis(cpu_request) * 1024 // 1000) if cpu_request else None,
        attempt=attempt, security=security,
    )


PROJECTED_SOURCES = ("configMap", "secret", "projected", "downwardAPI")


def projected_volumes(pod: Pod) -> frozenset[str]:
    """The volumes whose files the kubelet writes (configMap, secret, projected,
    downwardAPI): mounted read-only whatever the volumeMount says, as upstream does."""
    volumes = (pod.spec.volumes if pod.spec else None) or []
    return frozenset(v.name or "" for v in volumes
                     if v.config_map is not None or v.secret is not None
                     or any(k in (v.model_extra or {}) for k in PROJECTED_SOURCES))


def mounts(container: Container, volume_paths: Mapping[str, str],
           read_only: frozenset[str] = frozenset()) -> list[Mount]:
    """The container's binds; the volumes named in `read_only` are always read-only."""
    result = []
    binds = volume_paths.get(SUBPATH_BINDS)
    for index, vm in enumerate(container.volume_mounts or []):
        host = volume_paths.get(vm.name or "")
        if host is None or not vm.mount_path:
            raise ConfigError(f'unable to find volume "{vm.name}" for container "{container.name}"')
        if vm.sub_path:
            bind_at = os.path.join(binds, vm.name or "", container.name or "", str(index)) if binds else None
            try:
                host = prepare_subpath(host, vm.sub_path, volume=vm.name or "", container=container.name or "",
                                       bind_at=bind_at)
            except PathEscapeError as exc:
                raise ConfigError(str(exc)) from None
        result.append(Mount(host_path=host, container_path=vm.mount_path,
                            read_only=bool(vm.read_only) or (vm.name or "") in read_only))
    token_dir = volume_paths.get(SERVICE_ACCOUNT_VOLUME)
    if token_dir is not None and not any(m.container_path.rstrip("/") == SERVICE_ACCOUNT_MOUNT for m in result):
        result.append(Mount(host_path=token_dir, container_path=SERVICE_ACCOUNT_MOUNT, read_only=True))
    return result


# -- environment ---------------------------------------------------------------------------
def resolve_env(pod: Pod, container: Container, *, configmaps: Store, secrets: Store,
                pod_ip: str | None = None, host_ip: str | None = None,
                services: Store | None = None) -> dict[str, str]:
    namespace = (pod.metadata.namespace if pod.metadata else None) or "default"
    links = pod.spec is None or (pod.spec.model_extra or {}).get("enableServiceLinks") is not False
    env: dict[str, str] = service_env(list((services or {}).values()), namespace) if links else {}
    for source in container.env_from or []:
        prefix = source.prefix or ""
        if source.config_map_ref is not None:
            ref = source.config_map_ref
            data = _configmap_data(configmaps, namespace, ref.name or "", ref.optional)
        elif source.secret_ref is not None:
            ref2 = source.secret_ref
            data = _secret_data(secrets, namespace, ref2.name or "", ref2.optional)
        else:
            continue
        env.update({prefix + k: v for k, v in (data or {}).items()})
    for var in container.env or []:
        if var.value_from is None:
            env[var.name] = expand(var.value or "", env)
            continue
        value = _value_from(var.value_from, pod, container, namespace, configmaps, secrets,
                            pod_ip=pod_ip, host_ip=host_ip)
        if value is not None:
            env[var.name] = value
    return env


def expand(text: str, env: Mapping[str, str]) -> str:
    """Kubernetes' $(VAR) expansion: defined names are replaced, `$$` is a `$`,
    unknown references stay as written."""
    def sub(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        return env.get(match.group(1), match.group(0))

    return _REF.sub(sub, text)


def _value_from(source: EnvVarSource, pod: Pod, container: Container, namespace: str,
                configmaps: Store, secrets: Store, *, pod_ip: str | None,
                host_ip: str | None) -> str | None:
    if (ref := source.config_map_key_ref) is not None:
        data = _configmap_data(configmaps, namespace, ref.name or "", ref.optional)
        return _key(data, ref.key, ref.optional, f"ConfigMap {namespace}/{ref.name}")
    if (sref := source.secret_key_ref) is not None:
        data = _secret_data(secrets, namespace, sref.name or "", sref.optional)
        return _key(data, sref.key, sref.optional, f"Secret {namespace}/{sref.name}")
    if source.field_ref is not None:
        return field_value(pod, source.field_ref.field_path, pod_ip=pod_ip, host_ip=host_ip)
    if (rref := source.resource_field_ref) is not None:
        return _resource_value(container, rref.resource, rref.divisor)
    return None


def _key(data: Mapping[str, str] | None, key: str, optional: bool | None, what: str) -> str | None:
    if data is None:
        return None
    if key in data:
        return data[key]
    if optional:
        return None
    raise ConfigError(f"couldn't find key {key} in {what}")


def _configmap_data(store: Store, namespace: str, name: str, optional: bool | None
                    ) -> dict[str, str] | None:
    obj = store.get(f"{namespace}/{name}")
    if obj is None:
        if optional:
            return None
        raise ConfigError(f'configmap "{name}" not found')
    data = dict(obj.get("data") or {})
    for key, raw in (obj.get("binaryData") or {}).items():
        data[key] = _b64(raw)
    return data


def _secret_data(store: Store, namespace: str, name: str, optional: bool | None
                 ) -> dict[str, str] | None:
    obj = store.get(f"{namespace}/{name}")
    if obj is None:
        if optional:
            return None
        raise ConfigError(f'secret "{name}" not found')
    data = {k: _b64(v) for k, v in (obj.get("data") or {}).items()}
    data.update(obj.get("stringData") or {})
    return data


def _b64(raw: str) -> str:
    try:
        return base64.b64decode(raw, validate=True).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        return raw


def field_value(pod: Pod, path: str, *, pod_ip: str | None = None, host_ip: str | None = None) -> str:
    meta = pod.metadata
    assert meta is not None
    simple = {
        "metadata.name": meta.name, "metadata.namespace": meta.namespace or "default",
        "metadata.uid": meta.uid, "spec.nodeName": pod.spec.node_name if pod.spec else None,
        "spec.serviceAccountName": (pod.spec.service_account_name if pod.spec else None) or "default",
        "status.podIP": pod_ip, "status.hostIP": host_ip, "status.podIPs": pod_ip,
        "status.hostIPs": host_ip,
    }
    if path in simple:
        return simple[path] or ""
    match = re.fullmatch(r"metadata\.(labels|annotations)\['([^']+)'\]", path)
    if match:
        values = (meta.labels if match.group(1) == "labels" else meta.annotations) or {}
        return values.get(match.group(2), "")
    raise ConfigError(f"unsupported fieldPath: {path}")


def _resource_value(container: Container, resource: str, divisor: str | None) -> str:
    kind, _, name = resource.partition(".")
    resources = container.resources
    values = dict(((resources.limits if kind == "limits" else resources.requests)
                   if resources else None) or {})
    if name not in values:
        return "0"
    amount = parse_quantity(values[name]) / parse_quantity(divisor or "1")
    return str(math.ceil(amount))
