"""``batch/v1`` Job and CronJob: the models, upstream's defaults (`default_job`,
`default_cronjob`) and validation with kube-apiserver's messages (`check_job`,
`check_cronjob`).

Used by the registry (kind, topics), ``schemas.defaults`` / ``schemas.checks``
(admission), ``schemas.printing`` (kubectl's columns) and the Job and CronJob controllers
(``services.controllers.job``, ``services.controllers.cronjob``), which read the specs and
write the statuses.
"""

from __future__ import annotations

from datetime import tzinfo
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from schemas.cron import CronError, parse_schedule
from schemas.meta import (
    Condition,
    Int32,
    Int64,
    KubeModel,
    LabelSelector,
    ObjectMeta,
    ObjectReference,
    Resource,
    Time,
)
from schemas.pod import PodTemplateSpec
from schemas.validation import FieldError, not_supported

BATCH_GROUP = "batch"
DEFAULT_BACKOFF_LIMIT = 6
MAX_INT32 = 2**31 - 1  # backoffLimit's default beside backoffLimitPerIndex
MAX_SUCCESS_POLICY_RULES = 20
MAX_SUCCEEDED_INDEXES_LENGTH = 64 * 1024
INDEX_FAILURE_COUNT_ANNOTATION = "batch.kubernetes.io/job-index-failure-count"
INDEX_IGNORED_FAILURE_COUNT_ANNOTATION = "batch.kubernetes.io/job-index-ignored-failure-count"
MAX_COMPLETIONS_INDEXED = 100_000  # upstream's maxParallelismForIndexedJob and completions cap
COMPLETION_INDEX_ANNOTATION = "batch.kubernetes.io/job-completion-index"
COMPLETION_INDEX_ENV = "JOB_COMPLETION_INDEX"
TRACKING_FINALIZER = "batch.kubernetes.io/job-tracking"
CONTROLLER_UID_LABEL = "batch.kubernetes.io/controller-uid"
JOB_NAME_LABEL = "batch.kubernetes.io/job-name"
LEGACY_CONTROLLER_UID_LABEL = "controller-uid"
LEGACY_JOB_NAME_LABEL = "job-name"


class PodFailurePolicyOnExitCodesRequirement(KubeModel):
    container_name: str | None = None
    operator: Literal["In", "NotIn"]
    values: list[Int32]


class PodFailurePolicyOnPodConditionsPattern(KubeModel):
    type: str
    status: Literal["True", "False", "Unknown"] = "True"


class PodFailurePolicyRule(KubeModel):
    action: str
    on_exit_codes: PodFailurePolicyOnExitCodesRequirement | None = None
    on_pod_conditions: list[PodFailurePolicyOnPodConditionsPattern] | None = None


class PodFailurePolicy(KubeModel):
    rules: list[PodFailurePolicyRule]


class SuccessPolicyRule(KubeModel):
    succeeded_indexes: str | None = None
    succeeded_count: Int32 | None = None


class SuccessPolicy(KubeModel):
    rules: list[SuccessPolicyRule]


class JobSpec(KubeModel):
    parallelism: Int32 | None = None
    completions: Int32 | None = None
    active_deadline_seconds: Int64 | None = None
    backoff_limit: Int32 | None = None
    selector: LabelSelector | None = None
    manual_selector: bool | None = None
    template: PodTemplateSpec | None = None
    ttl_seconds_after_finished: Int32 | None = None
    completion_mode: str | None = None
    suspend: bool | None = None
    pod_failure_policy: PodFailurePolicy | None = None
    backoff_limit_per_index: Int32 | None = None
    max_failed_indexes: Int32 | None = None
    pod_replacement_policy: str | None = None
    success_policy: SuccessPolicy | None = None


class UncountedTerminatedPods(KubeModel):
    succeeded: list[str] | None = None
    failed: list[str] | None = None


class JobStatus(KubeModel):
    conditions: list[Condition] | None = None
    start_time: Time | None = None
    completion_time: Time | None = None
    active: Int32 | None = None
    succeeded: Int32 | None = None
    failed: Int32 | None = None
    terminating: Int32 | None = None
    ready: Int32 | None = None
    completed_indexes: str | None = None
    failed_indexes: str | None = None
    uncounted_terminated_pods: UncountedTerminatedPods | None = None


