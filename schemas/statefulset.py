"""``apps/v1`` StatefulSet: the model, upstream's defaults (`default_statefulset`) and the
StatefulSet-only validation rules with kube-apiserver's messages (`check_statefulset_spec`;
the selector/template rules shared with ReplicaSet and Deployment run in ``schemas.checks``
on `with_claim_volumes(spec)`, as upstream validates the template with the claim volumes
the controller adds), and the update rule (`check_statefulset_update`).

Used by the registry (kind, topics), ``schemas.defaults`` / ``schemas.checks`` /
``schemas.updates`` (admission), ``schemas.printing`` (kubectl's columns), the StatefulSet
controller (``services.controllers.statefulset``) and the CLI (``scale``, ``rollout``).
"""

from __future__ import annotations

from typing import Any, Literal

from schemas.meta import Condition, Int32, Int64, IntOrString, KubeModel, LabelSelector, ObjectMeta, Resource
from schemas.pod import PodTemplateSpec, Volume
from schemas.validation import FieldError, is_dns1123_label, not_supported

ORDERED_READY, PARALLEL = "OrderedReady", "Parallel"
ROLLING_UPDATE, ON_DELETE = "RollingUpdate", "OnDelete"
RETAIN, DELETE = "Retain", "Delete"
DEFAULT_REVISION_HISTORY_LIMIT = 10
POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name"
POD_INDEX_LABEL = "apps.kubernetes.io/pod-index"
REVISION_LABEL = "controller-revision-hash"


class StatefulSetOrdinals(KubeModel):
    start: Int32 = 0


class RollingUpdateStatefulSetStrategy(KubeModel):
    partition: Int32 | None = None
    max_unavailable: IntOrString | None = None


class StatefulSetUpdateStrategy(KubeModel):
    type: str | None = None
    rolling_update: RollingUpdateStatefulSetStrategy | None = None


class StatefulSetPersistentVolumeClaimRetentionPolicy(KubeModel):
    when_deleted: str | None = None
    when_scaled: str | None = None


class ClaimTemplateResources(KubeModel):
    requests: dict[str, str] | None = None
    limits: dict[str, str] | None = None


class ClaimTemplateSpec(KubeModel):
    """The PersistentVolumeClaim spec fields a template sets (other fields stay extra and
    are copied to the claims as written)."""

    access_modes: list[str] | None = None
    resources: ClaimTemplateResources | None = None
    storage_class_name: str | None = None
    volume_mode: str | None = None
    selector: LabelSelector | None = None


class PersistentVolumeClaimTemplate(KubeModel):
    """One entry of spec.volumeClaimTemplates: a PersistentVolumeClaim's metadata and spec."""

    api_version: str | None = None
    kind: str | None = None
    metadata: ObjectMeta = ObjectMeta()
    spec: ClaimTemplateSpec = ClaimTemplateSpec()


class StatefulSetSpec(KubeModel):
    replicas: Int32 | None = None
    selector: LabelSelector | None = None
    template: PodTemplateSpec | None = None
    volume_claim_templates: list[PersistentVolumeClaimTemplate] | None = None
    service_name: str | None = None
    pod_management_policy: str | None = None
    update_strategy: StatefulSetUpdateStrategy | None = None
    revision_history_limit: Int32 | None = None
    min_ready_seconds: Int32 | None = None
    persistent_volume_claim_retention_policy: StatefulSetPersistentVolumeClaimRetentionPolicy | None = None
    ordinals: StatefulSetOrdinals | None = None


class StatefulSetStatus(KubeModel):
    observed_generation: Int64 | None = None
    replicas: Int32 = 0
    ready_replicas: Int32 | None = None
    current_replicas: Int32 | None = None
    updated_replicas: Int32 | None = None
    available_replicas: Int32 | None = None
    current_revision: str | None = None
    update_revision: str | None = None
    collision_count: Int32 | None = None
    conditions: list[Condition] | None = None


class StatefulSet(Resource):
    api_version: Literal["apps/v1"] = "apps/v1"
    kind: Literal["StatefulSet"] = "StatefulSet"
    spec: StatefulSetSpec | None = None
    status: StatefulSetStatus | None = None


