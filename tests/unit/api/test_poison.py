"""No record stops the API: poison on `kafkube.manifests` and `kafkube.requests` is answered,
once, by the intake's translation and by the writer's handling of one request, and what
they let through can always be encoded and stored. The writer runs here on its real code
with in-memory views (no Kafka): the integration fuzz test does the same on the broker."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from schemas.limits import MAX_REQUEST_BYTES
from schemas.manifest import split_documents
from schemas.auth import TOKEN_HEADER, UserInfo
from schemas.records import Op, WriteRequest
from services.api.access import AccessControl
from services.api.cluster_views import NamespaceFacts
from services.api.authn import Authenticator, parse_token_file
from services.api.rbac import Policy, bootstrap_policy
from services.api.translate import ManifestRecord, Translation, translate
from services.api.writer import RequestPartition
from services.runtime.bus import encode, partition_for
from services.runtime.config import Settings
from services.runtime.events import STATUS_REASON_ANNOTATION
from services.runtime.topics import Topics
from services.runtime.signing import KeyRing
from services.runtime.transactional import Out
from services.runtime.trust import BusTrust
from tests.poison import NAMED, NAMED_DELETES, OPS, poisoned_manifests

ALICE = UserInfo(username="alice", groups=("system:authenticated",))
NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)
SETTINGS = Settings(bootstrap_servers="unused:9092", partitions=3, instance="test")
TOPICS = Topics()
KAFKA_RECORD_LIMIT = 4 * 1024 * 1024


def run(value: bytes | None, op: str = "apply") -> Translation:
    headers = (("kafkube.op", op.encode()),) if op else ()
    return translate(ManifestRecord("kafkube.manifests", 0, 7, value, headers), instance="t", now=NOW, user=ALICE)


def answered_documents(out: Translation) -> list[int]:
    return sorted([r.source.document for r in out.requests if r.source] + [
        int(e["metadata"]["annotations"]["kafkube.io/document"]) for e in out.rejections])


def assert_one_answer_each(payload: bytes, out: Translation) -> None:
    assert answered_documents(out) == list(range(max(1, len(split_documents(payload)))))
    for request in out.requests:
        assert len(encode(request) or b"") < KAFKA_RECORD_LIMIT


@pytest.mark.parametrize("name", sorted(NAMED))
def test_each_named_poison_is_answered(name: str) -> None:
    payload = NAMED[name]
    out = run(payload)
    assert out.failure is None, out.failure
    assert_one_answer_each(payload, out)
    if name != "two 900 KiB objects in one record":
        assert out.requests == [] and out.rejections, name


@pytest.mark.parametrize("name", sorted(NAMED_DELETES))
def test_named_deletes_are_rejected_with_the_field(name: str) -> None:
    out = run(NAMED_DELETES[name], op="delete")
    (event,) = out.rejections
    assert out.requests == [] and event["message"].startswith("metadata.")
    assert "must be a string" in event["message"]


@pytest.mark.parametrize("name, message", [
    ("a 5,000-digit activeDeadlineSeconds", "Exceeds the limit (4300 digits)"),
    ("a port of 10^30", "spec.ports[0].port: Invalid value: 1000000000000000000000000000000: must be a 64-bit integer"),
    ("a replica count of 2^40", 'spec.replicas: Invalid value: 1099511627776: must be a 32-bit integer'),
    ("a port as a string", 'spec.containers[0].ports[0].containerPort: Invalid value: "80": must be an integer'),
    ("a port as a float", "spec.containers[0].ports[0].containerPort: Invalid value: 1.5: must be an integer"),
    ("a payload over the size limit", "Request entity too large: limit is 3145728"),
    ("aliases of a long string", "document expands to more than"),
])
def test_poison_is_answered_in_kubernetes_words(name: str, message: str) -> None:
    (event,) = run(NAMED[name]).rejections
    assert message in event["message"]


@hsettings(max_examples=300, deadline=None)
@given(payload=poisoned_manifests(), op=OPS)
def test_a_poisoned_manifest_gets_exactly_one_answer_per_document(payload: bytes, op: str) -> None:
    out = run(payload, op)
    assert out.failure is None, out.failure
    assert_one_answer_each(payload, out)


def test_a_fault_of_the_intake_itself_is_answered_internal_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise KeyError("a bug")
    monkeypatch.setattr("services.api.translate.admit", broken)
    out = run(NAMED["a port as a string"].replace(b'"80"', b"80"))
    (event,) = out.rejections
    assert out.requests == [] and out.failure and "KeyError" in out.failure
    assert event["message"].startswith("Internal error occurred: KeyError")
    assert event["metadata"]["annotations"][STATUS_REASON_ANNOTATION] == "InternalError"


# -- the writer, one request at a time -------------------------------------------------------
TRUST = BusTrust(TOPICS.prefix, KeyRing.generate())
ADMIN_TOKEN = "admin-token"
ADMIN_HEADERS = [(TOKEN_HEADER, ADMIN_TOKEN.encode())]


@dataclass
class FakeRecord:
    value: bytes | None
    key: bytes | None
    partition: int
    offset: int = 11
    topic: str = "kafkube.requests"
    headers: list[tuple[str, bytes]] = field(default_factory=lambda: list(ADMIN_HEADERS))


class BootstrapPolicy:
    """The default RBAC policy, in memory (the API reads it from the RBAC topics)."""

    policy = Policy.of(bootstrap_policy())

    async def barrier(self) -> None:
        return None


ACCESS = AccessControl(Authenticator(parse_token_file(f"{ADMIN_TOKEN},admin,1,system:masters\n")), BootstrapPolicy())


class InMemoryViews:
    """The cluster-scoped views the writer looks up, as a test sets them."""

    def __init__(self, nodes: set[str] = frozenset()) -> None:  # type: ignore[assignment]
        self.nodes = nodes

    async def namespace(self, name: str) -> NamespaceFacts | None:
        labels = {"pod-security.kubernetes.io/enforce": "privileged"} if name == "team-a" else {}
        return NamespaceFacts("Active", labels) if name in ("default", "team-a") else None

    async def namespace_phase(self, name: str) -> str | None:
        facts = await self.namespace(name)
        return None if facts is None else facts.phase

    async def node_exists(self, name: str) -> bool:
        return name in self.nodes


def writer(partition: int, nodes: set[str] = frozenset()) -> RequestPartition:  # type: ignore[assignment]
    part = RequestPartition(SETTINGS, TOPICS, InMemoryViews(nodes), ACCESS, partition, trust=TRUST)  # type: ignore[arg-type]
    part._state = {}
    return part


def write(request: WriteRequest | bytes, *, key: str | None = None, partition: int | None = None,
          nodes: set[str] = frozenset()) -> tuple[list[Out], RequestPartition]:  # type: ignore[assignment]
    raw = request if isinstance(request, bytes) else encode(request)
    key = key if key is not None else (request.key if isinstance(request, WriteRequest) else "x")
    partition = partition_for(key, SETTINGS.partitions) if partition is None else partition
    part = writer(partition, nodes)
    out = asyncio.run(part.process([FakeRecord(raw, key.encode(), partition)]))
    return out, part


def answers(out: list[Out]) -> list[dict[str, Any]]:
    return [orjson.loads(o.value) for o in out if o.topic == TOPICS.events and o.value]


def config_map_request(name: str = "c", namespace: str = "default", **body: Any) -> WriteRequest:
    doc = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": namespace},
           "data": {"k": "v"}, **body}
    return WriteRequest(op=Op.APPLY, apiVersion="v1", kind="ConfigMap", namespace=namespace, name=name, body=doc)


def audits(out: list[Out]) -> list[dict[str, Any]]:
    return [orjson.loads(o.value) for o in out if o.topic == TOPICS.audit and o.value]


def only_answer(out: list[Out]) -> dict[str, Any]:
    (event,) = answers(out)
    assert [o for o in out if o.topic not in (TOPICS.events, TOPICS.audit)] == [], "nothing may be stored"
    return event


@pytest.mark.parametrize("raw", [b"", b"{", b"[]", b'{"op": "apply"}', b'{"op": "fly", "apiVersion": "v1"}',
                                 b'{"op":"apply","apiVersion":"v1","kind":"Gizmo","name":"g"}',
                                 b'{"op":"apply","apiVersion":"v1","kind":"Pod","name":5}',
                                 b'{"op":"apply","apiVersion":"v1","kind":"Pod","name":"p","namespace":7}',
                                 b'{"op":"apply","apiVersion":"v1","kind":"Pod","name":"p","body":' + b"[" * 5000 + b"]" * 5000 + b"}"])
def test_malformed_requests_are_rejected(raw: bytes) -> None:
    event = only_answer(write(raw)[0])
    assert event["reason"] == "Rejected" and event["message"].startswith("malformed write request")


def test_an_integer_beyond_64_bits_in_a_request_is_refused_not_raised() -> None:
    event = only_answer(write(config_map_request(extra=2**64))[0])
    assert event["reason"] == "Rejected" and "cannot be stored as JSON" in event["message"]


def test_an_object_over_the_size_limit_is_refused_before_it_is_written() -> None:
    request = config_map_request(extra="x" * MAX_REQUEST_BYTES)  # kept as an unknown field
    event = only_answer(write(request)[0])
    assert event["message"] == "Request entity too large: limit is 3145728"
    assert event["metadata"]["annotations"][STATUS_REASON_ANNOTATION] == "RequestEntityTooLarge"


def test_a_request_keyed_for_another_object_is_refused() -> None:
    request = config_map_request("b", "kube-system")
    event = only_answer(write(request, key="team-a/a")[0])
    assert event["message"] == 'the record key "team-a/a" does not name the object of the request ("kube-system/b")'


def test_a_request_on_a_partition_that_does_not_own_its_key_is_refused() -> None:
    request = config_map_request()
    wrong = (partition_for(request.key, SETTINGS.partitions) + 1) % SETTINGS.partitions
    event = only_answer(write(request, partition=wrong)[0])
    assert "belongs to partition" in event["message"]


def test_a_body_naming_another_object_than_the_request_is_refused() -> None:
    request = config_map_request().model_copy(update={"body": {
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "other", "namespace": "default"}}})
    event = only_answer(write(request)[0])
    assert event["message"] == "the name of the object (other) does not match the name on the request (c)"


def test_a_bind_to_a_node_that_does_not_exist_is_refused() -> None:
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "default"},
           "spec": {"containers": [{"name": "c", "image": "busybox"}]}}
    bind = WriteRequest(op=Op.BIND, apiVersion="v1", kind="Pod", namespace="default", name="p", nodeName="n9")
    part = writer(partition_for(bind.key, SETTINGS.partitions), nodes={"n1"})
    created = WriteRequest(op=Op.CREATE, apiVersion="v1", kind="Pod", namespace="default", name="p", body=pod)
    records = [FakeRecord(encode(r), r.key.encode(), part._partition, offset=i)
               for i, r in enumerate([created, bind, bind.model_copy(update={"node_name": "n1"})])]
    out = asyncio.run(part.process(records))
    reasons = [(e["reason"], e["message"]) for e in answers(out)]
    assert reasons[1] == ("Rejected", 'nodes "n9" not found')
    assert reasons[2][0] == "Updated" and "bound to n1" in reasons[2][1]


def test_a_fault_of_the_writer_itself_is_answered_and_the_batch_goes_on(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    def decide_once_broken(request: WriteRequest, current: Any, ctx: Any) -> Any:
        calls.append(request.name)
        if request.name == "broken":
            raise ZeroDivisionError("a bug")
        return real_decide(request, current, ctx)
    from services.api import writer as writer_module
    real_decide = writer_module.decide
    monkeypatch.setattr(writer_module, "decide", decide_once_broken)
    requests = [config_map_request("broken"), config_map_request("fine")]
    part = writer(0)
    records = [FakeRecord(encode(r), r.key.encode(), 0, offset=i) for i, r in enumerate(requests)]
    monkeypatch.setattr("services.api.writer.partition_for", lambda _key, _n: 0)
    out = asyncio.run(part.process(records))
    first, second = answers(out)
    assert first["message"] == "Internal error occurred: ZeroDivisionError: a bug"
    assert first["metadata"]["annotations"][STATUS_REASON_ANNOTATION] == "InternalError"
    assert second["reason"] == "Created" and calls == ["broken", "fine"]


@hsettings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(payload=poisoned_manifests(), op=st.sampled_from(["apply", "create", "update", "delete"]))
def test_whatever_the_intake_lets_through_the_writer_answers_once(payload: bytes, op: str) -> None:
    for request in run(payload, op).requests:
        out, _ = write(request)
        assert len(answers(out)) == 1
        assert all(len(o.value or b"") <= KAFKA_RECORD_LIMIT for o in out)