class Job(Resource):
    api_version: Literal["batch/v1"] = "batch/v1"
    kind: Literal["Job"] = "Job"
    spec: JobSpec | None = None
    status: JobStatus | None = None


# -- defaults (pkg/apis/batch/v1/defaults.go) -----------------------------------------------
def default_job(doc: dict[str, Any]) -> None:
    """completions and parallelism 1 when both are unset (parallelism = 1 otherwise),
    backoffLimit 6 (the int32 maximum beside backoffLimitPerIndex), completionMode
    NonIndexed, suspend false, manualSelector false, podReplacementPolicy Failed with a
    podFailurePolicy (else TerminatingOrFailed), the pod template's restartPolicy left to the
    user (validation requires Never/OnFailure), podFailurePolicy rules' onPodConditions status True."""
    spec = doc.setdefault("spec", {})
    if spec.get("completions") is None and spec.get("parallelism") is None:
        spec["completions"] = 1
    spec.setdefault("parallelism", 1)
    spec.setdefault("backoffLimit", MAX_INT32 if spec.get("backoffLimitPerIndex") is not None
                    else DEFAULT_BACKOFF_LIMIT)
    spec.setdefault("podReplacementPolicy", "Failed" if spec.get("podFailurePolicy") is not None
                    else "TerminatingOrFailed")
    spec.setdefault("completionMode", "NonIndexed")
    spec.setdefault("suspend", False)
    spec.setdefault("manualSelector", False)
    for rule in (spec.get("podFailurePolicy") or {}).get("rules") or []:
        for pattern in rule.get("onPodConditions") or []:
            pattern.setdefault("status", "True")


# -- validation (pkg/apis/batch/validation/validation.go) ------------------------------------
COMPLETION_MODES = ["Indexed", "NonIndexed"]
RESTART_POLICIES = ["OnFailure", "Never"]
FAILURE_ACTIONS = ["Count", "FailIndex", "FailJob", "Ignore"]


def _non_negative(path: str, value: int | None) -> list[FieldError]:
    if value is not None and value < 0:
        return [FieldError(path, "Invalid", value, "must be greater than or equal to 0")]
    return []


def check_job(job: Job) -> list[FieldError]:
    spec = job.spec
    if spec is None or spec.template is None:
        return [FieldError("spec.template", "Required")]
    errs = _non_negative("spec.parallelism", spec.parallelism)
    errs += _non_negative("spec.completions", spec.completions)
    errs += _non_negative("spec.backoffLimit", spec.backoff_limit)
    errs += _non_negative("spec.ttlSecondsAfterFinished", spec.ttl_seconds_after_finished)
    if spec.active_deadline_seconds is not None and spec.active_deadline_seconds <= 0:
        errs.append(FieldError("spec.activeDeadlineSeconds", "Invalid", spec.active_deadline_seconds,
                               "must be greater than 0"))
    mode = spec.completion_mode or "NonIndexed"
    if mode not in COMPLETION_MODES:
        errs.append(not_supported("spec.completionMode", mode, COMPLETION_MODES))
    if mode == "Indexed":
        if spec.completions is None:
            errs.append(FieldError("spec.completions", "Required",
                                   detail="when completion mode is Indexed"))
        elif spec.completions > MAX_COMPLETIONS_INDEXED:
            errs.append(FieldError("spec.completions", "Invalid", spec.completions,
                                   f"must be less than or equal to {MAX_COMPLETIONS_INDEXED} "
                                   "when completion mode is Indexed"))
        if (spec.parallelism or 0) > MAX_COMPLETIONS_INDEXED:
            errs.append(FieldError("spec.parallelism", "Invalid", spec.parallelism,
                                   f"must be less than or equal to {MAX_COMPLETIONS_INDEXED} "
                                   "when completion mode is Indexed"))
    if spec.manual_selector:
        errs.append(FieldError("spec.manualSelector", "Forbidden", True,
                               "a manual selector is not supported by kafkube: the selector is generated"))
    pod_spec = spec.template.spec
    policy = pod_spec.restart_policy if pod_spec is not None else None
    if policy not in RESTART_POLICIES:
        errs.append(not_supported("spec.template.spec.restartPolicy", policy or "", RESTART_POLICIES))
    if spec.pod_failure_policy is not None:
        errs += _check_failure_policy(spec.pod_failure_policy, policy, spec.backoff_limit_per_index)
    return errs + _check_per_index(spec, mode) + _check_success_policy(spec, mode) + _check_replacement(spec)