# -- defaults (pkg/apis/apps/v1/defaults.go SetDefaults_StatefulSet) ---------------------------
def default_statefulset(doc: dict[str, Any]) -> None:
    """podManagementPolicy OrderedReady; updateStrategy RollingUpdate with partition 0;
    persistentVolumeClaimRetentionPolicy Retain/Retain; replicas 1; revisionHistoryLimit
    10; each claim template's volumeMode Filesystem (SetDefaults_PersistentVolumeClaimSpec).
    The pod template is defaulted by the caller (``schemas.defaults``)."""
    spec = doc.setdefault("spec", {})
    if not spec.get("podManagementPolicy"):
        spec["podManagementPolicy"] = ORDERED_READY
    if not isinstance(spec.get("updateStrategy"), dict):
        spec["updateStrategy"] = {}
    strategy = spec["updateStrategy"]
    if not strategy.get("type"):
        strategy["type"] = ROLLING_UPDATE
        strategy.setdefault("rollingUpdate", {})
    if strategy["type"] == ROLLING_UPDATE and isinstance(strategy.get("rollingUpdate"), dict):
        strategy["rollingUpdate"].setdefault("partition", 0)
    if not isinstance(spec.get("persistentVolumeClaimRetentionPolicy"), dict):
        spec["persistentVolumeClaimRetentionPolicy"] = {}
    policy = spec["persistentVolumeClaimRetentionPolicy"]
    for field in ("whenDeleted", "whenScaled"):
        if not policy.get(field):
            policy[field] = RETAIN
    spec.setdefault("replicas", 1)
    spec.setdefault("revisionHistoryLimit", DEFAULT_REVISION_HISTORY_LIMIT)
    for claim in spec.get("volumeClaimTemplates") or []:
        if isinstance(claim, dict):
            claim.setdefault("spec", {}).setdefault("volumeMode", "Filesystem")


# -- validation (pkg/apis/apps/validation/validation.go ValidateStatefulSetSpec) --------------
ACCESS_MODES = ["ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"]
VOLUME_MODES = ["Block", "Filesystem"]


def _non_negative(path: str, value: int | None) -> list[FieldError]:
    if value is not None and value < 0:
        return [FieldError(path, "Invalid", value, "must be greater than or equal to 0")]
    return []


def check_statefulset_spec(spec: StatefulSetSpec) -> list[FieldError]:
    """The rules only a StatefulSet has (policies, strategy, claims, identity, restart).
    Admission checks the body before `default_statefulset` runs: a field the defaults
    fill (empty or absent) is valid here, as it is upstream once defaulted."""
    errs: list[FieldError] = []
    policy = spec.pod_management_policy
    if policy and policy not in (ORDERED_READY, PARALLEL):
        errs.append(FieldError("spec.podManagementPolicy", "Invalid", policy,
                               f"must be '{ORDERED_READY}' or '{PARALLEL}'"))
    errs += _check_strategy(spec.update_strategy)
    retention = spec.persistent_volume_claim_retention_policy
    if retention is not None:
        for field, value in (("whenDeleted", retention.when_deleted), ("whenScaled", retention.when_scaled)):
            if value and value not in (RETAIN, DELETE):
                errs.append(not_supported(f"spec.persistentVolumeClaimRetentionPolicy.{field}", value or "",
                                          [RETAIN, DELETE]))
    for i, claim in enumerate(spec.volume_claim_templates or []):
        errs += _check_claim_template(f"spec.volumeClaimTemplates[{i}]", claim)
    if spec.ordinals is not None:
        errs += _non_negative("spec.ordinals.start", spec.ordinals.start)
    if spec.service_name:
        errs += [FieldError("spec.serviceName", "Invalid", spec.service_name, msg)
                 for msg in is_dns1123_label(spec.service_name)]
    pod_spec = spec.template.spec if spec.template is not None else None
    restart = pod_spec.restart_policy if pod_spec is not None else None
    if restart is not None and restart != "Always":
        errs.append(not_supported("spec.template.spec.restartPolicy", restart or "", ["Always"]))
    if pod_spec is not None and pod_spec.active_deadline_seconds is not None:
        errs.append(FieldError("spec.template.spec.activeDeadlineSeconds", "Forbidden",
                               detail="activeDeadlineSeconds in StatefulSet is not Supported"))
    return errs


