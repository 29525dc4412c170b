"""The API service as a real process against the real broker: the path of a write,
answers on kafkube.events, and the CLI that waits for them."""

from __future__ import annotations

import asyncio
import json
import os
import textwrap
from pathlib import Path
from typing import Any, Callable
from uuid import uuid4

import orjson
import pytest

from schemas.records import Op, WriteRequest
from services.api.secret_storage import SecretStorage
from services.runtime.bus import encode, make_producer
from services.runtime.config import Settings
from services.runtime.identity import token_headers
from services.runtime.secret_values import is_encrypted
from services.runtime.topics import Topics
from tests.integration.kafkit import ServiceProcess, cli, desired, publish, wait_for_answers

pytestmark = pytest.mark.kafka

DEPLOYMENT = textwrap.dedent("""\
    apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: web
      labels: {app: web}
    spec:
      replicas: 2
      selector:
        matchLabels: {app: web}
      template:
        metadata:
          labels: {app: web}
        spec:
          containers:
          - name: web
            image: kafkube/busybox:1.0
            resources:
              requests: {cpu: 250m, memory: 64Mi}
    """)


@pytest.fixture
def api(services: Callable[..., ServiceProcess]) -> ServiceProcess:
    return services("api")


def write(tmp_path: Path, text: str, name: str = "m.yaml") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


async def test_apply_get_update_delete_through_the_cli(settings: Settings, api: ServiceProcess,
                                                        tmp_path: Path) -> None:
    manifest = write(tmp_path, DEPLOYMENT)
    first = cli(settings, "apply", "-f", manifest)
    assert (first.returncode, first.stdout.strip()) == (0, "deployment.apps/web created"), first.stderr
    again = cli(settings, "apply", "-f", manifest)
    assert again.stdout.strip() == "deployment.apps/web unchanged"
    changed = cli(settings, "apply", "-f", write(tmp_path, DEPLOYMENT.replace("replicas: 2", "replicas: 3")))
    assert changed.stdout.strip() == "deployment.apps/web configured"

    got = cli(settings, "get", "deploy", "web", "-o", "json")
    obj = json.loads(got.stdout)
    assert obj["spec"]["replicas"] == 3 and obj["metadata"]["generation"] == 2
    assert obj["metadata"]["namespace"] == "default" and obj["metadata"]["uid"]
    assert obj["spec"]["strategy"]["rollingUpdate"] == {"maxSurge": "25%", "maxUnavailable": "25%"}
    table = cli(settings, "get", "deployments")
    assert table.stdout.splitlines()[0].split() == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    assert table.stdout.splitlines()[1].split()[:2] == ["web", "0/3"]

    gone = cli(settings, "delete", "deployment", "web")
    assert (gone.returncode, gone.stdout.strip()) == (0, 'deployment.apps "web" deleted'), gone.stderr
    missing = cli(settings, "get", "deploy", "web")
    assert missing.returncode == 1
    assert 'Error from server (NotFound): deployments.apps "web" not found' in missing.stderr
    assert "web" not in await desired(settings, "deployments")


async def test_invalid_manifest_is_rejected_with_field_path(settings: Settings, api: ServiceProcess,
                                                            tmp_path: Path) -> None:
    bad = DEPLOYMENT.replace("replicas: 2", "replicas: -1").replace("image: kafkube/busybox:1.0", "image: ''")
    result = cli(settings, "apply", "-f", write(tmp_path, bad))
    assert result.returncode == 1
    assert "Error from server (Invalid)" in result.stderr
    assert "spec.replicas: Invalid value: -1" in result.stderr
    assert "spec.template.spec.containers[0].image: Required value" in result.stderr
    assert await desired(settings, "deployments") == {}


