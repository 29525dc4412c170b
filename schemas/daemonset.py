"""``apps/v1`` DaemonSet: the model, upstream's defaults (`default_daemonset`) and the
DaemonSet-only validation rules with kube-apiserver's messages (`check_daemonset_spec`;
the selector/template rules shared with ReplicaSet and Deployment run in ``schemas.checks``).

Used by the registry (kind, topics), ``schemas.defaults`` / ``schemas.checks`` /
``schemas.updates`` (admission), ``schemas.printing`` (kubectl's columns), the DaemonSet
controller (``services.controllers.daemonset``) and the CLI (``rollout``).
"""

from __future__ import annotations

from typing import Any, Literal

from schemas.checks_pod import non_negative
from schemas.meta import Condition, Int32, Int64, IntOrString, KubeModel, LabelSelector, Resource
from schemas.pod import PodTemplateSpec
from schemas.validation import FieldError, is_percent, not_supported

ROLLING_UPDATE, ON_DELETE = "RollingUpdate", "OnDelete"
STRATEGY_TYPES = [ROLLING_UPDATE, ON_DELETE]
DEFAULT_REVISION_HISTORY_LIMIT = 10
REVISION_LABEL = "controller-revision-hash"
TEMPLATE_GENERATION_LABEL = "pod-template-generation"
TEMPLATE_GENERATION_ANNOTATION = "deprecated.daemonset.template.generation"


class RollingUpdateDaemonSet(KubeModel):
    max_unavailable: IntOrString | None = None
    max_surge: IntOrString | None = None


class DaemonSetUpdateStrategy(KubeModel):
    type: str | None = None
    rolling_update: RollingUpdateDaemonSet | None = None


class DaemonSetSpec(KubeModel):
    selector: LabelSelector | None = None
    template: PodTemplateSpec | None = None
    update_strategy: DaemonSetUpdateStrategy | None = None
    min_ready_seconds: Int32 | None = None
    revision_history_limit: Int32 | None = None


class DaemonSetStatus(KubeModel):
    current_number_scheduled: Int32 = 0
    number_misscheduled: Int32 = 0
    desired_number_scheduled: Int32 = 0
    number_ready: Int32 = 0
    observed_generation: Int64 | None = None
    updated_number_scheduled: Int32 | None = None
    number_available: Int32 | None = None
    number_unavailable: Int32 | None = None
    collision_count: Int32 | None = None
    conditions: list[Condition] | None = None


class DaemonSet(Resource):
    api_version: Literal["apps/v1"] = "apps/v1"
    kind: Literal["DaemonSet"] = "DaemonSet"
    spec: DaemonSetSpec | None = None
    status: DaemonSetStatus | None = None


# -- defaults (pkg/apis/apps/v1/defaults.go SetDefaults_DaemonSet) ---------------------------
def default_daemonset(doc: dict[str, Any]) -> None:
    """updateStrategy RollingUpdate with maxUnavailable 1 and maxSurge 0, revisionHistoryLimit
    10. (The pod template's own defaults are the caller's: ``schemas.defaults``.)"""
    spec = doc.setdefault("spec", {})
    strategy = spec.setdefault("updateStrategy", {})
    if not strategy.get("type"):
        strategy["type"] = ROLLING_UPDATE
    if strategy["type"] == ROLLING_UPDATE:
        rolling = strategy.setdefault("rollingUpdate", {})
        if rolling.get("maxUnavailable") is None:
            rolling["maxUnavailable"] = 1
        if rolling.get("maxSurge") is None:
            rolling["maxSurge"] = 0
    spec.setdefault("revisionHistoryLimit", DEFAULT_REVISION_HISTORY_LIMIT)


# -- validation (pkg/apis/apps/validation ValidateDaemonSetSpec) -----------------------------
def check_daemonset_spec(spec: DaemonSetSpec) -> list[FieldError]:
    """The rules only a DaemonSet has: no activeDeadlineSeconds in its pods, non-negative
    minReadySeconds and revisionHistoryLimit, and the update strategy (checked as
    `default_daemonset` will leave it: admission validates before it defaults)."""
    errs: list[FieldError] = []
    pod = spec.template.spec if spec.template is not None else None
    if pod is not None and pod.active_deadline_seconds is not None:
        errs.append(FieldError("spec.template.spec.activeDeadlineSeconds", "Forbidden",
                               detail="activeDeadlineSeconds in DaemonSet is not Supported"))
    errs += non_negative("spec.minReadySeconds", spec.min_ready_seconds)
    errs += non_negative("spec.revisionHistoryLimit", spec.revision_history_limit)
    return errs + _check_strategy(spec.update_strategy or DaemonSetUpdateStrategy())


def _check_strategy(strategy: DaemonSetUpdateStrategy) -> list[FieldError]:
    path = "spec.updateStrategy"
    kind = strategy.type or ROLLING_UPDATE
    if kind == ON_DELETE:
        return []
    if kind != ROLLING_UPDATE:
        return [not_supported(path, strategy.model_dump(by_alias=True, exclude_none=True), STRATEGY_TYPES)]
    rolling = strategy.rolling_update or RollingUpdateDaemonSet()
    max_unavailable = 1 if rolling.max_unavailable is None else rolling.max_unavailable  # as defaulted
    path += ".rollingUpdate"
    errs = _check_int_or_percent(f"{path}.maxUnavailable", max_unavailable)
    errs += _check_int_or_percent(f"{path}.maxSurge", rolling.max_surge)
    unavailable, surge = not _is_zero(max_unavailable), not _is_zero(rolling.max_surge)
    if unavailable and surge:
        errs.append(FieldError(f"{path}.maxSurge", "Invalid", rolling.max_surge,
                               "may not be set when maxUnavailable is non-zero"))
    elif not unavailable and not surge:
        errs.append(FieldError(f"{path}.maxUnavailable", "Required", detail="cannot be 0 when maxSurge is 0"))
    return errs


def _check_int_or_percent(path: str, value: IntOrString | None) -> list[FieldError]:
    """ValidatePositiveIntOrPercent and IsNotMoreThan100Percent."""
    if value is None or isinstance(value, int):
        return non_negative(path, value)
    problems = is_percent(value)
    if problems:
        return [FieldError(path, "Invalid", value, m) for m in problems]
    if int(value[:-1]) > 100:
        return [FieldError(path, "Invalid", value, "must not be greater than 100%")]
    return []


def _is_zero(value: IntOrString | None) -> bool:
    """getIntOrPercentValue(value) == 0 (an unset value is 0, as Go's zero IntOrString)."""
    if value is None or isinstance(value, int):
        return not value
    return value.rstrip("%") in ("0", "")


def scaled_value(value: IntOrString | None, total: int, *, round_up: bool) -> int:
    """intstr.GetScaledValueFromIntOrPercent: an int as is, a percentage of ``total``."""
    if value is None:
        return 0
    if isinstance(value, int):
        return value
    percent = int(value[:-1])
    whole, rest = divmod(percent * total, 100)
    return whole + (1 if round_up and rest else 0)