def _check_strategy(strategy: StatefulSetUpdateStrategy | None) -> list[FieldError]:
    kind = strategy.type if strategy is not None else None
    if strategy is None or not kind:
        return []  # defaulted to RollingUpdate
    path = "spec.updateStrategy.rollingUpdate"
    rolling = strategy.rolling_update
    if kind == ON_DELETE:
        if rolling is not None:
            return [FieldError(path, "Invalid", rolling.model_dump(by_alias=True, exclude_none=True),
                               f"only allowed for updateStrategy '{ROLLING_UPDATE}'")]
        return []
    if kind != ROLLING_UPDATE:
        return [FieldError("spec.updateStrategy", "Invalid", strategy.model_dump(by_alias=True, exclude_none=True),
                           f"must be '{ROLLING_UPDATE}' or '{ON_DELETE}'")]
    if rolling is None:
        return []
    errs = _non_negative(f"{path}.partition", rolling.partition)
    errs += _check_max_unavailable(f"{path}.maxUnavailable", rolling.max_unavailable)
    return errs


def _check_max_unavailable(path: str, value: IntOrString | None) -> list[FieldError]:
    if value is None:
        return []
    if isinstance(value, int):
        number = value
    elif value.endswith("%") and value[:-1].isdigit():
        number = int(value[:-1])
        if number > 100:
            return [FieldError(path, "Invalid", value, "must not be greater than 100%")]
    else:
        return [FieldError(path, "Invalid", value,
                           "a valid percent string must be a numeric string followed by an ending '%' "
                           "(e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')")]
    if number < 0:
        return [FieldError(path, "Invalid", value, "must be greater than or equal to 0")]
    if number == 0:
        return [FieldError(path, "Invalid", value, "cannot be 0")]
    return []


def _check_claim_template(path: str, claim: PersistentVolumeClaimTemplate) -> list[FieldError]:
    """ValidatePersistentVolumeClaimSpec's rules on a template, and a name to build claims from."""
    errs: list[FieldError] = []
    if not claim.metadata.name:
        errs.append(FieldError(f"{path}.metadata.name", "Required", detail="name or generateName is required"))
    spec = claim.spec
    modes = spec.access_modes or []
    if not modes:
        errs.append(FieldError(f"{path}.spec.accessModes", "Required", detail="at least 1 access mode is required"))
    for mode in modes:
        if mode not in ACCESS_MODES:
            errs.append(not_supported(f"{path}.spec.accessModes", mode, ACCESS_MODES))
    storage = (spec.resources.requests or {}).get("storage") if spec.resources is not None else None
    if storage is None:
        errs.append(FieldError(f"{path}.spec.resources[storage]", "Required"))
    if spec.volume_mode is not None and spec.volume_mode not in VOLUME_MODES:
        errs.append(not_supported(f"{path}.spec.volumeMode", spec.volume_mode, VOLUME_MODES))
    return errs


def with_claim_volumes(spec: StatefulSetSpec) -> StatefulSetSpec:
    """`spec` whose template has the volumes the controller adds (one persistentVolumeClaim
    volume per claim template, replacing a template volume of that name) and no
    hostname/subdomain (the controller sets them): what upstream validates."""
    template = spec.template
    if template is None:
        return spec
    claims = {c.metadata.name: Volume.model_validate({"name": c.metadata.name,
                                                      "persistentVolumeClaim": {"claimName": c.metadata.name}})
              for c in spec.volume_claim_templates or [] if c.metadata.name}
    if template.spec is None:
        return spec
    volumes = [*claims.values(), *(v for v in template.spec.volumes or [] if v.name not in claims)]
    pod_spec = template.spec.model_copy(update={"hostname": None, "subdomain": None,
                                                "volumes": volumes or template.spec.volumes})
    return spec.model_copy(update={"template": template.model_copy(update={"spec": pod_spec})})


# -- update (ValidateStatefulSetUpdate) ------------------------------------------------------
MUTABLE_SPEC_FIELDS = ("replicas", "ordinals", "template", "updateStrategy", "revisionHistoryLimit",
                       "persistentVolumeClaimRetentionPolicy", "minReadySeconds")
SPEC_UPDATE_FORBIDDEN = ("updates to statefulset spec for fields other than 'replicas', 'ordinals', "
                         "'template', 'updateStrategy', 'revisionHistoryLimit', "
                         "'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden")


def check_statefulset_update(new: dict[str, Any], old: dict[str, Any]) -> list[FieldError]:
    """Only the mutable spec fields may change (both documents admitted and defaulted)."""
    def frozen(doc: dict[str, Any]) -> dict[str, Any]:
        spec = doc.get("spec") if isinstance(doc.get("spec"), dict) else {}
        return {k: v for k, v in (spec or {}).items() if k not in MUTABLE_SPEC_FIELDS}
    if frozen(new) != frozen(old):
        return [FieldError("spec", "Forbidden", detail=SPEC_UPDATE_FORBIDDEN)]
    return []