async def test_namespaces_must_exist_and_default_ones_do(settings: Settings, api: ServiceProcess,
                                                         tmp_path: Path) -> None:
    cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg, namespace: team-a}\ndata: {k: v}\n"
    refused = cli(settings, "apply", "-f", write(tmp_path, cm))
    assert refused.returncode == 1 and 'namespaces "team-a" not found' in refused.stderr
    both = "apiVersion: v1\nkind: Namespace\nmetadata: {name: team-a}\n---\n" + cm
    accepted = cli(settings, "apply", "-f", write(tmp_path, both, "both.yaml"))
    assert accepted.stdout.split("\n")[:2] == ["namespace/team-a created", "configmap/cfg created"], accepted.stderr
    namespaces = cli(settings, "get", "ns")
    names = {line.split()[0] for line in namespaces.stdout.splitlines()[1:]}
    assert {"default", "kube-system", "kube-public", "team-a"} <= names
    protected = cli(settings, "delete", "namespace", "default")
    assert protected.returncode == 1 and "may not be deleted" in protected.stderr


async def test_stale_resource_version_is_a_conflict(settings: Settings, api: ServiceProcess,
                                                    tmp_path: Path) -> None:
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "default"},
          "data": {"a": "1"}}
    assert cli(settings, "apply", "-f", write(tmp_path, json.dumps(cm), "c.json")).returncode == 0
    rv = (await desired(settings, "configmaps"))["default/c"]["metadata"]["resourceVersion"]
    topics = Topics(settings.topic_prefix)
    updates = [WriteRequest(op=Op.UPDATE, apiVersion="v1", kind="ConfigMap", namespace="default", name="c",
                            body={**cm, "data": {"a": str(i)}}, expectedResourceVersion=rv)
               for i in (2, 3)]
    async with make_producer(settings) as producer:
        for update in updates:
            await producer.send_and_wait(topics.requests, key=b"default/c", value=encode(update),
                                         headers=token_headers(settings))
    found = await wait_for_answers(settings, {(u.id, "0") for u in updates})
    reasons = [found[(u.id, "0")][0]["reason"] for u in updates]
    assert reasons == ["Updated", "Rejected"]
    assert "the object has been modified" in found[(updates[1].id, "0")][0]["message"]
    assert (await desired(settings, "configmaps"))["default/c"]["data"] == {"a": "2"}


async def test_manifest_topic_accepts_multi_document_yaml_and_delete_header(
        settings: Settings, api: ServiceProcess) -> None:
    payload = ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: one}\ndata: {a: b}\n---\n"
               "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: 'Bad_Name'}\n---\n"
               '{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "two"}, '
               '"stringData": {"password": "hunter2"}}\n').encode()
    rid = uuid4().hex
    (partition, offset), = await publish(settings, [payload], request_ids=[rid])
    found = await wait_for_answers(settings, {(rid, "0"), (rid, "1"), (rid, "2")})
    by_doc = {doc: events[0] for (_, doc), events in found.items()}
    assert [by_doc[d]["reason"] for d in "012"] == ["Created", "Rejected", "Created"]
    assert "metadata.name: Invalid value: \"Bad_Name\"" in by_doc["1"]["message"]
    source = by_doc["1"]["metadata"]["annotations"]["kafkube.io/source"]
    assert source == f"{settings.topic_prefix}manifests/{partition}/{offset}"
    stored = (await desired(settings, "secrets"))["default/two"]  # stringData merged, encrypted at rest
    opened = SecretStorage.from_path(os.environ["KAFKUBE_ENCRYPTION_CONFIG"]).from_storage(stored)
    assert is_encrypted(stored["data"]["password"]) and opened is not None
    assert opened["data"] == {"password": "aHVudGVyMg=="}

    rid2 = uuid4().hex
    await publish(settings, [b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: one}\n"], op="delete",
                  request_ids=[rid2])
    deleted = await wait_for_answers(settings, {(rid2, "0")})
    assert deleted[(rid2, "0")][0]["reason"] == "Deleted"
    assert "default/one" not in await desired(settings, "configmaps")


async def test_api_exits_with_a_clear_message_when_kafka_is_unreachable(tmp_path: Path) -> None:
    unreachable = Settings(bootstrap_servers="127.0.0.1:1", topic_prefix="x.", connect_timeout_s=2)
    import os
    import subprocess
    from tests.integration.kafkit import KAFKUBE, env_for
    env = {**env_for(unreachable), "KAFKUBE_CONNECT_TIMEOUT": "2"}
    result = await asyncio.to_thread(subprocess.run, [KAFKUBE, "serve", "api"], env=env,
                                     capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "cannot reach Kafka at 127.0.0.1:1 within 2s" in result.stderr
