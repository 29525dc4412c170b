"""A pod as the Job controller sees it: the desired pod (labels, annotations,
finalizers, deletion) joined with its kubelet-observed status (phase, Ready,
terminated containers' exit codes, conditions), as a small frozen value. Pure;
built by `job.service` for `job.reconcile`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from schemas.batch import COMPLETION_INDEX_ANNOTATION, TRACKING_FINALIZER

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
    return JobPod(name=meta.get("name", ""), uid=uid, resource_version=meta.get("resourceVersion"),
                  phase=str(status.get("phase") or "Pending"), deleting=bool(meta.get("deletionTimestamp")),
                  finalizers=tuple(meta.get("finalizers") or ()),
                  index=parse_index((meta.get("annotations") or {}).get(COMPLETION_INDEX_ANNOTATION)),
                  ready=("Ready", "True") in conditions, restarts=restarts, exit_codes=tuple(exits),
                  conditions=conditions)