def _check_per_index(spec: JobSpec, mode: str) -> list[FieldError]:
    """backoffLimitPerIndex and maxFailedIndexes: non-negative, Indexed only, the second
    only with the first and at most completions."""
    errs = _non_negative("spec.backoffLimitPerIndex", spec.backoff_limit_per_index)
    errs += _non_negative("spec.maxFailedIndexes", spec.max_failed_indexes)
    if spec.max_failed_indexes is not None and spec.backoff_limit_per_index is None:
        errs.append(FieldError("spec.backoffLimitPerIndex", "Required", detail="when maxFailedIndexes is specified"))
    if mode != "Indexed":
        for path, value in (("spec.backoffLimitPerIndex", spec.backoff_limit_per_index),
                            ("spec.maxFailedIndexes", spec.max_failed_indexes)):
            if value is not None:
                errs.append(FieldError(path, "Invalid", value, "requires indexed completion mode"))
    elif spec.max_failed_indexes is not None:
        if spec.completions is not None and spec.max_failed_indexes > spec.completions:
            errs.append(FieldError("spec.maxFailedIndexes", "Invalid", spec.max_failed_indexes,
                                   "must be less than or equal to completions"))
        if spec.max_failed_indexes > MAX_COMPLETIONS_INDEXED:
            errs.append(FieldError("spec.maxFailedIndexes", "Invalid", spec.max_failed_indexes,
                                   f"must be less than or equal to {MAX_COMPLETIONS_INDEXED}"))
    return errs


def _check_success_policy(spec: JobSpec, mode: str) -> list[FieldError]:
    policy, path = spec.success_policy, "spec.successPolicy.rules"
    if policy is None:
        return []
    if mode != "Indexed":
        return [FieldError("spec.successPolicy", "Invalid", policy.model_dump(by_alias=True, exclude_none=True),
                           "requires indexed completion mode")]
    errs = []
    if not policy.rules:
        errs.append(FieldError(path, "Required", detail="at least one rules must be specified when the "
                                                        "successPolicy is specified"))
    if len(policy.rules) > MAX_SUCCESS_POLICY_RULES:
        errs.append(FieldError(path, "TooMany", len(policy.rules),
                               f"must have at most {MAX_SUCCESS_POLICY_RULES} items"))
    completions = spec.completions or 0
    for i, rule in enumerate(policy.rules):
        where = f"{path}[{i}]"
        if rule.succeeded_count is None and rule.succeeded_indexes is None:
            errs.append(FieldError(where, "Required", detail="at least one of succeededCount or succeededIndexes "
                                                             "must be specified"))
        total = 0
        if rule.succeeded_indexes is not None:
            if len(rule.succeeded_indexes) > MAX_SUCCEEDED_INDEXES_LENGTH:
                errs.append(FieldError(f"{where}.succeededIndexes", "TooLong",
                                       detail=f"may not be more than {MAX_SUCCEEDED_INDEXES_LENGTH} bytes"))
            try:
                total = count_indexes(rule.succeeded_indexes, completions)
            except ValueError as exc:
                errs.append(FieldError(f"{where}.succeededIndexes", "Invalid", rule.succeeded_indexes,
                                       f"error parsing succeededIndexes: {exc}"))
        if (count := rule.succeeded_count) is not None:
            errs += _non_negative(f"{where}.succeededCount", count)
            if count > completions:
                errs.append(FieldError(f"{where}.succeededCount", "Invalid", count, f"must be less than or equal to "
                                       f"{completions} (the number of specified completions)"))
            if rule.succeeded_indexes is not None and count > total:
                errs.append(FieldError(f"{where}.succeededCount", "Invalid", count, f"must be less than or equal to "
                                       f"{total} (the number of indexes in the specified succeededIndexes field)"))
    return errs


def count_indexes(text: str, completions: int) -> int:
    """How many indexes `text` (`"1,3-5"`) names; ValueError with upstream's messages
    (validateIndexesFormat) when it is malformed, out of range or not increasing."""
    if not text:
        return 0
    total, last = 0, None
    for interval in text.split(","):
        limits = interval.split("-")
        if len(limits) > 2:
            raise ValueError(f'the fragment "{interval}" violates the requirement that an index interval can have '
                             "at most two parts separated by '-'")
        bounds = []
        for limit in limits:
            if not limit.lstrip("+-").isdigit():
                raise ValueError(f'cannot convert string to integer for index: "{limit}"')
            if int(limit) >= completions:
                raise ValueError(f'too large index: "{limit}"')
            bounds.append(int(limit))
        low, high = bounds[0], bounds[-1]
        if len(bounds) == 2 and low >= high:
            raise ValueError(f'non-increasing order, previous: {low}, current: {high}')
        if last is not None and last >= low:
            raise ValueError(f"non-increasing order, previous: {last}, current: {low}")
        total += high - low + 1
        last = high
    return total


