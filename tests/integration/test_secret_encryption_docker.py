"""Secrets protected end to end, on the real broker and Docker Engine, with the
session's encryption configuration (tests/conftest.py, as `kafkube init` writes it):

- `kafkube apply` seals a Secret's values for the API; the API stores them encrypted;
  a pod on a Docker kubelet gets them in a volume and in env (the kubelet asked the API
  with a SecretRequest naming the pod) and checks them without printing them;
- a byte scan of every topic of the cluster finds no value, plain or base64;
- another node's token cannot read the Secret (the Node authorizer's rule), nor can the
  pod's own node without naming a pod that uses it;
- `kafkube get secret -o yaml` shows the value (RBAC `get secrets`), `describe` does not."""

from __future__ import annotations

import base64
import hashlib
import secrets
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiokafka.admin import AIOKafkaAdminClient

from schemas.auth import TOKEN_HEADER
from schemas.records import WriteRequest
from services.cli.credentials import init_credentials
from services.runtime.bus import encode, make_producer
from services.runtime.config import Settings
from services.runtime.sealing import Recipient
from services.runtime.secret_requests import answer_data, secret_request
from services.runtime.secret_values import encrypted_provider
from services.runtime.topics import Topics
from tests.integration.kafkit import cli, credentials_dir, desired, read_all, wait_for_answers
from tests.integration.test_kubelet_docker import Node, apply, node, status_of  # noqa: F401 (fixture)
from tests.integration.test_kubelet_hollow import eventually

pytestmark = [pytest.mark.kafka, pytest.mark.docker]
IMAGE = "kafkube/busybox:1.0"


async def ask_as_node(settings: Settings, node_name: str, secret: str, pod: tuple[str, str] | None) -> dict[str, Any]:
    """A SecretRequest sent with `node_name`'s token (answered sealed for a one-off key)."""
    init_credentials(credentials_dir(), nodes=[node_name], bootstrap_servers=settings.bootstrap_servers)
    token = (credentials_dir() / "tokens" / f"node-{node_name}.token").read_text().strip()
    recipient = Recipient()
    request: WriteRequest = secret_request("default", secret, writer=f"kubelet/{node_name}",
                                           principal=f"system:node:{node_name}", pod=pod, recipient=recipient)
    async with make_producer(settings) as producer:
        await producer.send_and_wait(Topics(settings.topic_prefix).requests, key=request.key.encode(),
                                     value=encode(request), headers=[(TOKEN_HEADER, token.encode())])
    found = await wait_for_answers(settings, {(request.id, "0")})
    answer = found[(request.id, "0")][-1]
    if answer.get("reason") == "Reviewed":
        return answer_data(answer, request, pod_uid=pod[1] if pod else "", recipient=recipient)
    return answer


async def cluster_bytes(settings: Settings) -> bytes:
    """Every record (key, value, headers) of every topic of this test's cluster."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap_servers)
    await admin.start()
    try:
        topics = [t for t in await admin.list_topics() if t.startswith(settings.topic_prefix)]
    finally:
        await admin.close()
    assert len(topics) > 10, topics
    chunks = []
    for topic in topics:
        for record in await read_all(settings, topic):
            chunks += [record.key or b"", record.value or b"", *(v for _, v in record.headers or ())]
    return b"\n".join(chunks)


async def test_a_secret_is_sealed_stored_encrypted_and_opened_only_for_its_pods_node(
        settings: Settings, node: Node, tmp_path: Path) -> None:  # noqa: F811
    value = f"s3cr3t-{secrets.token_hex(8)}"
    digest = hashlib.sha256(value.encode()).hexdigest()  # what the pod compares with: the pod spec holds no value
    apply(settings, tmp_path, f"""\
        apiVersion: v1
        kind: Secret
        metadata: {{name: db}}
        stringData: {{password: {value}}}
        ---
        apiVersion: v1
        kind: Pod
        metadata: {{name: user}}
        spec:
          nodeName: {node.name}
          restartPolicy: Never
          terminationGracePeriodSeconds: 1
          volumes: [{{name: s, secret: {{secretName: db}}}}]
          containers:
          - name: c
            image: {IMAGE}
            env: [{{name: FROM_ENV, valueFrom: {{secretKeyRef: {{name: db, key: password}}}}}}]
            volumeMounts: [{{name: s, mountPath: /s}}]
            command: [sh, -c, 'test "$(sha256sum < /s/password)" = "{digest}  -" &&
                              test "$(printf %s "$FROM_ENV" | sha256sum)" = "{digest}  -"']
        """)

    async def finished() -> Any:
        status = await status_of(settings, "user")
        return status if status and status.get("phase") in ("Succeeded", "Failed") else None

    status = await eventually(finished, timeout=180, what="the pod that checks the Secret finished")
    assert status["phase"] == "Succeeded", status  # the volume and the env held the value

    got = cli(settings, "get", "secret", "db", "-o", "json")
    assert got.returncode == 0, got.stderr
    assert base64.b64decode(orjson.loads(got.stdout)["data"]["password"]).decode() == value
    described = cli(settings, "describe", "secret", "db")
    assert described.returncode == 0 and "password" in described.stdout and value not in described.stdout

    pods = orjson.loads(cli(settings, "get", "pod", "user", "-o", "json").stdout)
    uid = pods["metadata"]["uid"]
    mine = await ask_as_node(settings, node.name, "db", ("user", uid))
    assert base64.b64decode(mine["password"]).decode() == value
    other = await ask_as_node(settings, f"{node.name}-other", "db", ("user", uid))
    assert other["reason"] == "Rejected" and "no relationship found between node" in other["message"], other
    unnamed = await ask_as_node(settings, node.name, "db", None)
    assert unnamed["reason"] == "Rejected" and "spec.boundObjectRef" in unnamed["message"], unnamed

    scanned = await cluster_bytes(settings)
    for form in (value.encode(), base64.b64encode(value.encode()), base64.b64encode(value.encode())[:-4]):
        assert form not in scanned, f"{form!r} found on a topic"
    stored = (await desired(settings, "secrets"))["default/db"]
    assert encrypted_provider(stored["data"]["password"]) == "aesgcm" and "stringData" not in stored
