"""A pod as the workload controllers see it: the desired pod (metadata, node) joined
with its kubelet-observed status (phase, readiness), flattened into a small frozen
value. Built by the controllers' cache; read by the pure reconcilers, which also
use `deletion_rank` (Kubernetes' ActivePods ordering) and the availability rules."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, NamedTuple

TERMINAL_PHASES = ("Succeeded", "Failed")
PHASE_RANK = {"Pending": 0, "Unknown": 1, "Running": 2}


class OwnerRef(NamedTuple):
    """A controller reference (a tuple: built for every pod change a controller sees,
    at less than half the cost of a frozen dataclass)."""

    api_version: str
    kind: str
    name: str
    uid: str


@dataclass(frozen=True, slots=True)
class PodView:
    name: str
    namespace: str
    uid: str
    labels: Mapping[str, str] = field(default_factory=dict)
    owner: OwnerRef | None = None  # the controller reference, if any
    owner_refs: tuple[dict[str, Any], ...] = ()  # every reference, as JSON (for patches)
    resource_version: str | None = None
    created: datetime | None = None
    deleting: bool = False
    node: str | None = None
    phase: str = "Pending"
    ready_since: datetime | None = None  # Ready=True since; None when not ready
    restarts: int = 0

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def active(self) -> bool:
        """Counts toward replicas: not terminating, not finished (FilterActivePods)."""
        return not self.deleting and self.phase not in TERMINAL_PHASES

    @property
    def ready(self) -> bool:
        return self.ready_since is not None

    def available(self, min_ready_seconds: int, now: datetime) -> bool:
        """Ready for at least minReadySeconds (Kubernetes' IsPodAvailable)."""
        if self.ready_since is None:
            return False
        return min_ready_seconds <= 0 or self.ready_since + timedelta(seconds=min_ready_seconds) <= now

    def available_in(self, min_ready_seconds: int, now: datetime) -> float | None:
        """Seconds until a ready-but-not-yet-available pod becomes available."""
        if self.ready_since is None or self.available(min_ready_seconds, now):
            return None
        due = self.ready_since + timedelta(seconds=min_ready_seconds)
        return max(0.0, (due - now).total_seconds())


def parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def controller_ref(meta: Mapping[str, Any]) -> OwnerRef | None:
    for ref in meta.get("ownerReferences") or ():
        if ref.get("controller") and ref.get("uid"):
            return OwnerRef(ref.get("apiVersion", ""), ref.get("kind", ""), ref.get("name", ""), ref["uid"])
    return None


def controller_uid(obj: Mapping[str, Any]) -> str | None:
    """The uid of the object's controller (None: it has none)."""
    for ref in (obj.get("metadata") or {}).get("ownerReferences") or ():
        if ref.get("controller") and ref.get("uid"):
            return str(ref["uid"])
    return None


def pod_view(pod: Mapping[str, Any], observed: Mapping[str, Any] | None) -> PodView:
    """Join a desired pod with its observed record (ignored when it is about an
    earlier pod of the same name, i.e. another uid)."""
    meta = pod.get("metadata") or {}
    uid = meta.get("uid") or ""
    status: Mapping[str, Any] = {}
    if observed and (observed.get("metadata") or {}).get("uid") in (None, uid):
        status = observed.get("status") or {}
    ready_since = None
    for cond in status.get("conditions") or ():
        if cond.get("type") == "Ready" and cond.get("status") == "True":
            ready_since = parse_time(cond.get("lastTransitionTime")) or datetime.min.replace(tzinfo=timezone.utc)
    restarts = sum(int(c.get("restartCount") or 0) for c in status.get("containerStatuses") or ())
    return PodView(
        name=meta.get("name", ""), namespace=meta.get("namespace") or "default", uid=uid,
        labels=dict(meta.get("labels") or {}), owner=controller_ref(meta),
        owner_refs=tuple(meta.get("ownerReferences") or ()),
        resource_version=meta.get("resourceVersion"), created=parse_time(meta.get("creationTimestamp")),
        deleting=bool(meta.get("deletionTimestamp")), node=(pod.get("spec") or {}).get("nodeName"),
        phase=str(status.get("phase") or "Pending"), ready_since=ready_since, restarts=restarts,
    )


_EPOCH = datetime.min.replace(tzinfo=timezone.utc)


def deletion_rank(pod: PodView, now: datetime) -> tuple[Any, ...]:
    """Sort key: pods to delete first sort first (Kubernetes' ActivePods.Less):
    unscheduled < scheduled; Pending < Unknown < Running; not ready < ready; ready for
    less time < more; more restarts < fewer; newer < older."""
    ready_for = (now - pod.ready_since).total_seconds() if pod.ready_since else 0.0
    created = pod.created or _EPOCH
    return (
        pod.node is not None,
        PHASE_RANK.get(pod.phase, 2),
        pod.ready,
        ready_for,
        -pod.restarts,
        pod.created is not None,
        -created.timestamp(),
        pod.name,
    )
