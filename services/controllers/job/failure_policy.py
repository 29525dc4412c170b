"""A failed pod against its Job's `podFailurePolicy`, as upstream's pod_failure_policy.go:
the first rule it matches (on its containers' exit codes, or on its conditions) gives the
action (FailJob, FailIndex, Ignore, Count) and, for FailJob, upstream's message. Pure;
called by `job.reconcile` and `job.creation`."""

from __future__ import annotations

from schemas.batch import Job, PodFailurePolicyRule
from services.controllers.job.pods import JobPod


def failure_action(job: Job, pod: JobPod) -> tuple[str, str]:
    """The action of the first rule the failed pod matches ("Count" without a match)
    and upstream's message for a FailJob."""
    policy = job.spec.pod_failure_policy if job.spec else None
    if policy is None or pod.phase != "Failed":
        return "Count", ""
    for i, rule in enumerate(policy.rules):
        matched = _match(rule, pod)
        if matched is not None:
            return rule.action, f"{matched} for pod {job.metadata.namespace}/{pod.name} matching {rule.action} " \
                                f"rule at index {i}"
    return "Count", ""


def _match(rule: PodFailurePolicyRule, pod: JobPod) -> str | None:
    if (codes := rule.on_exit_codes) is not None:
        for container, code in pod.exit_codes:
            if code == 0 or (codes.container_name and codes.container_name != container):
                continue
            if (code in codes.values) == (codes.operator == "In"):
                return f"Container {container} failed with exit code {code}"
        return None
    for pattern in rule.on_pod_conditions or []:
        if (pattern.type, pattern.status) in pod.conditions:
            return f"Pod has condition {pattern.type}"
    return None
