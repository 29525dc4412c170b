"""Pod Security Admission at the API, as kube-apiserver's PodSecurity plugin does it:
a Pod that violates its namespace's `enforce` level is refused; a Pod or a workload's
pod template that violates `warn` is admitted with a warning (`kubectl apply` prints
it); an `audit` violation is noted on the audit record. Levels come from the
namespace's `pod-security.kubernetes.io/*` labels, else the cluster's default
(`KAFKUBE_POD_SECURITY_LEVEL`, `baseline`: safer than Kubernetes' own `privileged`).
Pure; called by `services.api.decide` when an object is created or replaced."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from schemas.podsecurity import LevelVersion, NamespacePolicy, evaluate, pod_template, violation_message, warning_message

AUDIT_ANNOTATION = "pod-security.kubernetes.io/audit-violations"


@dataclass(frozen=True, slots=True)
class PodSecurityVerdict:
    refusal: str | None = None  # the Forbidden message of an enforced violation
    warnings: tuple[str, ...] = ()
    audit: str | None = None


ADMITTED = PodSecurityVerdict()


def check_pod_security(obj: dict[str, Any], policy: NamespacePolicy | None, *, creating: bool) -> PodSecurityVerdict:
    """The verdict on a Pod (enforced when created) or a workload (warned and audited only)."""
    parts = pod_template(obj) if policy is not None else None
    if parts is None or policy is None:
        return ADMITTED
    is_pod = obj.get("kind") == "Pod"

    def violations(mode: LevelVersion) -> list[Any]:
        return evaluate(mode.level, mode.version, parts.metadata, parts.spec)

    refusal = None
    if is_pod and creating and (found := violations(policy.enforce)):
        name = (obj.get("metadata") or {}).get("name", "")
        refusal = f'pods "{name}" is forbidden: {violation_message(policy.enforce.level, policy.enforce.version, found)}'
    warned = violations(policy.warn) if policy.warn != policy.enforce or not is_pod else []
    warnings = (warning_message(policy.warn.level, policy.warn.version, warned),) if warned else ()
    audited = violations(policy.audit)
    audit = warning_message(policy.audit.level, policy.audit.version, audited) if audited else None
    return PodSecurityVerdict(refusal, warnings, audit)
