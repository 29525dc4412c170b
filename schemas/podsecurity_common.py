"""Shared pieces of the Pod Security Standards checks: result and check types, JSON walkers.

Used by ``schemas.podsecurity_baseline`` and ``schemas.podsecurity_restricted`` (the checks)
and ``schemas.podsecurity`` (the registry that picks checks per level and version). Pods are
read as JSON dicts in their stored camelCase form, the way upstream's pod-security-admission
reads ``corev1.PodSpec``: an absent key or ``null`` is Go's nil.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Literal

from schemas.json_access import Json, items, obj, text  # noqa: F401 - re-exported to the checks
CheckLevel = Literal["baseline", "restricted"]


@dataclass(frozen=True)
class Violation:
    """One failed check: a short reason (``host namespaces``) and its detail text."""

    forbidden_reason: str
    forbidden_detail: str = ""


CheckFn = Callable[[Json, Json], "Violation | None"]


@dataclass(frozen=True)
class VersionedCheck:
    """A check's behaviour from policy version ``v1.<minimum_minor>`` on."""

    minimum_minor: int
    check: CheckFn
    overrides: tuple[str, ...] = ()


@dataclass(frozen=True)
class Check:
    """A check with its level and its behaviours by version, oldest first."""

    id: str
    level: CheckLevel
    versions: tuple[VersionedCheck, ...]




def containers(spec: Json) -> Iterator[Json]:
    """initContainers, containers, then ephemeralContainers, as upstream's visitContainers."""
    for key in ("initContainers", "containers", "ephemeralContainers"):
        for container in items(spec.get(key)):
            yield obj(container)


def name_of(container: Json) -> str:
    return text(container.get("name"))


def security_context(holder: Json) -> Json:
    """The container's (or, given a pod spec, the pod's) securityContext; {} when nil."""
    return obj(holder.get("securityContext"))


def is_windows(spec: Json) -> bool:
    return obj(spec.get("os")).get("name") == "windows"


def in_user_namespace(spec: Json) -> bool:
    """``hostUsers: false``: the pod runs in a user namespace (relaxed from v1.35)."""
    return spec.get("hostUsers") is False


def pluralize(singular: str, plural: str, count: int) -> str:
    return singular if count == 1 else plural


def join_quote(values: list[str]) -> str:
    """``"a", "b"``; empty for no values."""
    return '"' + '", "'.join(values) + '"' if values else ""


def containers_phrase(names: list[str]) -> str:
    """``container "a"`` or ``containers "a", "b"``."""
    return f'{pluralize("container", "containers", len(names))} {join_quote(names)}'


_GO_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r",
               "\t": "\\t", "\v": "\\v", "\\": "\\\\", '"': '\\"'}


def go_quote(value: str) -> str:
    """Go's ``%q`` of a string: double quotes, backslash escapes for the unprintable."""
    out = []
    for ch in value:
        if ch in _GO_ESCAPES:
            out.append(_GO_ESCAPES[ch])
        elif ch.isprintable() or ch == " ":
            out.append(ch)
        elif ord(ch) < 0x80:
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) <= 0xFFFF:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    return '"' + "".join(out) + '"'
