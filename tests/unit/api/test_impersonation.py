"""Impersonation: the HTTP apiserver's identity may send a request decided as another user
(its client-certificate callers), RBAC deciding as that user; anyone else asking is
Forbidden in kube-apiserver's words, and the audit names who sent it."""

from __future__ import annotations

from typing import Any

from schemas.auth import APISERVER_USER, IMPERSONATE_GROUP_HEADER, IMPERSONATE_USER_HEADER
from schemas.records import PRINCIPAL_HEADER, Op, WriteRequest
from services.api import impersonation
from services.api.authn import parse_token_file
from tests.unit.api import test_access
from tests.unit.api.test_access import audits, decide_all, events

JANE_IN_EDITORS = ((IMPERSONATE_USER_HEADER, b"jane"), (IMPERSONATE_GROUP_HEADER, b"editors"))
EDITORS_EDIT_IN_TEAM_A: dict[str, Any] = {
    **test_access.EDIT_IN_TEAM_A, "metadata": {"name": "editors-edit", "namespace": "team-a"},
    "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "editors"}]}


def configmap(name: str) -> WriteRequest:
    return WriteRequest(op=Op.CREATE, apiVersion="v1", kind="ConfigMap", namespace="team-a", name=name,
                        body={"apiVersion": "v1", "kind": "ConfigMap",
                              "metadata": {"name": name, "namespace": "team-a"}})


def with_apiserver_token(monkeypatch: Any) -> None:
    tokens = {**test_access.TOKENS, **parse_token_file(f"t-apiserver,{APISERVER_USER},9")}
    monkeypatch.setattr(test_access, "TOKENS", tokens)
    policy = test_access.StaticPolicy(test_access.EDIT_IN_TEAM_A, test_access.VIEW_FOR_BOB, EDITORS_EDIT_IN_TEAM_A)
    monkeypatch.setattr(test_access, "StaticPolicy", lambda *_: policy)


def test_the_apiserver_sends_a_write_decided_as_the_user_it_impersonates(monkeypatch: Any) -> None:
    with_apiserver_token(monkeypatch)
    out = decide_all(configmap("made"), token="t-apiserver", more_headers=JANE_IN_EDITORS)
    assert [e["reason"] for e in events(out)] == ["Created"]  # jane may, through her group editors
    stored = next(o for o in out if o.topic.endswith("desired.configmaps"))
    assert dict(stored.headers or [])[PRINCIPAL_HEADER] == b"jane"
    [audit] = audits(out)
    assert (audit["user"]["username"], audit["annotations"]) == ("jane", {impersonation.IMPERSONATED_BY: APISERVER_USER})

    refused = decide_all(configmap("other"), token="t-apiserver",
                         more_headers=((IMPERSONATE_USER_HEADER, b"jane"),))  # without the group: no edit
    assert [(e["reason"], e["message"]) for e in events(refused)][0][1].startswith(
        'configmaps is forbidden: User "jane" cannot create resource "configmaps"')


def test_nobody_else_may_impersonate(monkeypatch: Any) -> None:
    with_apiserver_token(monkeypatch)
    out = decide_all(configmap("sneaky"), token="t-alice", more_headers=JANE_IN_EDITORS)
    [answer] = events(out)
    assert answer["reason"] == "Rejected"
    assert answer["message"] == ('users "jane" is forbidden: User "alice" cannot impersonate resource "users" '
                                 'in API group "" at the cluster scope')
    assert not [o for o in out if o.topic.endswith("desired.configmaps")]
    assert audits(out)[0]["decision"] == "forbid"


def test_what_an_impersonation_asks_and_gives() -> None:
    asked = impersonation.requested([(IMPERSONATE_USER_HEADER, b"jane"), (IMPERSONATE_GROUP_HEADER, b"a"),
                                     (IMPERSONATE_GROUP_HEADER, b"b")])
    assert asked == impersonation.Impersonation("jane", ("a", "b"))
    assert [(a.resource, a.name) for a in impersonation.checks(asked)] == [("users", "jane"), ("groups", "a"),
                                                                           ("groups", "b")]
    assert impersonation.as_user(asked).groups == ("a", "b", "system:authenticated")
    assert impersonation.requested([(IMPERSONATE_GROUP_HEADER, b"a")]) is None  # groups alone name nobody
