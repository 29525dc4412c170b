"""Secrets through the API's writer with encryption at rest: what is stored is
encrypted (and an unchanged apply stays Unchanged); a SecretRequest is answered with the
values sealed for the requester, to a node only for a pod of its own that uses the
Secret (the Node authorizer's rule), never in clear on any output."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import orjson
import pytest

from schemas.auth import TOKEN_HEADER
from schemas.records import Op, WriteRequest
from schemas.encryption import parse
from services.api.access import AccessControl
from services.api.authn import Authenticator
from services.api.encryption import ValueCodec
from services.api.sa_index import PodFacts
from services.api.secret_reads import SecretReads
from services.api.secret_storage import SecretStorage
from services.api.service import bootstrap_writes
from services.api.writer import RequestPartition
from services.runtime.bus import encode, partition_for
from services.runtime.manifest_sealing import seal_data
from services.runtime.sealing import Recipient, own_node_key
from services.runtime.secret_requests import answer_data, secret_request
from services.runtime.secret_values import is_encrypted
from services.runtime.transactional import Out
from tests.unit.api.test_access import StaticPolicy
from tests.unit.api.test_poison import FakeRecord, InMemoryViews
from tests.unit.api.test_service_accounts import RING, SETTINGS, TOPICS, TRUST, USERS, Existing

KEY = base64.b64encode(b"k" * 32).decode()
STORAGE = SecretStorage(ValueCodec.of(parse(
    "apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n"
    f"  - resources: [secrets]\n    providers:\n      - aesgcm:\n          keys: [{{name: k1, secret: '{KEY}'}}]\n")))
VALUE = b"hunter2-value"


def secret_write(op: Op = Op.APPLY) -> WriteRequest:
    body = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db", "namespace": "team-a"},
            "data": {"password": base64.b64encode(VALUE).decode()}}
    stored = STORAGE.to_storage(body)  # as the intake sends it
    return WriteRequest(op=op, apiVersion="v1", kind="Secret", namespace="team-a", name="db", body=stored)


class Writer:
    """One partition's writer with the Secret's partition state kept between requests."""

    def __init__(self) -> None:
        existing = Existing()
        existing.pods[("team-a", "web")] = PodFacts("pod-uid", "n1", "default", secrets=frozenset({"db"}))
        existing.pods[("team-a", "plain")] = PodFacts("plain-uid", "n1", "default")
        bootstrap = {(r.kind, r.key): r.body or {} for r in bootstrap_writes()}
        access = AccessControl(Authenticator(USERS), StaticPolicy(), bootstrap=bootstrap)
        self.partition = partition_for("team-a/db", SETTINGS.partitions)
        self.writer = RequestPartition(SETTINGS, TOPICS, InMemoryViews({"n1", "n2"}), access,  # type: ignore[arg-type]
                                       self.partition, trust=TRUST, secrets=STORAGE,
                                       secret_reads=SecretReads(STORAGE, existing, RING))
        self.offset = 0

    def send(self, request: WriteRequest, token: str) -> tuple[list[Out], dict[str, Any]]:
        self.offset += 1
        record = FakeRecord(encode(request), request.key.encode(), self.partition, self.offset,
                            headers=[(TOKEN_HEADER, token.encode())])
        out = asyncio.run(self.writer.process([record]))
        self.writer.committed()
        (event,) = [orjson.loads(o.value) for o in out if o.topic == TOPICS.events and o.value]
        return out, event


def no_value_in(out: list[Out]) -> bool:
    return all(VALUE not in (o.value or b"") and base64.b64encode(VALUE) not in (o.value or b"") for o in out)


@pytest.fixture
def writer() -> Writer:
    made = Writer()
    out, event = made.send(secret_write(), "t-admin")
    assert event["reason"] == "Created", event["message"]
    (stored,) = [orjson.loads(o.value) for o in out if o.topic == TOPICS.desired("secrets") and o.value]
    assert is_encrypted(stored["data"]["password"]) and no_value_in(out)
    return made


def test_an_unchanged_apply_of_an_encrypted_secret_is_unchanged(writer: Writer) -> None:
    out, event = writer.send(secret_write(), "t-admin")  # new ciphertext, same value
    assert event["reason"] == "Unchanged" and not [o for o in out if o.topic == TOPICS.desired("secrets")]


def test_a_node_reads_the_secret_of_its_own_pod_sealed_with_its_key(writer: Writer) -> None:
    node_key = own_node_key(RING.for_writer("system:node:n1"), "n1")
    assert node_key is not None
    request = secret_request("team-a", "db", writer="kubelet/n1", principal="", pod=("web", "pod-uid"),
                             node_key_id=node_key[0])
    out, event = writer.send(request, "t-n1")
    assert event["reason"] == "Reviewed", event["message"]
    data = answer_data(event, request, pod_uid="pod-uid", node_key=node_key)
    assert base64.b64decode(data["password"]) == VALUE and no_value_in(out)


@pytest.mark.parametrize("token,pod,expected", [
    ("t-n1", None, "no relationship found between node 'n1' and this object (a node names the pod"),
    ("t-n1", ("plain", "plain-uid"), "no relationship found between node 'n1' and this object"),  # does not use it
    ("t-n1", ("other", "other-uid"), "no relationship found"),  # on n2
    ("t-n1", ("web", "stale-uid"), "no relationship found"),  # a recreated pod
    ("t-alice", None, 'User "alice" cannot get resource "secrets" in API group "" in the namespace "team-a"'),
])
def test_who_may_not_read_it(writer: Writer, token: str, pod: tuple[str, str] | None, expected: str) -> None:
    request = secret_request("team-a", "db", writer="t", principal="", pod=pod, recipient=Recipient())
    out, event = writer.send(request, token)
    assert event["reason"] == "Rejected" and expected in event["message"], event["message"]
    assert event["metadata"]["annotations"]["kafkube.io/status-reason"] == "Forbidden" and no_value_in(out)
    (audit,) = [orjson.loads(o.value) for o in out if o.topic == TOPICS.audit and o.value]
    assert audit["decision"] == "forbid" and audit["auditID"] == request.id and audit["verb"] == "get"
    assert audit["objectRef"]["resource"] == "secrets" and audit["objectRef"]["name"] == "db"


def test_an_admin_reads_with_a_recipient_key_and_never_in_clear(writer: Writer) -> None:
    recipient = Recipient()
    request = secret_request("team-a", "db", writer="cli", principal="", recipient=recipient)
    out, event = writer.send(request, "t-admin")
    assert base64.b64decode(answer_data(event, request, recipient=recipient)["password"]) == VALUE
    assert no_value_in(out)
    _, refused = writer.send(secret_request("team-a", "db", writer="cli", principal=""), "t-admin")
    assert refused["reason"] == "Rejected" and "recipient key" in refused["message"]
    absent = next(f"nope-{i}" for i in range(1000)  # a name on this writer's partition
                  if partition_for(f"team-a/nope-{i}", SETTINGS.partitions) == writer.partition)
    _, missing = writer.send(secret_request("team-a", absent, writer="cli", principal="", recipient=recipient),
                             "t-admin")
    assert missing["reason"] == "Rejected" and missing["message"] == f'secrets "{absent}" not found'
    assert missing["metadata"]["annotations"]["kafkube.io/status-reason"] == "NotFound"


def test_values_sealed_for_the_manifest_key_in_a_request_are_opened_and_stored_encrypted(writer: Writer) -> None:
    """What the HTTP API sends (services/apiserver/secrets.py): an UPDATE whose values are
    sealed for the API's manifest key, as `kafkube apply` seals them."""
    assert STORAGE.manifest_key is not None
    body = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db", "namespace": "team-a"},
            "stringData": {"password": "changed-value", "extra": "x"}}
    sealed: dict[str, Any] = seal_data(body, STORAGE.manifest_key[1], "team-a")
    assert "stringData" not in sealed and all(v.startswith("kafkube:sealed:") for v in sealed["data"].values())
    out, event = writer.send(WriteRequest(op=Op.UPDATE, apiVersion="v1", kind="Secret", namespace="team-a",
                                          name="db", body=sealed), "t-admin")
    assert event["reason"] == "Updated", event["message"]
    (stored,) = [orjson.loads(o.value) for o in out if o.topic == TOPICS.desired("secrets") and o.value]
    assert all(is_encrypted(v) for v in stored["data"].values())
    opened = STORAGE.from_storage(stored) or {}
    assert {k: base64.b64decode(v) for k, v in opened["data"].items()} == {"password": b"changed-value", "extra": b"x"}
    assert all(b"changed-value" not in (o.value or b"") for o in out)
    elsewhere: dict[str, Any] = seal_data({**body, "metadata": {"name": "other", "namespace": "team-a"}}, STORAGE.manifest_key[1],
                          "team-a")  # bound to another Secret: does not open here
    _, refused = writer.send(WriteRequest(op=Op.UPDATE, apiVersion="v1", kind="Secret", namespace="team-a",
                                          name="db", body={**sealed, "data": elsewhere["data"]}), "t-admin")
    assert refused["reason"] == "Rejected" and "does not open" in refused["message"], refused["message"]
