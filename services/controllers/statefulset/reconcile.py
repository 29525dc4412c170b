"""The StatefulSet controller's one pure decision (upstream's updateStatefulSet in
stateful_set_control.go): the set, its pods, the claims of its ordinals, its
revisions and *now* in; a `Plan` out.

Order of work, as upstream: choose the current and update revisions; for each ordinal
in [start, start+replicas) in order, create its missing claims then its pod (from the
current revision below the partition, else the update revision), replace a failed
pod, and under OrderedReady stop at the first pod that is not Running and Ready (and
available for minReadySeconds) or is terminating; then delete the pods whose ordinal
is out of range, highest first (one at a time and only when all others are healthy
under OrderedReady); then, under RollingUpdate, delete the highest-ordinal pod at or
above the partition that is not at the update revision, one at a time, waiting for
each to be healthy again. A pod's name is its ordinal, so two pods of one ordinal
never exist: a terminating pod's replacement waits until it is gone."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from schemas.statefulset import ON_DELETE, PARALLEL, REVISION_LABEL, ROLLING_UPDATE, StatefulSet, StatefulSetStatus
from services.controllers.machinery.podview import PodView
from services.controllers.statefulset.identity import (
    ClaimView,
    claim_name,
    claim_owner_refs,
    claim_templates,
    new_claim,
    new_pod,
    ordinal_of,
)
from services.controllers.statefulset.revisions import (
    RevisionChoice,
    RevisionView,
    choose_revisions,
    history_to_delete,
    template_of,
)


@dataclass(frozen=True, slots=True)
class ClaimPatch:
    """New owner references for a claim (the retention policy)."""

    name: str
    uid: str
    resource_version: str | None
    owner_refs: tuple[Mapping[str, Any], ...]


@dataclass(frozen=True, slots=True)
class Plan:
    status: dict[str, Any]
    create_revision: dict[str, Any] | None = None
    bump_revision: RevisionView | None = None
    delete_revisions: tuple[RevisionView, ...] = ()
    create_claims: tuple[dict[str, Any], ...] = ()
    patch_claims: tuple[ClaimPatch, ...] = ()
    create_pods: tuple[dict[str, Any], ...] = ()
    delete_pods: tuple[PodView, ...] = ()
    requeue_after: float | None = None


@dataclass
class _Work:
    """What one pass has decided so far (mutable while the pure pass runs)."""

    claims: list[dict[str, Any]] = field(default_factory=list)
    pods: list[dict[str, Any]] = field(default_factory=list)
    deletes: list[PodView] = field(default_factory=list)
    wait: float | None = None
    blocked: bool = False

    def wait_for(self, seconds: float | None) -> None:
        if seconds is not None:
            self.wait = seconds if self.wait is None else min(self.wait, seconds)


def running_and_ready(pod: PodView) -> bool:
    return pod.phase == "Running" and pod.ready and not pod.deleting


def healthy(pod: PodView, min_ready: int, now: datetime) -> bool:
    """Running, Ready for minReadySeconds and not terminating (!isUnavailable)."""
    return running_and_ready(pod) and pod.available(min_ready, now)


def reconcile(sts: StatefulSet, previous: StatefulSetStatus | None, pods: Sequence[PodView],
              claims: Mapping[str, ClaimView], revisions: Sequence[RevisionView], now: datetime) -> Plan:
    assert sts.spec is not None and sts.spec.template is not None
    spec = sts.spec
    choice = choose_revisions(sts, revisions, (previous.collision_count or 0) if previous else 0,
                              previous.current_revision if previous else None)
    start = spec.ordinals.start if spec.ordinals else 0
    count = spec.replicas if spec.replicas is not None else 1
    min_ready = spec.min_ready_seconds or 0
    slots: dict[int, PodView] = {}
    condemned: list[tuple[int, PodView]] = []
    for pod in pods:
        ordinal = ordinal_of(sts.metadata.name or "", pod.name)
        if ordinal is None:
            continue
        if start <= ordinal < start + count:
            slots[ordinal] = pod
        else:
            condemned.append((ordinal, pod))
    condemned.sort(key=lambda item: -item[0])
    work = _Work()
    if not sts.metadata.deletion_timestamp:
        monotonic = spec.pod_management_policy != PARALLEL
        _replicas(sts, choice, slots, claims, start, count, monotonic, min_ready, now, work)
        _condemned(condemned, monotonic, min_ready, now, work)
        _rolling_update(sts, choice, slots, start, count, min_ready, now, work)
    for pod in pods:
        if not pod.ready_since or pod.available(min_ready, now):
            continue
        work.wait_for(pod.available_in(min_ready, now))
    status = _status(sts, choice, [p for p in pods if ordinal_of(sts.metadata.name or "", p.name) is not None],
                     min_ready, now)
    keep = {choice.current.name, choice.update.name, *(p.labels.get(REVISION_LABEL, "") for p in pods)}
    limit = spec.revision_history_limit if spec.revision_history_limit is not None else 10
    return Plan(status=status, create_revision=choice.create, bump_revision=choice.bump,
                delete_revisions=tuple(history_to_delete(revisions, keep, limit)),
                create_claims=tuple(work.claims), patch_claims=tuple(_claim_patches(sts, slots, condemned, claims)),
                create_pods=tuple(work.pods), delete_pods=tuple(work.deletes), requeue_after=work.wait)


def _missing_claims(sts: StatefulSet, ordinal: int, claims: Mapping[str, ClaimView]) -> list[dict[str, Any]]:
    return [new_claim(sts, t, ordinal) for t in claim_templates(sts) if claim_name(t, sts, ordinal) not in claims]


def _template_for(sts: StatefulSet, choice: RevisionChoice, index: int) -> tuple[dict[str, Any], str]:
    """The current revision below the partition, else the update revision."""
    strategy = sts.spec.update_strategy if sts.spec else None
    rolling = strategy.rolling_update if strategy is not None and strategy.type == ROLLING_UPDATE else None
    if rolling is not None and rolling.partition is not None and index < rolling.partition:
        return template_of(choice.current), choice.current.name
    return template_of(choice.update), choice.update.name


def _replicas(sts: StatefulSet, choice: RevisionChoice, slots: Mapping[int, PodView], claims: Mapping[str, ClaimView],
              start: int, count: int, monotonic: bool, min_ready: int, now: datetime, work: _Work) -> None:
    for ordinal in range(start, start + count):
        pod = slots.get(ordinal)
        if pod is None:
            work.claims += _missing_claims(sts, ordinal, claims)
            template, revision = _template_for(sts, choice, ordinal - start)
            work.pods.append(new_pod(sts, template, revision, ordinal))
            if monotonic:
                work.blocked = True
                return
            continue
        if pod.phase in ("Failed", "Succeeded"):
            if not pod.deleting:
                work.deletes.append(pod)
            if monotonic:
                work.blocked = True
                return
            continue
        if pod.phase == "Pending" and not pod.deleting:
            work.claims += _missing_claims(sts, ordinal, claims)
        if monotonic and not healthy(pod, min_ready, now):
            work.wait_for(pod.available_in(min_ready, now))
            work.blocked = True
            return


def _condemned(condemned: Sequence[tuple[int, PodView]], monotonic: bool, min_ready: int, now: datetime,
               work: _Work) -> None:
    if work.blocked:
        return
    unhealthy = [p for _, p in sorted(condemned) if not healthy(p, min_ready, now)]
    first_unhealthy = unhealthy[0] if unhealthy else None
    for _, pod in condemned:
        if pod.deleting:
            if monotonic:
                work.blocked = True
                return
            continue
        if monotonic and not healthy(pod, min_ready, now) and pod is not first_unhealthy:
            work.blocked = True
            return
        work.deletes.append(pod)
        if monotonic:
            work.blocked = True
            return


def _rolling_update(sts: StatefulSet, choice: RevisionChoice, slots: Mapping[int, PodView], start: int, count: int,
                    min_ready: int, now: datetime, work: _Work) -> None:
    strategy = sts.spec.update_strategy if sts.spec else None
    if work.blocked or strategy is None or strategy.type == ON_DELETE:
        return
    partition = (strategy.rolling_update.partition or 0) if strategy.rolling_update else 0
    for index in range(count - 1, partition - 1, -1):
        pod = slots.get(start + index)
        if pod is None:
            return  # being created (Parallel): wait for it
        if pod.labels.get(REVISION_LABEL) != choice.update.name and not pod.deleting:
            if pod not in work.deletes:
                work.deletes.append(pod)
            return
        if not healthy(pod, min_ready, now):
            return


def _claim_patches(sts: StatefulSet, slots: Mapping[int, PodView], condemned: Sequence[tuple[int, PodView]],
                   claims: Mapping[str, ClaimView]) -> list[ClaimPatch]:
    """Claims of existing pods whose owner references differ from the retention policy's."""
    patches = []
    owners = [(o, p, False) for o, p in slots.items()] + [(o, p, True) for o, p in condemned]
    for ordinal, pod, scaled_away in owners:
        for template in claim_templates(sts):
            claim = claims.get(claim_name(template, sts, ordinal))
            if claim is None or claim.deleting:
                continue
            wanted = claim_owner_refs(sts, condemned_pod=(pod.name, pod.uid) if scaled_away else None,
                                      current=claim.owner_refs)
            if _ref_uids(wanted) != _ref_uids(claim.owner_refs):
                patches.append(ClaimPatch(claim.name, claim.uid, claim.resource_version, tuple(wanted)))
    return patches


