"""Pod Security Standards: levels, policy versions, the checks per level, namespace policy.

Pure code for the API's PodSecurity admission (services/api/pod_security.py): ``namespace_policy`` reads a
namespace's ``pod-security.kubernetes.io/*`` labels, ``evaluate`` runs the checks of one
level and version on a pod (its metadata and spec as stored JSON, camelCase), and
``violation_message`` / ``warning_message`` word the result exactly as upstream's
pod-security-admission does. ``pod_template`` finds the pod template of a workload so the
API can warn when one is applied. The checks live in ``schemas.podsecurity_baseline`` and
``schemas.podsecurity_restricted``; version gating follows upstream's registry: each check's
behaviour for ``v1.N`` is its newest variant not newer than N, and ``latest`` or a version
past the newest check is the newest (``v1.35``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal, NamedTuple

from schemas.podsecurity_baseline import CHECKS as BASELINE_CHECKS
from schemas.podsecurity_common import Check, CheckFn, Json, Violation, go_quote, obj
from schemas.podsecurity_restricted import CHECKS as RESTRICTED_CHECKS
from schemas.validation import FieldError

__all__ = [
    "LATEST", "LEVELS", "Level", "LevelVersion", "NamespacePolicy", "PodParts", "Version",
    "Violation", "evaluate", "forbidden_detail", "namespace_policy", "parse_level",
    "parse_version", "pod_template", "violation_message", "warning_message",
]

Level = Literal["privileged", "baseline", "restricted"]
LEVELS: tuple[Level, ...] = ("privileged", "baseline", "restricted")

LABEL_PREFIX = "pod-security.kubernetes.io/"
ENFORCE_LABEL = LABEL_PREFIX + "enforce"
ENFORCE_VERSION_LABEL = LABEL_PREFIX + "enforce-version"
AUDIT_LABEL = LABEL_PREFIX + "audit"
AUDIT_VERSION_LABEL = LABEL_PREFIX + "audit-version"
WARN_LABEL = LABEL_PREFIX + "warn"
WARN_VERSION_LABEL = LABEL_PREFIX + "warn-version"

LEVEL_ERROR = "must be one of " + ", ".join(LEVELS)
VERSION_ERROR = 'must be "latest" or "v1.x"'
_VERSION_RE = re.compile(r"v1\.([0-9]|[1-9][0-9]*)")
_GO_INT_MAX = 2**63 - 1


@dataclass(frozen=True)
class Version:
    """A policy version: ``v1.<minor>``, or ``latest`` when ``minor`` is None."""

    minor: int | None = None

    @property
    def latest(self) -> bool:
        return self.minor is None

    def __str__(self) -> str:
        return "latest" if self.minor is None else f"v1.{self.minor}"


LATEST = Version()


@dataclass(frozen=True)
class LevelVersion:
    level: Level
    version: Version = LATEST

    def __str__(self) -> str:
        return f"{self.level}:{self.version}"


@dataclass(frozen=True)
class NamespacePolicy:
    """What a namespace's labels ask for; ``errors`` name the labels that could not be read."""

    enforce: LevelVersion
    warn: LevelVersion
    audit: LevelVersion
    errors: tuple[FieldError, ...] = ()


def parse_level(value: str) -> tuple[Level, str | None]:
    """A level and None, or upstream's fallback ``restricted`` and the error text."""
    for level in LEVELS:
        if value == level:
            return level, None
    return "restricted", LEVEL_ERROR


def parse_version(value: str) -> tuple[Version, str | None]:
    """A version and None, or upstream's fallback ``latest`` and the error text."""
    if value == "latest":
        return LATEST, None
    match = _VERSION_RE.fullmatch(value)
    if match is None or int(match.group(1)) > _GO_INT_MAX:
        return LATEST, VERSION_ERROR
    return Version(int(match.group(1))), None


# --- the registry --------------------------------------------------------------------------

ALL_CHECKS: tuple[Check, ...] = BASELINE_CHECKS + RESTRICTED_CHECKS
MAX_MINOR = max(c.versions[-1].minimum_minor for c in ALL_CHECKS)
# Baseline checks first, then restricted, each by check ID (upstream's order of results).
_ORDER = sorted(c.id for c in BASELINE_CHECKS) + sorted(c.id for c in RESTRICTED_CHECKS)


def _at(check: Check, minor: int) -> tuple[CheckFn, tuple[str, ...]] | None:
    """The check's newest variant for ``v1.<minor>``; None when the check is newer."""
    chosen = None
    for versioned in check.versions:
        if versioned.minimum_minor <= minor:
            chosen = (versioned.check, versioned.overrides)
    return chosen


@lru_cache(maxsize=None)
def checks_for(level: Level, minor: int) -> tuple[CheckFn, ...]:
    """The checks run at ``level:v1.<minor>``, in upstream's order."""
    found: dict[str, CheckFn] = {}
    overridden: set[str] = set()
    for check in ALL_CHECKS:
        variant = _at(check, minor)
        if variant is None or (check.level == "restricted" and level != "restricted"):
            continue
        found[check.id] = variant[0]
        if check.level == "restricted":
            overridden.update(variant[1])
    return tuple(found[i] for i in _ORDER if i in found and i not in overridden)


def evaluate(
    level: Level, version: Version | str, pod_metadata: Json, pod_spec: Json
) -> list[Violation]:
    """The violations of ``level`` at ``version`` by a pod; [] when it passes."""
    if level == "privileged":
        return []
    if isinstance(version, str):
        version = parse_version(version)[0]
    minor = MAX_MINOR if version.minor is None else min(version.minor, MAX_MINOR)
    effective: Level = "baseline" if level == "baseline" else "restricted"
    meta, spec = obj(pod_metadata), obj(pod_spec)
    results = (check(meta, spec) for check in checks_for(effective, minor))
    return [v for v in results if v is not None]


