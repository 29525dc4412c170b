"""Pod Security Admission at the API, as kube-apiserver's PodSecurity plugin does it:
a Pod that violates its namespace's `enforce` level is refused; a Pod or a workload's
pod template that violates `warn` is admitted with a warning (`kubectl apply` prints
it); an `audit` violation is noted on the audit record. Levels come from the
namespace's `pod-security.kubernetes.io/*` labels, else the cluster's default
(`KAFKUBE_POD_SECURITY_LEVEL`, `baseline`: safer than Kubernetes' own `privileged`).
Pure; called by `services.api.decide` when an object is created or replaced.

Every pod of a ReplicaSet is its template, named: the checks' result is memoised per
(level, version, the pod's annotations and spec), the only inputs the
checks read (`schemas.podsecurity_*`), so a namespace's new levels apply at once and a
changed template is a new key. Messages that name the pod are built per request."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from schemas.podsecurity import (Level, LevelVersion, NamespacePolicy, PodParts, Violation, evaluate,
                                 namespace_policy, pod_template, violation_message, warning_message)

AUDIT_ANNOTATION = "pod-security.kubernetes.io/audit-violations"
CACHED_VERDICTS = 4096  # distinct (level, version, pod template) results kept


@dataclass(frozen=True, slots=True)
class PodSecurityVerdict:
    refusal: str | None = None  # the Forbidden message of an enforced violation
    warnings: tuple[str, ...] = ()
    audit: str | None = None


ADMITTED = PodSecurityVerdict()


def namespace_levels(labels: Mapping[str, str], default: Level) -> NamespacePolicy:
    """`namespace_policy` of a namespace's Pod Security labels, memoised per (labels,
    default): the writer asks for it at every pod (a label value that cannot be hashed is
    read each time)."""
    try:
        return _levels(tuple(sorted(labels.items())), default)
    except TypeError:  # an unhashable label value: worked out each time
        return namespace_policy(labels, default)


@lru_cache(maxsize=256)
def _levels(labels: tuple[tuple[str, str], ...], default: Level) -> NamespacePolicy:
    return namespace_policy(dict(labels), default)


def check_pod_security(obj: dict[str, Any], policy: NamespacePolicy | None, *, creating: bool) -> PodSecurityVerdict:
    """The verdict on a Pod (enforced when created) or a workload (warned and audited only)."""
    parts = pod_template(obj) if policy is not None else None
    if parts is None or policy is None:
        return ADMITTED
    is_pod = obj.get("kind") == "Pod"
    key = _checked(parts)

    def violations(mode: LevelVersion) -> list[Violation]:
        return [] if mode.level == "privileged" else _memoised(mode, parts, key)

    refusal = None
    if is_pod and creating and (found := violations(policy.enforce)):
        name = (obj.get("metadata") or {}).get("name", "")
        refusal = f'pods "{name}" is forbidden: {violation_message(policy.enforce.level, policy.enforce.version, found)}'
    warned = violations(policy.warn) if policy.warn != policy.enforce or not is_pod else []
    warnings = (warning_message(policy.warn.level, policy.warn.version, warned),) if warned else ()
    audited = violations(policy.audit)
    audit = warning_message(policy.audit.level, policy.audit.version, audited) if audited else None
    return PodSecurityVerdict(refusal, warnings, audit)


def _checked(parts: PodParts) -> str:
    """What the checks read of a pod, as one exact key: `repr` tells apart every JSON value
    (1, 1.0 and True; NaN and null), and keeps key order (messages list fields in it)."""
    return repr((parts.metadata.get("annotations"), parts.spec))


_verdicts: dict[tuple[LevelVersion, str], tuple[Violation, ...]] = {}


def _memoised(mode: LevelVersion, parts: PodParts, key: str) -> list[Violation]:
    """`evaluate` of the pod, once per (mode, key); the oldest result goes past CACHED_VERDICTS."""
    found = _verdicts.get((mode, key))
    if found is None:
        found = tuple(evaluate(mode.level, mode.version, parts.metadata, parts.spec))
        if len(_verdicts) >= CACHED_VERDICTS:
            del _verdicts[next(iter(_verdicts))]
        _verdicts[(mode, key)] = found
    return list(found)
