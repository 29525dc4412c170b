"""kubectl's DaemonSetStatusViewer words (`kafkube rollout status daemonset/NAME`)."""

from __future__ import annotations

from typing import Any

from services.cli.daemonset_rollout import status_message


def _ds(generation: int = 2, strategy: str = "RollingUpdate") -> dict[str, Any]:
    return {"metadata": {"name": "agent", "generation": generation}, "spec": {"updateStrategy": {"type": strategy}}}


def test_the_viewer_speaks_kubectls_words() -> None:
    assert status_message(_ds(), {"observedGeneration": 1}) == (
        "Waiting for daemon set spec update to be observed...", False, False)
    status = {"observedGeneration": 2, "desiredNumberScheduled": 2, "updatedNumberScheduled": 1, "numberAvailable": 2}
    assert status_message(_ds(), status) == (
        'Waiting for daemon set "agent" rollout to finish: 1 out of 2 new pods have been updated...', False, False)
    status |= {"updatedNumberScheduled": 2, "numberAvailable": 1}
    assert status_message(_ds(), status) == (
        'Waiting for daemon set "agent" rollout to finish: 1 of 2 updated pods are available...', False, False)
    status |= {"numberAvailable": 2}
    assert status_message(_ds(), status) == ('daemon set "agent" successfully rolled out', True, False)
    assert status_message(_ds(strategy="OnDelete"), status) == (
        "error: rollout status is only available for RollingUpdate strategy type", False, True)
