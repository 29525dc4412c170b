"""The change log watches resume from: exact after a list's resourceVersion, 410 otherwise;
and the store's view of an object (desired merged with observed; Secrets without values)."""

from __future__ import annotations

import pytest

from schemas.registry import resolve_resource
from services.apiserver.changelog import ChangeLog, Expired
from services.apiserver.store import shown


def cm(name: str, value: str) -> dict[str, object]:
    return {"kind": "ConfigMap", "metadata": {"name": name, "namespace": "default"}, "data": {"v": value}}


def test_changes_after_a_list_are_exactly_the_ones_logged_since() -> None:
    log = ChangeLog("e1")
    assert log.record("configmaps", None, cm("a", "1")) is not None
    listed = log.resource_version
    assert listed == "e1.1"
    log.record("configmaps", cm("a", "1"), cm("a", "2"))
    log.record("configmaps", cm("a", "2"), cm("a", "2"))  # no change: not logged
    log.record("configmaps", cm("a", "2"), None)
    assert [(e.seq, e.type, e.object["data"]) for e in log.since(listed)] == [
        (2, "MODIFIED", {"v": "2"}), (3, "DELETED", {"v": "2"})]
    assert log.since(log.resource_version) == []
    assert [e.type for e in log.since("e1.0")] == ["ADDED", "MODIFIED", "DELETED"]


@pytest.mark.parametrize("version", ["12", "other.1", "e1.9", "e1.x", ""])
def test_versions_not_of_this_log_expire(version: str) -> None:
    log = ChangeLog("e1")
    log.record("configmaps", None, cm("a", "1"))
    with pytest.raises(Expired):
        log.since(version)


def test_versions_older_than_the_log_keeps_expire() -> None:
    log = ChangeLog("e1", history=2)
    for n in range(4):
        log.record("configmaps", None, cm(f"c{n}", "1"))
    assert [e.seq for e in log.since("e1.2")] == [3, 4]
    with pytest.raises(Expired, match="too old resource version"):
        log.since("e1.1")


def test_shown_merges_status_and_hides_secret_values() -> None:
    pods = resolve_resource("pods")
    pod = {"kind": "Pod", "metadata": {"name": "p"}, "spec": {}}
    assert shown(pods, pod, {"status": {"phase": "Running"}}) == {**pod, "status": {"phase": "Running"}}
    assert shown(pods, None, {"status": {}}) is None
    secret = {"kind": "Secret", "metadata": {"name": "s", "annotations": {
        "kubectl.kubernetes.io/last-applied-configuration": "{...}", "keep": "me"}},
        "data": {"password": "k8s:enc:aesgcm:v1:key:..."}, "type": "Opaque"}
    assert shown(resolve_resource("secrets"), secret, None) == {
        "kind": "Secret", "metadata": {"name": "s", "annotations": {"keep": "me"}}, "type": "Opaque"}
