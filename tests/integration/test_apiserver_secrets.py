"""Secrets through the HTTP API with the real kubectl, on the real broker, with the
session's encryption configuration: created (`kubectl create secret generic`, which sends
protobuf; `kubectl apply` with `stringData`), patched (merge, strategic merge, JSON patch: applied to the
values in clear, then sealed) and replaced; read back with their values (GET, LIST,
WATCH: opened through SecretRequests as the caller); stored encrypted; and a byte scan of
every topic of the cluster finds no value, plain or base64."""

from __future__ import annotations

import base64
import json
import secrets
from typing import Any

import pytest

from services.runtime.config import Settings
from services.runtime.secret_values import encrypted_provider
from tests.integration.kafkit import desired
from tests.integration.test_apiserver_kubectl import Kubectl, apiserver  # noqa: F401 (fixture)
from tests.integration.test_secret_encryption_docker import cluster_bytes

pytestmark = pytest.mark.kafka


def b64(value: str) -> str:
    return base64.b64encode(value.encode()).decode()


def values_of(kubectl: Kubectl, name: str) -> dict[str, str]:
    data = kubectl.json("get", "secret", name)["data"]
    assert isinstance(data, dict)
    return {k: base64.b64decode(v).decode() for k, v in data.items()}


async def test_secret_values_cross_the_http_api_sealed_and_come_back_opened(
        apiserver: tuple[Kubectl, int], settings: Settings) -> None:  # noqa: F811
    kubectl, _ = apiserver
    token = secrets.token_hex(8)
    created, applied, patched, replaced = (f"{what}-{token}" for what in ("created", "applied", "patched", "replaced"))

    kubectl("create", "secret", "generic", "s", f"--from-literal=a={created}")  # protobuf (the typed client)
    assert kubectl("get", "secret", "s", "-o", "jsonpath={.data.a}").stdout == b64(created)

    manifest = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "t", "labels": {"app": "x"}},
                "stringData": {"b": applied}}
    kubectl("apply", "--validate=false", "-f", "-", stdin=json.dumps(manifest))
    assert values_of(kubectl, "t") == {"b": applied}
    manifest["stringData"] = {"b": applied, "c": "two"}
    kubectl("apply", "--validate=false", "-f", "-", stdin=json.dumps(manifest))  # a strategic merge patch
    assert values_of(kubectl, "t") == {"b": applied, "c": "two"}

    kubectl("patch", "secret", "s", "--type", "merge", "-p", json.dumps({"stringData": {"m": patched}}))
    kubectl("patch", "secret", "s", "--type", "json", "-p",
            json.dumps([{"op": "add", "path": "/data/j", "value": b64("json")}]))
    kubectl("patch", "secret", "s", "-p", json.dumps({"data": {"a": None}}))  # strategic: deletes a key
    assert values_of(kubectl, "s") == {"m": patched, "j": "json"}

    current = kubectl.json("get", "secret", "s")
    current["data"] = {"r": b64(replaced)}
    kubectl("replace", "--validate=false", "-f", "-", stdin=json.dumps(current))
    assert values_of(kubectl, "s") == {"r": replaced}

    listed: Any = kubectl.json("get", "secrets", "-l", "app=x")
    assert [(i["metadata"]["name"], i["data"]) for i in listed["items"]] == [("t", {"b": b64(applied), "c": b64("two")})]
    raw = kubectl("get", "--raw", "/api/v1/namespaces/default/secrets?watch=1&timeoutSeconds=2&labelSelector=app%3Dx")
    events = [json.loads(line) for line in raw.stdout.splitlines() if line.strip()]
    assert [(e["type"], e["object"]["data"]) for e in events] == [("ADDED", {"b": b64(applied), "c": b64("two")})]
    table = kubectl("get", "secrets", "t").stdout
    assert table.split("\n")[1].split()[:3] == ["t", "Opaque", "2"], table
    assert "last-applied-configuration" not in json.dumps(kubectl.json("get", "secret", "t"))

    stored = await desired(settings, "secrets")
    assert {encrypted_provider(v) for k in ("default/s", "default/t") for v in stored[k]["data"].values()} == {"aesgcm"}
    scanned = await cluster_bytes(settings)
    for value in (created, applied, patched, replaced):
        for form in (value.encode(), b64(value).encode(), b64(value).encode()[:-4]):
            assert form not in scanned, f"{form!r} found on a topic"

    kubectl("delete", "secret", "s", "t")
    assert kubectl("get", "secret", "s", check=False).returncode != 0