# --- messages ------------------------------------------------------------------------------

def forbidden_detail(violations: list[Violation]) -> str:
    """``reason (detail), reason (detail)``, as upstream's ``AggregateCheckResult``."""
    parts = []
    for v in violations:
        reason = v.forbidden_reason or "unknown forbidden reason"
        parts.append(f"{reason} ({v.forbidden_detail})" if v.forbidden_detail else reason)
    return ", ".join(parts)


def _level_version(level: Level, version: Version | str) -> str:
    shown = version if isinstance(version, Version) else parse_version(version)[0]
    return go_quote(str(LevelVersion(level, shown)))


def violation_message(level: Level, version: Version | str, violations: list[Violation]) -> str:
    """The enforce rejection: ``violates PodSecurity "baseline:latest": ...``."""
    return f"violates PodSecurity {_level_version(level, version)}: {forbidden_detail(violations)}"


def warning_message(level: Level, version: Version | str, violations: list[Violation]) -> str:
    """The warn header and audit annotation: ``would violate PodSecurity "...": ...``."""
    return (f"would violate PodSecurity {_level_version(level, version)}: "
            f"{forbidden_detail(violations)}")


# --- namespace labels ----------------------------------------------------------------------

_STRICTNESS: dict[str, int] = {"privileged": 0, "baseline": 1, "restricted": 2}


def _label_error(label: str, value: str, error: str | None) -> list[FieldError]:
    return [FieldError(f"metadata.labels[{label}]", "Invalid", value, error)] if error else []


def namespace_policy(
    labels: Mapping[str, str], default: Level, *, default_version: Version = LATEST
) -> NamespacePolicy:
    """Upstream's ``PolicyToEvaluate``, with ``default`` for every mode a label leaves out.

    An unreadable ``enforce`` level enforces ``restricted``; unreadable ``warn`` and ``audit``
    levels fail open to ``privileged``; an unreadable version is ``latest``. ``warn`` follows
    an explicit ``enforce`` that is stricter unless ``warn`` is set itself.
    """
    modes = {m: LevelVersion(default, default_version) for m in ("enforce", "warn", "audit")}
    errors: list[FieldError] = []
    fallback: dict[str, Level] = {"enforce": "restricted", "warn": "privileged",
                                  "audit": "privileged"}
    for mode in ("enforce", "audit", "warn"):
        level_label, version_label = LABEL_PREFIX + mode, f"{LABEL_PREFIX}{mode}-version"
        level, version = modes[mode].level, modes[mode].version
        if level_label in labels:
            level, error = parse_level(labels[level_label])
            level = fallback[mode] if error else level
            errors += _label_error(level_label, labels[level_label], error)
        if version_label in labels:
            version, error = parse_version(labels[version_label])
            errors += _label_error(version_label, labels[version_label], error)
        modes[mode] = LevelVersion(level, version)
    enforce_ok = ENFORCE_LABEL in labels and parse_level(labels[ENFORCE_LABEL])[1] is None
    enforce, warn = modes["enforce"], modes["warn"]
    if (WARN_LABEL not in labels and enforce_ok
            and _STRICTNESS[enforce.level] > _STRICTNESS[warn.level]):
        version = warn.version if WARN_VERSION_LABEL in labels else enforce.version
        modes["warn"] = LevelVersion(enforce.level, version)
    return NamespacePolicy(modes["enforce"], modes["warn"], modes["audit"], tuple(errors))


# --- pod templates of workloads ------------------------------------------------------------

class PodParts(NamedTuple):
    """The metadata and spec a PodSecurity check reads."""

    metadata: Json
    spec: Json


# kind -> (API group, path to the pod template, whether the template is optional)
_TEMPLATES: dict[str, tuple[str, tuple[str, ...], bool]] = {
    "PodTemplate": ("", ("template",), False),
    "ReplicationController": ("", ("spec", "template"), True),
    "ReplicaSet": ("apps", ("spec", "template"), False),
    "Deployment": ("apps", ("spec", "template"), False),
    "DaemonSet": ("apps", ("spec", "template"), False),
    "StatefulSet": ("apps", ("spec", "template"), False),
    "Job": ("batch", ("spec", "template"), False),
    "CronJob": ("batch", ("spec", "jobTemplate", "spec", "template"), False),
}


def _group(api_version: object) -> str | None:
    if not isinstance(api_version, str) or not api_version:
        return None
    return api_version.rpartition("/")[0]


def pod_template(workload: Mapping[str, Any]) -> PodParts | None:
    """A Pod's, or a workload's pod template's, metadata and spec (upstream's
    ``DefaultPodSpecExtractor``); None for other kinds and for a ReplicationController
    without a template, which upstream then skips."""
    kind, group = workload.get("kind"), _group(workload.get("apiVersion"))
    if kind == "Pod" and group in (None, ""):
        return PodParts(obj(workload.get("metadata")), obj(workload.get("spec")))
    if not isinstance(kind, str) or kind not in _TEMPLATES:
        return None
    want, path, optional = _TEMPLATES[kind]
    if group is not None and group != want:
        return None
    node: object = workload
    for key in path:
        node = obj(node).get(key)
    if node is None and optional:
        return None
    return PodParts(obj(obj(node).get("metadata")), obj(obj(node).get("spec")))
