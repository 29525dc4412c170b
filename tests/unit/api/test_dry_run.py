"""The writer's dry runs (`WriteRequest.dryRun`): decided as every write (authentication,
validation, conflicts), audited, answered with the would-be object on the answer event,
and nothing written: no desired record, no state, no resourceVersion, no default
ServiceAccount."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson

from schemas.records import DRY_RUN_ANNOTATION, Op, WriteRequest
from services.api.writer import RequestPartition
from services.runtime.bus import encode, partition_for
from services.runtime.transactional import Out
from tests.unit.api.test_poison import SETTINGS, TOPICS, FakeRecord, audits, config_map_request, only_answer, writer


def run(part: RequestPartition, request: WriteRequest, offset: int, **record: Any) -> list[Out]:
    out = asyncio.run(part.process([FakeRecord(encode(request), request.key.encode(), part._partition,
                                               offset=offset, **record)]))
    part.committed()
    return out


def would_be(event: dict[str, Any]) -> dict[str, Any]:
    return orjson.loads(event["metadata"]["annotations"][DRY_RUN_ANNOTATION])  # type: ignore[no-any-return]


def dry(request: WriteRequest, **changes: Any) -> WriteRequest:
    return request.model_copy(update={"dry_run": True, **changes})


def test_a_dry_run_create_answers_the_object_and_stores_nothing() -> None:
    request = config_map_request()
    part = writer(partition_for(request.key, SETTINGS.partitions))
    out = run(part, dry(request), 5)
    event = only_answer(out)
    obj = would_be(event)
    assert event["reason"] == "Created" and obj["data"] == {"k": "v"} and obj["metadata"]["uid"]
    assert "resourceVersion" not in obj["metadata"]
    assert [(a["decision"], a["responseStatus"]) for a in audits(out)] == [("allow", "Created")]
    assert part._current(TOPICS.desired("configmaps"), request.key) is None


def test_a_dry_run_update_and_delete_keep_the_stored_object_and_its_resource_version() -> None:
    request = config_map_request()
    part = writer(partition_for(request.key, SETTINGS.partitions))
    run(part, request, 5)
    changed = dry(request, body={**(request.body or {}), "data": {"k": "w"}})
    obj = would_be(only_answer(run(part, changed, 6)))
    assert obj["data"] == {"k": "w"} and obj["metadata"]["resourceVersion"] == "5"
    stale = only_answer(run(part, dry(changed, op=Op.UPDATE, expected_resource_version="4"), 7))
    assert stale["reason"] == "Rejected" and DRY_RUN_ANNOTATION not in stale["metadata"]["annotations"]
    deleted = only_answer(run(part, dry(request, op=Op.DELETE, body=None), 8))
    assert deleted["reason"] == "Deleted" and DRY_RUN_ANNOTATION not in deleted["metadata"]["annotations"]
    stored = part._current(TOPICS.desired("configmaps"), request.key)
    assert stored is not None and stored["data"] == {"k": "v"} and stored["metadata"]["resourceVersion"] == "5"


def test_a_dry_run_is_validated_and_authorised_as_any_write() -> None:
    request = config_map_request("Bad")
    part = writer(partition_for(request.key, SETTINGS.partitions))
    invalid = only_answer(run(part, dry(request), 5))
    assert invalid["reason"] == "Rejected" and "is invalid" in invalid["message"]
    stranger = only_answer(run(part, dry(config_map_request()), 6, headers=[]))
    assert stranger["reason"] == "Rejected" and 'User "system:anonymous" cannot create' in stranger["message"]


def test_a_dry_run_namespace_gets_no_default_service_account() -> None:
    body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-b"}}
    request = WriteRequest(op=Op.CREATE, apiVersion="v1", kind="Namespace", name="team-b", body=body, dryRun=True)
    part = writer(partition_for(request.key, SETTINGS.partitions))
    event = only_answer(run(part, request, 5))
    assert event["reason"] == "Created" and would_be(event)["metadata"]["name"] == "team-b"


def test_a_dry_run_pod_is_admitted_by_pod_security_as_any_write() -> None:
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "default"},
           "spec": {"containers": [{"name": "c", "image": "busybox", "securityContext": {"privileged": True}}]}}
    request = WriteRequest(op=Op.CREATE, apiVersion="v1", kind="Pod", namespace="default", name="p", body=pod,
                           dryRun=True)
    part = writer(partition_for(request.key, SETTINGS.partitions))
    refused = only_answer(run(part, request, 5))  # default: baseline, which forbids privileged containers
    assert refused["reason"] == "Rejected" and 'violates PodSecurity "baseline:latest"' in refused["message"]
