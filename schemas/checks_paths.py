"""Kubernetes' level-independent path and address rules: files stay inside their volume, and
endpoints do not point at the node itself.

Pure functions over stored JSON (camelCase), not wired yet: the API's pod-spec validation will
call ``check_pod_paths`` (subPath, subPathExpr, hostPath, gitRepo directory, and the file paths
of secret, configMap, downwardAPI and projected volumes) and the Endpoints/EndpointSlice
validation ``check_endpoint_ip``. Paths and messages are upstream's, quirks included: a
volumeMount's ``subPath`` error names ``volumeMounts.subPath`` without the mount's index, and a
downwardAPI file's names ``downwardAPI.path`` without the item's. ``mountPath`` need not be
absolute (upstream only requires it, which ``schemas.checks_pod`` does).
"""

from __future__ import annotations

import ipaddress

from schemas.validation import FieldError

from schemas.json_access import Json
from schemas.json_access import items as _items
from schemas.json_access import obj as _obj
from schemas.json_access import text as _text

RELATIVE_MSG = "must be a relative path"
BACKSTEP_MSG = "must not contain '..'"
RESERVED_MSG = "must not start with '..'"
EXCLUSIVE_MSG = "subPathExpr and subPath are mutually exclusive"




def no_backsteps(value: str, path: str) -> list[FieldError]:
    """One error when any ``/``-separated element is ``..`` (upstream's validatePathNoBacksteps)."""
    if ".." in value.split("/"):
        return [FieldError(path, "Invalid", value, BACKSTEP_MSG)]
    return []


def local_descending_path(value: str, path: str) -> list[FieldError]:
    """Relative and without ``..`` elements (upstream's validateLocalDescendingPath)."""
    errs = [FieldError(path, "Invalid", value, RELATIVE_MSG)] if value.startswith("/") else []
    return errs + no_backsteps(value, path)


def local_non_reserved_path(value: str, path: str) -> list[FieldError]:
    """Also not ``..name``, which the kubelet's atomic writer keeps for itself."""
    errs = local_descending_path(value, path)
    if value.startswith("..") and not value.startswith("../"):
        errs.append(FieldError(path, "Invalid", value, RESERVED_MSG))
    return errs


def _file_path(value: str, path: str) -> list[FieldError]:
    """A projected file's path: required, then local and non-reserved."""
    errs = [FieldError(path, "Required")] if not value else []
    return errs + local_non_reserved_path(value, path)


