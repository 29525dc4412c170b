"""A pod as the Job controller sees it: the desired pod (labels, annotations,
finalizers, deletion, node) joined with its kubelet-observed status (phase, Ready,
terminated containers' exit codes and finish time, conditions), as a small frozen value.
Pure; built by `job.service` for `job.reconcile`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from schemas.batch import (COMPLETION_INDEX_ANNOTATION, INDEX_FAILURE_COUNT_ANNOTATION,
                           INDEX_IGNORED_FAILURE_COUNT_ANNOTATION, TRACKING_FINALIZER)
from services.controllers.machinery.podview import parse_time

TERMINAL = ("Succeeded", "Failed")


@dataclass(frozen=True, slots=True)
class JobPod:
    name: str
    uid: str
    resource_version: str | None = None
    phase: str = "Pending"
    deleting: bool = False
    finalizers: tuple[str, ...] = ()
    index: int | None = None  # the completion index (Indexed Jobs), None when absent or malformed
    ready: bool = False
    restarts: int = 0
    exit_codes: tuple[tuple[str, int], ...] = ()  # (container, exit code) of terminated containers
    conditions: tuple[tuple[str, str], ...] = ()  # (type, status)
    finished_at: datetime | None = None  # when it finished (upstream's getFinishedTime), if it did
    failure_count: int = 0  # batch.kubernetes.io/job-index-failure-count: failures of its index before it
    ignored_count: int = 0  # batch.kubernetes.io/job-index-ignored-failure-count: those an Ignore rule matched
    bound: bool = True  # on a node (a deleted pod that never was will never report Failed)

    @property
    def tracked(self) -> bool:
        return TRACKING_FINALIZER in self.finalizers

    @property
    def active(self) -> bool:
        return not self.deleting and self.phase not in TERMINAL

    @property
    def terminating(self) -> bool:
        return self.deleting and self.phase not in TERMINAL

    @property
    def failed(self) -> bool:
        """Failed, or deleted before it succeeded (upstream's isPodFailed for a
        terminating pod once the kubelet is done with it or the Job finished)."""
        return self.phase == "Failed" or (self.deleting and self.phase != "Succeeded")

    def failed_under(self, replacement_policy: str | None) -> bool:
        """`failed` as podReplacementPolicy has it: under Failed, a terminating pod counts
        only once its phase is Failed (or if it was never bound: no kubelet will end it)."""
        if replacement_policy == "Failed":
            return self.phase == "Failed" or (self.deleting and not self.bound and self.phase != "Succeeded")
        return self.failed


def parse_index(value: Any) -> int | None:
    """The completion index annotation: a decimal without sign or leading zeros."""
    if not isinstance(value, str) or not value.isdigit() or (len(value) > 1 and value[0] == "0"):
        return None
    return int(value)


def job_pod(pod: Mapping[str, Any], observed: Mapping[str, Any] | None) -> JobPod:
    """Join a desired pod with its observed record (ignored when it is about another
    pod of the same name, i.e. another uid)."""
    meta = pod.get("metadata") or {}
    uid = meta.get("uid") or ""
    status: Mapping[str, Any] = {}
    if observed and (observed.get("metadata") or {}).get("uid") in (None, uid):
        status = observed.get("status") or {}
    conditions = tuple((str(c.get("type")), str(c.get("status"))) for c in status.get("conditions") or ())
    exits = []
    restarts = 0
    for container in status.get("containerStatuses") or ():
        restarts += int(container.get("restartCount") or 0)
        terminated = (container.get("state") or {}).get("terminated")
        if isinstance(terminated, Mapping) and isinstance(terminated.get("exitCode"), int):
            exits.append((str(container.get("name", "")), int(terminated["exitCode"])))
    annotations = meta.get("annotations") or {}
    return JobPod(name=meta.get("name", ""), uid=uid, resource_version=meta.get("resourceVersion"),
                  phase=str(status.get("phase") or "Pending"), deleting=bool(meta.get("deletionTimestamp")),
                  finalizers=tuple(meta.get("finalizers") or ()),
                  index=parse_index(annotations.get(COMPLETION_INDEX_ANNOTATION)),
                  ready=("Ready", "True") in conditions, restarts=restarts, exit_codes=tuple(exits),
                  conditions=conditions, finished_at=finished_at(meta, status),
                  failure_count=parse_index(annotations.get(INDEX_FAILURE_COUNT_ANNOTATION)) or 0,
                  ignored_count=parse_index(annotations.get(INDEX_IGNORED_FAILURE_COUNT_ANNOTATION)) or 0,
                  bound=bool((pod.get("spec") or {}).get("nodeName")))


def finished_at(meta: Mapping[str, Any], status: Mapping[str, Any]) -> datetime | None:
    """Upstream's getFinishedTime of a finished pod: its containers' latest finishedAt (all
    terminated), else its Ready=False transition, else its deletion time less the grace
    period, else its creation; None while it has not finished."""
    if status.get("phase") not in TERMINAL and not meta.get("deletionTimestamp"):
        return None
    ends = [parse_time(((c.get("state") or {}).get("terminated") or {}).get("finishedAt"))
            for c in status.get("containerStatuses") or ()]
    if ends and all(ends):
        return max(e for e in ends if e is not None)
    for c in status.get("conditions") or ():
        if c.get("type") == "Ready" and c.get("status") == "False" and (t := parse_time(c.get("lastTransitionTime"))):
            return t
    if deleted := parse_time(meta.get("deletionTimestamp")):
        return deleted - timedelta(seconds=int(meta.get("deletionGracePeriodSeconds") or 0))
    return parse_time(meta.get("creationTimestamp"))
