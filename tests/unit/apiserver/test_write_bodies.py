"""What a write sends to the API: the body with the path's namespace and name, no status,
or the BadRequest upstream answers; and a Rejected answer's Status and code."""

from __future__ import annotations

import pytest

from services.apiserver.answers import Answer, answer_of
from services.apiserver.http import BadBody
from services.apiserver.paths import parse
from services.apiserver.writes import prepared_body, generated_name

CMS = parse("/api/v1/namespaces/team/configmaps")


def test_the_body_takes_the_path_namespace_and_loses_its_status() -> None:
    body = prepared_body({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "status": {"x": 1}}, CMS)
    assert body == {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "team"}}
    named = prepared_body({"metadata": {}}, parse("/api/v1/namespaces/team/configmaps/c"), name="c")
    assert named["metadata"] == {"name": "c", "namespace": "team"} and named["kind"] == "ConfigMap"
    generated = prepared_body({"metadata": {"generateName": "web-"}}, CMS)["metadata"]["name"]
    assert generated.startswith("web-") and len(generated) == 9 and generated != generated_name("web-")


@pytest.mark.parametrize(("body", "name", "message"), [
    ({"metadata": {"name": "c", "namespace": "other"}}, None, "does not match the namespace sent on the request"),
    ({"metadata": {"name": "d"}}, "c", "the name of the object (d) does not match the name on the URL (c)"),
    ({"kind": "Secret", "metadata": {"name": "c"}}, None, "does not match the URL"),
])
def test_bodies_that_contradict_the_path(body: dict[str, object], name: str | None, message: str) -> None:
    with pytest.raises(BadBody, match=message.replace("(", r"\(").replace(")", r"\)")):
        prepared_body(body, CMS, name=name)


def test_answer_events_carry_the_request_id_reason_and_version() -> None:
    event = {"reason": "Rejected", "message": 'configmaps "c" already exists',
             "involvedObject": {"uid": "u1", "resourceVersion": "7"},
             "metadata": {"annotations": {"kafkube.io/request-id": "r1", "kafkube.io/status-reason": "AlreadyExists"}}}
    assert answer_of(event) == ("r1", Answer("Rejected", 'configmaps "c" already exists', "AlreadyExists", "u1", "7"))
    assert answer_of({"metadata": {"annotations": {"kafkube.io/request-id": "r1", "kafkube.io/document": "1"}}}) is None
    assert answer_of({"reason": "Scheduled"}) is None
