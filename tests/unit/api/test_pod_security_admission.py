"""Pod Security Admission through the writer: a pod that breaks its namespace's enforced
level is refused in upstream's words and admitted where the namespace allows it; a
workload's template is warned about, not refused; a controller's refused pod is reported
on its owner (FailedCreate); audit violations are noted on the audit record."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest

from schemas.auth import TOKEN_HEADER
from schemas.records import Op, WriteRequest
from services.api.writer import RequestPartition
from services.runtime.bus import encode, partition_for
from tests.unit.api.test_poison import ACCESS, ADMIN_TOKEN, SETTINGS, TOPICS, TRUST, FakeRecord, InMemoryViews


def pod(name: str, namespace: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": namespace},
            "spec": {"containers": [{"name": "c", "image": "busybox"}], **spec}}


ROOT = {"volumes": [{"name": "root", "hostPath": {"path": "/"}}]}
DOCKER_SOCKET = {"volumes": [{"name": "sock", "hostPath": {"path": "/var/run/docker.sock"}}]}


def run(*requests: WriteRequest) -> list[tuple[str, dict[str, Any]]]:
    """(topic, value) of everything the writers output for the requests, in order."""
    out = []
    for offset, request in enumerate(requests):
        partition = partition_for(request.key, SETTINGS.partitions)
        part = RequestPartition(SETTINGS, TOPICS, InMemoryViews(), ACCESS, partition, trust=TRUST)  # type: ignore[arg-type]
        part._state = {}
        records = [FakeRecord(encode(request), request.key.encode(), partition, offset,
                              headers=[(TOKEN_HEADER, ADMIN_TOKEN.encode())])]
        out += [(o.topic, orjson.loads(o.value)) for o in asyncio.run(part.process(records)) if o.value]
    return out


def create(obj: dict[str, Any], *, reply: bool = True) -> WriteRequest:
    meta = obj["metadata"]
    return WriteRequest(op=Op.CREATE, apiVersion=obj["apiVersion"], kind=obj["kind"], namespace=meta["namespace"],
                        name=meta["name"], body=obj, reply=reply)


def answer(outputs: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    (event,) = [v for t, v in outputs if t == TOPICS.events]
    return event


@pytest.mark.parametrize("name, spec, detail", [
    ("root", ROOT, 'hostPath volumes (volume "root")'),
    ("sock", DOCKER_SOCKET, 'hostPath volumes (volume "sock")'),
    ("net", {"hostNetwork": True}, "host namespaces (hostNetwork=true)"),
    ("priv", {"containers": [{"name": "c", "image": "busybox", "securityContext": {"privileged": True}}]},
     'privileged (container "c" must not set securityContext.privileged=true)'),
])
def test_a_baseline_namespace_refuses_what_gives_root_on_the_node(name: str, spec: dict[str, Any], detail: str) -> None:
    event = answer(run(create(pod(name, "default", **spec))))
    assert event["reason"] == "Rejected"
    assert event["message"] == f'pods "{name}" is forbidden: violates PodSecurity "baseline:latest": {detail}'
    assert event["metadata"]["annotations"]["kafkube.io/status-reason"] == "Forbidden"


def test_a_namespace_labelled_privileged_admits_it() -> None:  # team-a is labelled privileged in InMemoryViews
    event = answer(run(create(pod("root", "team-a", **ROOT))))
    assert event["reason"] == "Created"


def test_a_workload_template_is_warned_about_and_its_pods_refused_on_the_owner() -> None:
    template = {"metadata": {"labels": {"app": "x"}}, "spec": pod("x", "default", **ROOT)["spec"]}
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "namespace": "default"},
                  "spec": {"selector": {"matchLabels": {"app": "x"}}, "template": template}}
    event = answer(run(create(deployment)))
    assert event["reason"] == "Created"
    (warning,) = orjson.loads(event["metadata"]["annotations"]["kafkube.io/warnings"])
    assert warning == 'would violate PodSecurity "baseline:latest": hostPath volumes (volume "root")'
    owned = pod("d-abc-x1", "default", **ROOT)
    owned["metadata"]["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "d-abc",
                                             "uid": "rs-uid", "controller": True}]
    failed = answer(run(create(owned, reply=False)))
    assert failed["reason"] == "FailedCreate" and failed["involvedObject"]["name"] == "d-abc"
    assert failed["message"].startswith('Error creating: pods "d-abc-x1" is forbidden: violates PodSecurity')


def test_the_path_rules_hold_at_every_level() -> None:
    escape = pod("esc", "team-a", containers=[{"name": "c", "image": "busybox", "volumeMounts": [
        {"name": "v", "mountPath": "/x", "subPath": "../../../../../../.."}]}], volumes=[{"name": "v", "emptyDir": {}}])
    event = answer(run(create(escape)))
    assert event["reason"] == "Rejected" and "subPath" in event["message"] and "must not contain '..'" in event["message"]