REPLACEMENT_POLICIES = ["Failed", "TerminatingOrFailed"]


def _check_replacement(spec: JobSpec) -> list[FieldError]:
    policy = spec.pod_replacement_policy
    if policy is None:
        return []
    allowed = ["Failed"] if spec.pod_failure_policy is not None else REPLACEMENT_POLICIES
    return [] if policy in allowed else [not_supported("spec.podReplacementPolicy", policy, allowed)]


def _check_failure_policy(policy: PodFailurePolicy, restart_policy: str | None,
                          backoff_limit_per_index: int | None) -> list[FieldError]:
    base = "spec.podFailurePolicy"
    errs = []
    if restart_policy != "Never":
        errs.append(FieldError("spec.template.spec.restartPolicy", "Invalid", restart_policy,
                               "only \"Never\" is supported when podFailurePolicy is specified"))
    for i, rule in enumerate(policy.rules):
        path = f"{base}.rules[{i}]"
        if rule.action == "FailIndex" and backoff_limit_per_index is None:
            errs.append(FieldError(f"{path}.action", "Invalid", rule.action,
                                   "requires the backoffLimitPerIndex to be set"))
        elif rule.action not in FAILURE_ACTIONS:
            errs.append(not_supported(f"{path}.action", rule.action, FAILURE_ACTIONS))
        if (rule.on_exit_codes is None) == (rule.on_pod_conditions is None):
            errs.append(FieldError(path, "Invalid", None,
                                   "specifying one of OnExitCodes and OnPodConditions is required"))
        codes = rule.on_exit_codes
        if codes is not None:
            if not codes.values:
                errs.append(FieldError(f"{path}.onExitCodes.values", "Invalid", codes.values,
                                       "at least one value is required"))
            if codes.operator == "In" and 0 in codes.values:
                errs.append(FieldError(f"{path}.onExitCodes.values", "Invalid", 0,
                                       "must not be 0 for the In operator"))
            if len(set(codes.values)) != len(codes.values) or sorted(codes.values) != codes.values:
                errs.append(FieldError(f"{path}.onExitCodes.values", "Invalid", codes.values,
                                       "must be ordered and unique"))
    return errs


# -- update (ValidateJobSpecUpdate) --------------------------------------------------------------
IMMUTABLE_JOB_FIELDS = ("selector", "completionMode", "podFailurePolicy", "backoffLimitPerIndex", "successPolicy")
SCHEDULING_DIRECTIVES = ("nodeSelector", "tolerations", "affinity", "schedulingGates")


def check_job_update(new: dict[str, Any], old: dict[str, Any]) -> list[FieldError]:
    """What a Job's spec may not change: completions (but an Indexed Job's, with parallelism
    in tandem), the selector, completionMode, podFailurePolicy, backoffLimitPerIndex,
    successPolicy, and the pod template (of a suspended Job, its scheduling directives,
    labels and annotations may change)."""
    spec, before = new.get("spec") or {}, old.get("spec") or {}
    errs: list[FieldError] = []
    completions = spec.get("completions")
    if completions != before.get("completions"):
        if spec.get("completionMode") != "Indexed":
            errs.append(FieldError("spec.completions", "Invalid", completions, "field is immutable"))
        elif completions is not None and completions != spec.get("parallelism"):
            errs.append(FieldError("spec.completions", "Invalid", completions,
                                   "can only be modified in tandem with spec.parallelism"))
    errs += [FieldError(f"spec.{f}", "Invalid", spec.get(f), "field is immutable")
             for f in IMMUTABLE_JOB_FIELDS if spec.get(f) != before.get(f)]
    template, old_template = spec.get("template") or {}, before.get("template") or {}
    if before.get("suspend"):
        old_template = _with_scheduling_of(old_template, template)
    if template != old_template:
        errs.append(FieldError("spec.template", "Invalid", template, "field is immutable"))
    return errs


