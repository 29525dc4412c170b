"""The dashboard's actions as the write requests kubectl's would be, its sessions, and its
address setting; malformed input is a clear error naming the field, never a crash."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest
from hypothesis import given, strategies as st

from schemas.records import Op
from services.dashboard import actions
from services.dashboard.options import dashboard_address
from services.dashboard.sessions import Sessions
from services.runtime.address import BadAddress


def test_scale_restart_delete() -> None:
    scale = actions.scale(actions.body_of(actions.ScaleBody, {"namespace": "default", "name": "web", "replicas": 3}),
                          principal="jane")
    assert (scale.op, scale.kind, scale.key, scale.body, scale.principal, scale.writer) == \
        (Op.PATCH, "Deployment", "default/web", {"spec": {"replicas": 3}}, "jane", "dashboard")
    now = datetime(2026, 11, 28, 17, 0, 5, tzinfo=timezone.utc)
    restart = actions.restart(actions.Target(namespace="default", name="web"), principal="jane", now=now)
    assert restart.body == {"spec": {"template": {"metadata": {"annotations": {
        "kubectl.kubernetes.io/restartedAt": "2026-11-28T17:00:05Z"}}}}}
    delete = actions.delete_pod(actions.Target(namespace="default", name="web-x"), principal="jane")
    assert (delete.op, delete.api_version, delete.kind, delete.key) == (Op.DELETE, "v1", "Pod", "default/web-x")


def test_apply_each_document() -> None:
    manifest = """
apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
---
apiVersion: v1
kind: Namespace
metadata: {name: team}
---
"""
    requests = actions.apply(actions.ApplyBody(manifest=manifest, namespace="team"), principal="jane")
    assert [(r.op, r.kind, r.key) for r in requests] == [(Op.APPLY, "ConfigMap", "team/settings"),
                                                         (Op.APPLY, "Namespace", "team")]
    assert requests[0].body is not None and requests[0].body["metadata"]["namespace"] == "team"


@pytest.mark.parametrize(("raw", "message"), [
    ({"namespace": "default", "name": "web", "replicas": -1}, "replicas: Input should be greater than or equal to 0"),
    ({"namespace": "default", "replicas": 1}, "name: Field required"),
    ({"namespace": "default", "name": "web", "replicas": 1, "x": 1}, "x: Extra inputs are not permitted"),
    ("nonsense", "body: Input should be a valid dictionary"),
])
def test_bad_bodies_name_the_field(raw: Any, message: str) -> None:
    with pytest.raises(actions.BadAction, match=message):
        actions.body_of(actions.ScaleBody, raw)


@pytest.mark.parametrize(("manifest", "message"), [
    ("a: [", "manifest: invalid YAML"),
    ("---\n", "manifest: no object in it"),
    ("- 1", "manifest: document 0: not an object"),
    ("kind: Pod\nmetadata: {name: a}", "manifest: document 0: apiVersion: Required value"),
    ("apiVersion: v1\nkind: Pod\nmetadata: {}", "metadata.name: Required value"),
    ("apiVersion: v1\nkind: Widget\nmetadata: {name: a}", "manifest: document 0: .*Widget"),
])
def test_bad_manifests_name_the_problem(manifest: str, message: str) -> None:
    with pytest.raises(actions.BadAction, match=message):
        actions.apply(actions.ApplyBody(manifest=manifest), principal="jane")


@given(st.one_of(st.text(max_size=200), st.builds(lambda d: f"apiVersion: v1\nkind: Pod\nmetadata: {d}",
                                                  st.text(max_size=40))))
def test_any_manifest_is_requests_or_a_bad_action(manifest: str) -> None:
    try:
        requests = actions.apply(actions.ApplyBody(manifest=manifest or " "), principal="jane")
    except actions.BadAction as exc:
        assert str(exc).startswith("manifest")
    else:
        assert requests and all(r.op == Op.APPLY and r.name for r in requests)


def test_sessions_expire_and_close() -> None:
    sessions = Sessions(ttl_s=10)
    sid = sessions.open("tok", now=100)
    assert len(sid) >= 40 and sessions.token(sid, now=105) == "tok"
    assert sessions.token(sid, now=111) is None and sessions.token(None, now=100) is None
    other = sessions.open("tok2", now=200)
    sessions.close(other)
    assert sessions.token(other, now=201) is None


def test_address() -> None:
    assert dashboard_address({}) == ("127.0.0.1", 8080)
    assert dashboard_address({"KAFKUBE_DASHBOARD_ADDRESS": "0.0.0.0:9000"}) == ("0.0.0.0", 9000)
    with pytest.raises(BadAddress, match="KAFKUBE_DASHBOARD_ADDRESS='x': expected host:port"):
        dashboard_address({"KAFKUBE_DASHBOARD_ADDRESS": "x"})


_JSON = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=8)),
                     lambda c: st.one_of(st.lists(c, max_size=3), st.dictionaries(st.text(max_size=8), c, max_size=4)),
                     max_leaves=12)


@given(st.one_of(_JSON, st.fixed_dictionaries({"namespace": _JSON, "name": _JSON, "replicas": _JSON})))
def test_any_action_body_is_a_request_or_a_bad_action(raw: Any) -> None:
    for model, build in ((actions.ScaleBody, lambda b: [actions.scale(b, principal="jane")]),
                         (actions.Target, lambda b: [actions.delete_pod(b, principal="jane")]),
                         (actions.ApplyBody, lambda b: actions.apply(b, principal="jane"))):
        try:
            requests = build(actions.body_of(model, raw))
        except actions.BadAction as exc:
            assert str(exc).split(":")[0]  # names the field (or "body", or "manifest")
        else:
            assert requests and all(r.principal == "jane" and r.writer == "dashboard" for r in requests)
