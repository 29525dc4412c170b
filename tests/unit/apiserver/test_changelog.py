"""The change log watches resume from, and the resourceVersions they resume with
(positions in Kafka: exact from any replica's or process's position, 410 when the log
no longer holds what lies beyond); and the store's view of an object (desired merged
with observed; Secrets without values)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas.registry import resolve_resource
from services.apiserver.changelog import ChangeLog, Expired
from services.apiserver.paths import ResourcePath
from schemas.selectors import label_selector
from services.apiserver.store import shown
from services.apiserver.versions import BadVersion, decode, encode, own_version
from services.apiserver.watch import seen_as


def cm(name: str, value: str) -> dict[str, object]:
    return {"kind": "ConfigMap", "metadata": {"name": name, "namespace": "default"}, "data": {"v": value}}


def test_changes_after_a_position_are_exactly_the_records_at_or_beyond_it() -> None:
    log = ChangeLog()
    log.record("configmaps", 0, 0, None, cm("a", "1"))
    log.record("configmaps", 1, 0, None, cm("b", "1"))
    log.record("configmaps", 0, 1, cm("a", "1"), cm("a", "2"))
    assert log.record("configmaps", 0, 2, cm("a", "2"), cm("a", "2")) is None  # no change: not logged
    log.record("configmaps", 0, 3, cm("a", "2"), None)
    log.record("secrets", 0, 9, None, cm("s", "1"))  # another kind's slots are its own
    after = log.after_position("configmaps", (1, 0))
    assert [(e.type, e.object["metadata"]["name"], e.object["data"]) for e in after] == [
        ("ADDED", "b", {"v": "1"}), ("MODIFIED", "a", {"v": "2"}), ("DELETED", "a", {"v": "2"})]
    assert log.after_position("configmaps", (4, 1)) == []
    assert [e.seq for e in log.after_seq(2)] == [3, 4, 5]
    assert log.after_seq(log.seq) == []


def test_a_position_whose_changes_were_dropped_expires() -> None:
    log = ChangeLog(history=2)
    for offset in range(4):
        log.record("configmaps", 0, offset, None, cm(f"c{offset}", "1"))
    assert [e.offset for e in log.after_position("configmaps", (2,))] == [2, 3]
    with pytest.raises(Expired, match="too old resource version"):
        log.after_position("configmaps", (1,))
    assert [e.seq for e in log.after_seq(2)] == [3, 4]
    with pytest.raises(Expired, match="fell behind"):
        log.after_seq(1)


@given(own=st.integers(0, 10**12).map(str), position=st.lists(st.integers(0, 10**12), max_size=24).map(tuple))
def test_a_version_decodes_to_the_position_it_encodes(own: str, position: tuple[int, ...]) -> None:
    token = encode(own, "pods", position)
    assert decode(token, "pods", len(position)).position == position
    assert own_version(token) == (None if own == "0" else own)


@pytest.mark.parametrize("token", ["", "12", "0.pods.1", "0.services.1.2", "0.pods.1.x", "x.pods.1.2",
                                   "0.pods.1.2.3", "e1.4"])
def test_versions_of_another_kind_or_shape_are_refused(token: str) -> None:
    with pytest.raises(BadVersion):
        decode(token, "pods", 2)


def test_a_precondition_is_the_objects_own_version() -> None:
    assert own_version("57.pods.3.4") == "57"
    assert own_version("57") == "57"  # as the kafkube CLI shows it
    assert own_version("0.pods.3.4") is None and own_version(None) is None and own_version("") is None


def test_shown_merges_status_and_keeps_secrets_as_stored_without_last_applied() -> None:
    pods = resolve_resource("pods")
    pod = {"kind": "Pod", "metadata": {"name": "p"}, "spec": {}}
    assert shown(pods, pod, {"status": {"phase": "Running"}}) == {**pod, "status": {"phase": "Running"}}
    assert shown(pods, None, {"status": {}}) is None
    secret = {"kind": "Secret", "metadata": {"name": "s", "annotations": {
        "kubectl.kubernetes.io/last-applied-configuration": "{...}", "keep": "me"}},
        "data": {"password": "k8s:enc:aesgcm:v1:key:..."}, "type": "Opaque"}
    assert shown(resolve_resource("secrets"), secret, None) == {
        "kind": "Secret", "metadata": {"name": "s", "annotations": {"keep": "me"}}, "type": "Opaque",
        "data": {"password": "k8s:enc:aesgcm:v1:key:..."}}  # opened per caller by services.apiserver.secrets


def test_a_watch_sees_an_object_enter_and_leave_its_selector() -> None:
    path = ResourcePath(resolve_resource("configmaps"), namespace="default")
    chosen = label_selector("app=w")
    log = ChangeLog()
    log.record("configmaps", 0, 0, None, cm("a", "1"))
    tagged = {**cm("a", "1"), "metadata": {"name": "a", "namespace": "default", "labels": {"app": "w"}}}
    log.record("configmaps", 0, 1, cm("a", "1"), tagged)
    log.record("configmaps", 0, 2, tagged, {**tagged, "data": {"v": "2"}})
    log.record("configmaps", 0, 3, {**tagged, "data": {"v": "2"}}, cm("a", "3"))
    assert [seen_as(e, path, chosen) for e in log.after_seq(0)] == [None, "ADDED", "MODIFIED", "DELETED"]
