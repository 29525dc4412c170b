"""kubectl's StatefulSet rollout viewers: status messages, history by revision, undo target."""

from __future__ import annotations

from typing import Any

import pytest

from services.cli.statefulset_rollout import owned_revisions, status_message, template_of, undo_target


def sts(generation: int = 2, replicas: int = 3, strategy: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"metadata": {"name": "web", "generation": generation},
            "spec": {"replicas": replicas, "updateStrategy": strategy or {"type": "RollingUpdate"}}}


@pytest.mark.parametrize(("obj", "status", "expected"), [
    (sts(), {"observedGeneration": 1}, ("Waiting for statefulset spec update to be observed...", False, False)),
    (sts(), {"observedGeneration": 2, "readyReplicas": 1}, ("Waiting for 2 pods to be ready...", False, False)),
    (sts(strategy={"type": "RollingUpdate", "rollingUpdate": {"partition": 1}}),
     {"observedGeneration": 2, "readyReplicas": 3, "updatedReplicas": 1},
     ("Waiting for partitioned roll out to finish: 1 out of 2 new pods have been updated...", False, False)),
    (sts(strategy={"type": "RollingUpdate", "rollingUpdate": {"partition": 1}}),
     {"observedGeneration": 2, "readyReplicas": 3, "updatedReplicas": 2},
     ("partitioned roll out complete: 2 new pods have been updated...", True, False)),
    (sts(), {"observedGeneration": 2, "readyReplicas": 3, "updatedReplicas": 2, "currentRevision": "web-1",
             "updateRevision": "web-2"},
     ("waiting for statefulset rolling update to complete 2 pods at revision web-2...", False, False)),
    (sts(), {"observedGeneration": 2, "readyReplicas": 3, "currentReplicas": 3, "currentRevision": "web-2",
             "updateRevision": "web-2"},
     ("statefulset rolling update complete 3 pods at revision web-2...", True, False)),
    (sts(strategy={"type": "OnDelete"}), {"observedGeneration": 2},
     ("error: rollout status is only available for RollingUpdate strategy type", False, True)),
])
def test_status_messages_are_kubectls(obj: dict[str, Any], status: dict[str, Any],
                                      expected: tuple[str, bool, bool]) -> None:
    assert status_message(obj, status) == expected


def rev(name: str, number: int, image: str, owner: str = "u1") -> dict[str, Any]:
    return {"metadata": {"name": name, "ownerReferences": [{"uid": owner, "controller": True}]}, "revision": number,
            "data": {"spec": {"template": {"spec": {"containers": [{"image": image}]}, "$patch": "replace"}}}}


def test_history_and_undo_targets() -> None:
    revisions = owned_revisions([rev("web-a", 1, "v1"), rev("web-b", 2, "v2"), rev("x-c", 3, "v3", owner="u2")], "u1")
    assert sorted(revisions) == [1, 2]
    assert template_of(revisions[1]) == {"spec": {"containers": [{"image": "v1"}]}}
    assert undo_target(revisions, 0) == (1, None)
    assert undo_target(revisions, 7) == (0, "unable to find specified revision 7 in history")
    assert undo_target({1: revisions[1]}, 0) == (0, "no last revision to roll back to")
