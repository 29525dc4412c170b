"""kubectl's DaemonSet rollout status viewer (DaemonSetStatusViewer), in its words. Pure;
used by `services.cli.workloads` (`rollout status daemonset/NAME`). History, undo and
restart go through the set's ControllerRevisions as a StatefulSet's do
(`services.cli.statefulset_rollout`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def status_message(obj: Mapping[str, Any], status: Mapping[str, Any]) -> tuple[str, bool, bool]:
    """(message, done, failed)."""
    strategy = (obj.get("spec") or {}).get("updateStrategy") or {}
    if strategy.get("type", "RollingUpdate") != "RollingUpdate":
        return "error: rollout status is only available for RollingUpdate strategy type", False, True
    name = (obj.get("metadata") or {}).get("name", "")
    if int((obj.get("metadata") or {}).get("generation") or 0) > int(status.get("observedGeneration") or 0):
        return "Waiting for daemon set spec update to be observed...", False, False
    desired = int(status.get("desiredNumberScheduled") or 0)
    updated, available = int(status.get("updatedNumberScheduled") or 0), int(status.get("numberAvailable") or 0)
    prefix = f'Waiting for daemon set "{name}" rollout to finish: '
    if updated < desired:
        return f"{prefix}{updated} out of {desired} new pods have been updated...", False, False
    if available < desired:
        return f"{prefix}{available} of {desired} updated pods are available...", False, False
    return f'daemon set "{name}" successfully rolled out', True, False
