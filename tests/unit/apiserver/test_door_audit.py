"""What the door audits: reads, streams and refusals it decides itself; never a write the
API decides (and audits) from the caller's token."""

from __future__ import annotations

import pytest

from schemas.auth import UserInfo
from services.apiserver.audit import audit_entry
from services.apiserver.auth import Caller

ALICE = Caller(UserInfo(username="alice", groups=("devs",)), token="t")


def entry(method: str, path: str, status: int, query: dict[str, str] | None = None,
          caller: Caller | None = ALICE) -> tuple[str, str, str, str | None, str | None, str] | None:
    found = audit_entry(method=method, url_path=path, query=query or {}, status=status, caller=caller,
                        source_ip="10.0.0.9")
    if found is None:
        return None
    key, record = found
    assert record.writer == "apiserver" and record.annotations == {"sourceIP": "10.0.0.9"}
    return (key, record.verb, record.decision, record.object_ref.resource, record.object_ref.name,
            record.user.name)


@pytest.mark.parametrize(("method", "path", "status", "query", "caller", "expected"), [
    ("GET", "/api/v1/namespaces/d/pods/web", 200, {}, ALICE, ("d/web", "get", "allow", "pods", "web", "alice")),
    ("GET", "/api/v1/namespaces/d/pods", 403, {}, ALICE, ("d", "list", "forbid", "pods", None, "alice")),
    ("GET", "/apis/apps/v1/deployments", 200, {"watch": "1"}, ALICE,
     ("", "watch", "allow", "deployments", None, "alice")),
    ("GET", "/api/v1/namespaces/d/pods/web/log", 200, {}, ALICE, ("d/web", "get", "allow", "pods/log", "web", "alice")),
    ("GET", "/api/v1/namespaces/d/pods/web/exec", 101, {}, ALICE,
     ("d/web", "create", "allow", "pods/exec", "web", "alice")),
    ("POST", "/api/v1/namespaces/d/configmaps", 401, {}, None,
     ("d", "post", "unauthenticated", "configmaps", None, "(unknown token)")),
    ("GET", "/api/v1/nodes/n1", 404, {}, ALICE, ("n1", "get", "allow", "nodes", "n1", "alice")),
])
def test_the_door_audits_what_it_decides(method: str, path: str, status: int, query: dict[str, str],
                                         caller: Caller | None, expected: tuple[object, ...]) -> None:
    assert entry(method, path, status, query, caller) == expected


@pytest.mark.parametrize(("method", "path", "status"), [
    ("POST", "/api/v1/namespaces/d/configmaps", 201),  # the API decided and audited it
    ("PATCH", "/apis/apps/v1/namespaces/d/deployments/web", 403),
    ("GET", "/api", 200), ("GET", "/openapi/v3", 200), ("GET", "/apis/nothing.io/v1/things", 404),
])
def test_writes_and_documents_are_not_audited_at_the_door(method: str, path: str, status: int) -> None:
    assert entry(method, path, status) is None
