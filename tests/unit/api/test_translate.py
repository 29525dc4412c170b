"""Manifest records to write requests: every document answered once, headers honoured."""

from __future__ import annotations

from datetime import datetime, timezone

from hypothesis import given, settings, strategies as st

from schemas.manifest import split_documents
from schemas.auth import UserInfo
from schemas.records import Op
from services.api.translate import ManifestRecord, translate

ALICE = UserInfo(username="alice", groups=("system:authenticated",))
NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)
CM = b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: b}\n"


def record(value: bytes | None, **headers: str) -> ManifestRecord:
    return ManifestRecord("kafkube.manifests", 1, 42, value,
                          tuple((k.replace("__", "-").replace("_", "."), v.encode()) for k, v in headers.items()))


def test_documents_become_keyed_requests_in_the_default_namespace() -> None:
    out = translate(record(CM + b"---\n" + CM.replace(b"name: c", b"name: d")), instance="t", now=NOW, user=ALICE)
    assert [(r.op, r.key, r.source.document) for r in out.requests] == [  # type: ignore[union-attr]
        (Op.APPLY, "default/c", 0), (Op.APPLY, "default/d", 1)]
    assert out.rejections == []


def test_delete_with_propagation_policy_and_bad_headers() -> None:
    out = translate(record(CM, kafkube_op="delete", kafkube_propagation__policy="Orphan"), instance="t", now=NOW, user=ALICE)
    assert out.requests[0].op is Op.DELETE and out.requests[0].propagation_policy == "Orphan"
    bad = translate(record(CM, kafkube_op="obliterate"), instance="t", now=NOW, user=ALICE)
    assert bad.requests == [] and "Unsupported value: 'obliterate'" in bad.rejections[0]["message"]
    bad_policy = translate(record(CM, kafkube_op="delete", kafkube_propagation__policy="sideways"),
                           instance="t", now=NOW, user=ALICE)
    assert "kafkube.propagation-policy: Unsupported value" in bad_policy.rejections[0]["message"]


def test_generate_name_is_fixed_at_intake() -> None:
    doc = b"apiVersion: v1\nkind: ConfigMap\nmetadata: {generateName: job-}\n"
    name = translate(record(doc), instance="t", now=NOW, user=ALICE).requests[0].name
    assert name.startswith("job-") and len(name) == 9


def test_rejections_name_the_source_and_the_field() -> None:
    out = translate(record(b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: Bad_Name}\n"), instance="t", now=NOW, user=ALICE)
    event = out.rejections[0]
    assert event["reason"] == "Rejected" and 'metadata.name: Invalid value: "Bad_Name"' in event["message"]
    assert event["metadata"]["annotations"]["kafkube.io/source"] == "kafkube.manifests/1/42"


@settings(max_examples=200, deadline=None)
@given(payload=st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_every_document_gets_exactly_one_outcome(payload: bytes) -> None:
    out = translate(record(payload), instance="t", now=NOW, user=ALICE)
    docs = [r.source.document for r in out.requests] + [  # type: ignore[union-attr]
        int(e["metadata"]["annotations"]["kafkube.io/document"]) for e in out.rejections]
    assert sorted(docs) == list(range(max(1, len(split_documents(payload)))))


def test_an_unknown_token_is_answered_unauthorized_before_anything_is_read() -> None:
    out = translate(record(b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: Bad_Name}\n"),
                    instance="t", now=NOW, user=None)
    (event,) = out.rejections
    assert out.requests == [] and event["message"] == "Unauthorized"
    assert event["metadata"]["annotations"]["kafkube.io/status-reason"] == "Unauthorized"


def test_requests_carry_the_authenticated_author_not_a_declared_one() -> None:
    out = translate(record(CM, kafkube_principal="root"), instance="t", now=NOW, user=ALICE)
    assert out.requests[0].principal == "alice"