def _with_scheduling_of(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """`old` with `new`'s scheduling directives, labels and annotations (what may change
    in a suspended Job's template)."""
    meta = {k: v for k, v in (old.get("metadata") or {}).items() if k not in ("labels", "annotations")}
    meta.update({k: v for k, v in (new.get("metadata") or {}).items() if k in ("labels", "annotations")})
    pod = {k: v for k, v in (old.get("spec") or {}).items() if k not in SCHEDULING_DIRECTIVES}
    pod.update({k: v for k, v in (new.get("spec") or {}).items() if k in SCHEDULING_DIRECTIVES})
    result = {**old, "spec": pod}
    if meta or "metadata" in new or "metadata" in old:
        result["metadata"] = meta
    return result


# -- CronJob ------------------------------------------------------------------------------------
CRONJOB_SCHEDULED_ANNOTATION = "batch.kubernetes.io/cronjob-scheduled-timestamp"
CONCURRENCY_POLICIES = ["Allow", "Forbid", "Replace"]


class JobTemplateSpec(KubeModel):
    metadata: ObjectMeta | None = None
    spec: JobSpec | None = None


class CronJobSpec(KubeModel):
    schedule: str = ""
    time_zone: str | None = None
    starting_deadline_seconds: Int64 | None = None
    concurrency_policy: str | None = None
    suspend: bool | None = None
    job_template: JobTemplateSpec = JobTemplateSpec()
    successful_jobs_history_limit: Int32 | None = None
    failed_jobs_history_limit: Int32 | None = None


class CronJobStatus(KubeModel):
    active: list[ObjectReference] | None = None
    last_schedule_time: Time | None = None
    last_successful_time: Time | None = None


class CronJob(Resource):
    api_version: Literal["batch/v1"] = "batch/v1"
    kind: Literal["CronJob"] = "CronJob"
    spec: CronJobSpec | None = None
    status: CronJobStatus | None = None


def default_cronjob(doc: dict[str, Any]) -> None:
    """concurrencyPolicy Allow, suspend false, history limits 3 and 1; the job template's
    spec defaulted as a Job's."""
    spec = doc.setdefault("spec", {})
    spec.setdefault("concurrencyPolicy", "Allow")
    spec.setdefault("suspend", False)
    spec.setdefault("successfulJobsHistoryLimit", 3)
    spec.setdefault("failedJobsHistoryLimit", 1)
    template = spec.setdefault("jobTemplate", {})
    default_job(template)


def check_cronjob(cronjob: CronJob) -> list[FieldError]:
    spec = cronjob.spec
    if spec is None:
        return [FieldError("spec.schedule", "Required")]
    errs: list[FieldError] = []
    if not spec.schedule:
        errs.append(FieldError("spec.schedule", "Required"))
    elif "TZ" in spec.schedule:
        errs.append(FieldError("spec.schedule", "Invalid", spec.schedule,
                               "cannot use TZ or CRON_TZ in schedule, use timeZone field instead"))
    else:
        try:
            parse_schedule(spec.schedule)
        except CronError as exc:
            errs.append(FieldError("spec.schedule", "Invalid", spec.schedule, str(exc)))
    if spec.time_zone is not None and zone_of(spec.time_zone) is None:
        errs.append(FieldError("spec.timeZone", "Invalid", spec.time_zone, f"unknown time zone {spec.time_zone}"))
    policy = spec.concurrency_policy or "Allow"
    if policy not in CONCURRENCY_POLICIES:
        errs.append(not_supported("spec.concurrencyPolicy", policy, CONCURRENCY_POLICIES))
    errs += _non_negative("spec.startingDeadlineSeconds", spec.starting_deadline_seconds)
    errs += _non_negative("spec.successfulJobsHistoryLimit", spec.successful_jobs_history_limit)
    errs += _non_negative("spec.failedJobsHistoryLimit", spec.failed_jobs_history_limit)
    template = Job(metadata=ObjectMeta(name=cronjob.metadata.name), spec=spec.job_template.spec)
    for err in check_job(template):
        errs.append(FieldError(err.path.replace("spec.", "spec.jobTemplate.spec.", 1), err.kind, err.value,
                               err.detail))
    return errs


def zone_of(name: str) -> tzinfo | None:
    """The IANA zone `name` (a path-free name only), None when unknown."""
    if not name or name.startswith("/") or ".." in name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
