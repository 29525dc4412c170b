"""The kubelet's view of a pod's Secrets: encrypted ones are asked of the API once per
resourceVersion and shown in clear; plain ones, and Secrets the pod does not use, are
left as stored."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

from schemas.pod import Pod
from schemas.pod_references import referenced_names
from services.kubelet.secrets import SecretValues, secret_names

ENCRYPTED = base64.b64encode(b"k8s:enc:aesgcm:v1:k1:" + b"\x00" * 40).decode()
PLAIN = base64.b64encode(b"plain").decode()


class FakeClient:
    def __init__(self) -> None:
        self.asked: list[str] = []

    async def read(self, pod: Pod, name: str) -> dict[str, Any]:
        self.asked.append(name)
        return {"password": base64.b64encode(f"opened-{name}".encode()).decode()}


def secret(name: str, value: str, version: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": "a", "resourceVersion": version},
            "data": {"password": value}}


POD = Pod.model_validate({
    "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "a", "uid": "u"},
    "spec": {"volumes": [{"name": "v", "secret": {"secretName": "enc"}}],
             "containers": [{"name": "c", "image": "i", "envFrom": [{"secretRef": {"name": "plain"}}]}]}})


def test_encrypted_secrets_are_opened_once_per_version() -> None:
    client = FakeClient()
    values = SecretValues(client)  # type: ignore[arg-type]
    store = {"a/enc": secret("enc", ENCRYPTED, "5"), "a/plain": secret("plain", PLAIN, "6"),
             "a/unused": secret("unused", ENCRYPTED, "7")}
    seen = asyncio.run(values.store_for(POD, store))
    assert base64.b64decode(seen["a/enc"]["data"]["password"]) == b"opened-enc"
    assert seen["a/plain"] is store["a/plain"]
    assert seen.get("a/unused") is None  # not the pod's: never opened, so never shown encrypted
    assert len(seen) == 2 and set(seen) == {"a/enc", "a/plain"}
    asyncio.run(values.store_for(POD, store))
    assert client.asked == ["enc"]  # kept while the version holds
    store["a/enc"] = secret("enc", ENCRYPTED, "9")
    asyncio.run(values.store_for(POD, store))
    assert client.asked == ["enc", "enc"]  # asked again once it changed


def test_a_pod_without_encrypted_secrets_sees_the_plain_ones_as_stored() -> None:
    client = FakeClient()
    store = {"a/plain": secret("plain", PLAIN, "1")}
    seen = asyncio.run(SecretValues(client).store_for(POD, store))  # type: ignore[arg-type]
    assert seen["a/plain"] is store["a/plain"] and dict(seen) == store
    assert client.asked == []


def test_a_secret_that_arrives_encrypted_while_another_is_opened_is_absent_not_ciphertext() -> None:
    """The informer's store is live: while the API is asked for one Secret, another the pod
    uses may arrive, encrypted. The view must not pass its ciphertext on to a volume file
    or an env var; the next sync opens it."""
    store: dict[str, Any] = {"a/enc": secret("enc", ENCRYPTED, "5")}

    class ArrivesWhileAsked(FakeClient):
        async def read(self, pod: Pod, name: str) -> dict[str, Any]:
            store["a/early"] = secret("early", ENCRYPTED, "6")  # the informer applies a record meanwhile
            return await super().read(pod, name)

    pod = Pod.model_validate({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "a", "uid": "u"},
        "spec": {"volumes": [{"name": "v", "secret": {"secretName": "enc"}}],
                 "containers": [{"name": "c", "image": "i", "env": [
                     {"name": "EARLY", "valueFrom": {"secretKeyRef": {"name": "early", "key": "password"}}}]}]}})
    client = ArrivesWhileAsked()
    values = SecretValues(client)  # type: ignore[arg-type]
    seen = asyncio.run(values.store_for(pod, store))
    assert client.asked == ["enc"]  # "early" was looked up first: not there yet
    assert seen.get("a/early") is None and "a/early" not in set(seen)
    seen = asyncio.run(values.store_for(pod, store))  # the next sync
    assert base64.b64decode(seen["a/early"]["data"]["password"]) == b"opened-early"


def test_the_typed_walk_finds_what_the_json_walk_finds() -> None:
    body = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "a", "uid": "u"},
            "spec": {"imagePullSecrets": [{"name": "pull"}],
                     "volumes": [{"name": "v", "secret": {"secretName": "vol"}},
                                 {"name": "w", "projected": {"sources": [{"secret": {"name": "proj"}},
                                                                         {"configMap": {"name": "cm"}}]}}],
                     "initContainers": [{"name": "i", "image": "i", "envFrom": [{"secretRef": {"name": "init"}}]}],
                     "containers": [{"name": "c", "image": "i", "env": [
                         {"name": "A", "valueFrom": {"secretKeyRef": {"name": "env", "key": "k"}}},
                         {"name": "B", "valueFrom": {"configMapKeyRef": {"name": "cm2", "key": "k"}}}]}]}}
    expected = {"pull", "vol", "proj", "init", "env"}
    assert secret_names(Pod.model_validate(body)) == expected == referenced_names(body, "secrets")