def _key_to_paths(source: Json, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for i, item in enumerate(_items(source.get("items"))):
        errs += _file_path(_text(_obj(item).get("path")), f"{path}.items[{i}].path")
    return errs


def _downward_files(source: Json, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for item in _items(source.get("items")):
        errs += _file_path(_text(_obj(item).get("path")), f"{path}.path")
    return errs


def _projection(source: Json, src: str, projected: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for kind in ("secret", "configMap"):
        if source.get(kind) is not None:
            errs += _key_to_paths(_obj(source[kind]), f"{src}.{kind}")
    if source.get("downwardAPI") is not None:
        errs += _downward_files(_obj(source["downwardAPI"]), f"{src}.downwardAPI")
    if source.get("serviceAccountToken") is not None:
        token = _obj(source["serviceAccountToken"])
        errs += _file_path(_text(token.get("path")), f"{projected}.path")
    if source.get("clusterTrustBundle") is not None:
        errs += _file_path(_text(_obj(source["clusterTrustBundle"]).get("path")),
                           f"{src}.clusterTrustBundle.path")
    if source.get("podCertificate") is not None:
        cert = _obj(source["podCertificate"])
        for key in ("credentialBundlePath", "keyPath", "certificateChainPath"):
            if _text(cert.get(key)):
                errs += local_non_reserved_path(_text(cert[key]), f"{src}.podCertificate.{key}")
    return errs


def _volume(volume: Json, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    if volume.get("hostPath") is not None:
        host = _text(_obj(volume["hostPath"]).get("path"))
        where = f"{path}.hostPath.path"
        errs += no_backsteps(host, where) if host else [FieldError(where, "Required")]
    if volume.get("gitRepo") is not None:
        errs += local_descending_path(_text(_obj(volume["gitRepo"]).get("directory")),
                                      f"{path}.gitRepo.directory")
    if volume.get("secret") is not None:
        errs += _key_to_paths(_obj(volume["secret"]), f"{path}.secret")
    if volume.get("downwardAPI") is not None:
        errs += _downward_files(_obj(volume["downwardAPI"]), f"{path}.downwardAPI")
    if volume.get("configMap") is not None:
        errs += _key_to_paths(_obj(volume["configMap"]), f"{path}.configMap")
    if volume.get("projected") is not None:
        projected = f"{path}.projected"
        for i, source in enumerate(_items(_obj(volume["projected"]).get("sources"))):
            errs += _projection(_obj(source), f"{projected}.sources[{i}]", projected)
    return errs


def _mounts(container: Json, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    mounts = f"{path}.volumeMounts"
    for i, mount in enumerate(map(_obj, _items(container.get("volumeMounts")))):
        sub_path, sub_expr = _text(mount.get("subPath")), _text(mount.get("subPathExpr"))
        if sub_path:
            errs += local_descending_path(sub_path, f"{mounts}.subPath")
        if sub_expr:
            if sub_path:
                errs.append(FieldError(f"{mounts}[{i}].subPathExpr", "Invalid", sub_expr,
                                       EXCLUSIVE_MSG))
            errs += local_descending_path(sub_expr, f"{mounts}.subPathExpr")
    return errs


def check_pod_paths(spec: Json, prefix: str) -> list[FieldError]:
    """Path errors of a pod spec at ``prefix`` (``spec``, ``spec.template.spec``...), in
    upstream's order: volumes, containers, initContainers, ephemeralContainers."""
    errs: list[FieldError] = []
    for i, volume in enumerate(_items(spec.get("volumes"))):
        errs += _volume(_obj(volume), f"{prefix}.volumes[{i}]")
    for group in ("containers", "initContainers", "ephemeralContainers"):
        for i, container in enumerate(_items(spec.get(group))):
            errs += _mounts(_obj(container), f"{prefix}.{group}[{i}]")
    return errs


# --- endpoint addresses --------------------------------------------------------------------

IP = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_ip_sloppy(value: str) -> IP | None:
    """Go's ``netutils.ParseIPSloppy``: IPv4 parts may have leading zeros (read as decimal);
    IPv4-mapped IPv6 addresses become IPv4; zones are refused."""
    if "%" in value or not value.isascii():
        return None
    if ":" not in value:
        parts = value.split(".")
        if len(parts) != 4 or not all(p.isdigit() and int(p) <= 255 for p in parts):
            return None
        return ipaddress.IPv4Address(".".join(str(int(p)) for p in parts))
    try:
        ip = ipaddress.IPv6Address(value)
    except ValueError:
        return None
    return ip.ipv4_mapped or ip


def _special(ip: IP) -> list[str]:
    raw = ip.packed
    if isinstance(ip, ipaddress.IPv4Address):
        unspecified, loopback = raw == bytes(4), raw[0] == 127
        link_local, ll_multicast = raw[:2] == b"\xa9\xfe", raw[:3] == b"\xe0\x00\x00"
    else:
        unspecified, loopback = raw == bytes(16), raw == bytes(15) + b"\x01"
        link_local = raw[0] == 0xFE and raw[1] & 0xC0 == 0x80
        ll_multicast = raw[0] == 0xFF and raw[1] & 0x0F == 0x02
    found = [("loopback", loopback), ("link-local", link_local),
             ("link-local multicast", ll_multicast)]
    return (["unspecified"] if unspecified else []) + [name for name, hit in found if hit]


_RANGES = {
    "loopback": "may not be in the loopback range (127.0.0.0/8, ::1/128)",
    "link-local": "may not be in the link-local range (169.254.0.0/16, fe80::/10)",
    "link-local multicast":
        "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)",
}


def check_endpoint_ip(ip: str, path: str) -> list[FieldError]:
    """Upstream's ``ValidateEndpointIP`` for Endpoints and EndpointSlice addresses: a valid IP
    that is not unspecified, loopback, link-local or link-local multicast."""
    parsed = parse_ip_sloppy(ip)
    if parsed is None:
        return [FieldError(path, "Invalid", ip, "must be a valid IP address")]
    return [FieldError(path, "Invalid", ip,
                       f"may not be unspecified ({ip})" if kind == "unspecified" else _RANGES[kind])
            for kind in _special(parsed)]


POD_SPEC_PATHS: dict[str, tuple[str, ...]] = {
    "Pod": ("spec",), "ReplicationController": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"), "Deployment": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"), "StatefulSet": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"), "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}


def check_object_paths(kind: str, doc: Json) -> list[FieldError]:
    """The level-independent rules of one object as stored JSON: its pod (or pod
    template) paths, an Endpoints' addresses. Called by `schemas.manifest.validate_object`."""
    if kind == "Endpoints":
        return _endpoint_addresses(doc)
    path = POD_SPEC_PATHS.get(kind)
    if path is None:
        return []
    spec: object = doc
    for key in path:
        spec = _obj(spec).get(key)
    return check_pod_paths(_obj(spec), ".".join(path)) if isinstance(spec, dict) else []


def _endpoint_addresses(doc: Json) -> list[FieldError]:
    errs: list[FieldError] = []
    for i, subset in enumerate(_items(doc.get("subsets"))):
        for field in ("addresses", "notReadyAddresses"):
            for j, address in enumerate(_items(_obj(subset).get(field))):
                ip = _obj(address).get("ip")
                if isinstance(ip, str):
                    errs += check_endpoint_ip(ip, f"subsets[{i}].{field}[{j}].ip")
    return errs
