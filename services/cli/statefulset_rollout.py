"""kubectl's StatefulSet rollout viewers, over the set's ControllerRevisions: the status
message (StatefulSetStatusViewer), the revisions by number (controlledHistory: the
revisions whose controller is the set) with their templates and change causes
(printHistory), and the template `rollout undo` restores (StatefulSetRollbacker: the
given revision, else the one before the latest). Pure; used by `services.cli.workloads`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from schemas.rollout import CHANGE_CAUSE

Obj = Mapping[str, Any]


def status_message(obj: Obj, status: Obj) -> tuple[str, bool, bool]:
    """(message, done, failed), in kubectl's words."""
    spec = obj.get("spec") or {}
    strategy = spec.get("updateStrategy") or {}
    if strategy.get("type", "RollingUpdate") != "RollingUpdate":
        return "error: rollout status is only available for RollingUpdate strategy type", False, True
    observed = int(status.get("observedGeneration") or 0)
    if observed == 0 or int(obj["metadata"].get("generation") or 0) > observed:
        return "Waiting for statefulset spec update to be observed...", False, False
    replicas = int(spec.get("replicas", 1))
    ready, updated = int(status.get("readyReplicas") or 0), int(status.get("updatedReplicas") or 0)
    if ready < replicas:
        return f"Waiting for {replicas - ready} pods to be ready...", False, False
    rolling = strategy.get("rollingUpdate")
    if rolling is not None:
        partition = rolling.get("partition")
        if partition is not None and updated < replicas - int(partition):
            return (f"Waiting for partitioned roll out to finish: {updated} out of {replicas - int(partition)} "
                    "new pods have been updated..."), False, False
        return f"partitioned roll out complete: {updated} new pods have been updated...", True, False
    if status.get("updateRevision") != status.get("currentRevision"):
        return (f"waiting for statefulset rolling update to complete {updated} pods at revision "
                f"{status.get('updateRevision')}..."), False, False
    return (f"statefulset rolling update complete {int(status.get('currentReplicas') or 0)} pods at revision "
            f"{status.get('currentRevision')}..."), True, False


def owned_revisions(revisions: Iterable[Obj], owner_uid: str | None) -> dict[int, Obj]:
    """The set's ControllerRevisions by revision number."""
    out = {}
    for rev in revisions:
        refs = (rev.get("metadata") or {}).get("ownerReferences") or []
        number = rev.get("revision")
        if isinstance(number, int) and any(r.get("uid") == owner_uid and r.get("controller") for r in refs):
            out[number] = rev
    return out


def template_of(revision: Obj) -> dict[str, Any]:
    """The pod template a revision restores (its data's spec.template, without `$patch`)."""
    template = dict(((revision.get("data") or {}).get("spec") or {}).get("template") or {})
    template.pop("$patch", None)
    return template


def change_cause(revision: Obj) -> str:
    return str(((revision.get("metadata") or {}).get("annotations") or {}).get(CHANGE_CAUSE) or "<none>")


def undo_target(revisions: Mapping[int, Obj], to_revision: int) -> tuple[int, str | None]:
    """(the revision number to restore, None) or (0, kubectl's error)."""
    if to_revision == 0:
        if len(revisions) <= 1:
            return 0, "no last revision to roll back to"
        return sorted(revisions)[-2], None
    if to_revision not in revisions:
        return 0, f"unable to find specified revision {to_revision} in history"
    return to_revision, None
