"""A Job's `successPolicy` (Indexed Jobs), as upstream's success_policy.go: the first
rule whose `succeededIndexes` all succeeded (or at least `succeededCount` of them), or,
without indexes, whose `succeededCount` indexes succeeded, makes the Job succeed early
(SuccessCriteriaMet, reason SuccessPolicy, "Matched rules at index N"). Pure; called by
`job.reconcile`."""

from __future__ import annotations

from schemas.batch import SuccessPolicy
from services.controllers.job.indexes import parse_indexes

MATCHED = "Matched rules at index"


def match_success_policy(policy: SuccessPolicy | None, completions: int, succeeded: set[int]) -> str | None:
    """The message of the first rule `succeeded` satisfies, or None."""
    if policy is None or not succeeded:
        return None
    for i, rule in enumerate(policy.rules):
        if rule.succeeded_indexes is not None:
            required = parse_indexes(rule.succeeded_indexes, completions)
            if not required:
                continue  # malformed (admission refuses it)
            done = len(required & succeeded)
            if done == len(required) or (rule.succeeded_count is not None and done >= rule.succeeded_count):
                return f"{MATCHED} {i}"
        elif rule.succeeded_count is not None and len(succeeded) >= rule.succeeded_count:
            return f"{MATCHED} {i}"
    return None