def _ref_uids(refs: Sequence[Mapping[str, Any]]) -> list[str]:
    return sorted(str(r.get("uid")) for r in refs)


def _status(sts: StatefulSet, choice: RevisionChoice, pods: Sequence[PodView], min_ready: int,
            now: datetime) -> dict[str, Any]:
    """updateStatus + completeRollingUpdate."""
    ready = sum(1 for p in pods if running_and_ready(p))
    available = sum(1 for p in pods if running_and_ready(p) and p.available(min_ready, now))
    live = [p for p in pods if not p.deleting]
    current = sum(1 for p in live if p.labels.get(REVISION_LABEL) == choice.current.name)
    updated = sum(1 for p in live if p.labels.get(REVISION_LABEL) == choice.update.name)
    current_revision = choice.current.name
    strategy = sts.spec.update_strategy if sts.spec else None
    if (strategy is not None and strategy.type == ROLLING_UPDATE and updated == len(pods) and ready == len(pods)):
        current_revision, current = choice.update.name, updated
    return StatefulSetStatus(
        observed_generation=sts.metadata.generation, replicas=len(pods), ready_replicas=ready,
        current_replicas=current, updated_replicas=updated, available_replicas=available,
        current_revision=current_revision, update_revision=choice.update.name,
        collision_count=choice.collision_count,
    ).model_dump(by_alias=True, exclude_none=True, mode="json")
