"""ServiceAccount tokens on the real broker, with the API as a process: a new namespace
gets its `default` ServiceAccount; the test plays a node (its token, its derived bus
key) and gets a pod's token through the kubelet's own TokenClient; that token
authenticates a manifest write as `system:serviceaccount:<ns>:default`, which RBAC
forbids until a RoleBinding grants it; NodeRestriction refuses a token for a pod on
another node; a made-up token is Unauthorized."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any
from uuid import uuid4

import orjson
import pytest

from schemas.auth import TOKEN_HEADER
from schemas.pod import Pod
from schemas.records import WriteRequest
from services.cli.credentials import init_credentials
from services.kubelet.tokens import TokenClient, TokenError
from services.runtime.bus import encode, make_producer
from services.runtime.buskeys import bus_trust
from services.runtime.config import Settings
from services.runtime.sealing import own_node_key
from services.runtime.topics import Topics
from tests.integration.kafkit import (ServiceProcess, credentials_dir, desired, publish, wait_for,
                                      wait_for_answers)

pytestmark = pytest.mark.kafka


async def write(settings: Settings, *docs: dict[str, Any], token: str | None = None) -> list[dict[str, Any]]:
    """Publish each document (as the admin, or with `token`); its answer event."""
    ids = [uuid4().hex for _ in docs]
    if token is None:
        await publish(settings, [orjson.dumps(d) for d in docs], request_ids=ids)
    else:
        await publish(settings.model_copy(update={"token": None}), [orjson.dumps(d) for d in docs],
                      request_ids=ids, headers=[(TOKEN_HEADER, token.encode())])
    found = await wait_for_answers(settings, {(i, "0") for i in ids})
    return [found[(i, "0")][-1] for i in ids]


def pod(namespace: str, name: str, node: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": namespace},
            "spec": {"nodeName": node, "containers": [{"name": "c", "image": "kafkube/busybox:1.0"}]}}


def config_map(namespace: str, name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": namespace},
            "data": {"k": "v"}}


def node_client(settings: Settings, node: str) -> TokenClient:
    """What the kubelet of `node` holds: its token and the key derived for it."""
    init_credentials(credentials_dir(), nodes=[node], bootstrap_servers=settings.bootstrap_servers)
    token = (credentials_dir() / "tokens" / f"node-{node}.token").read_text().strip()
    ring = bus_trust(settings).ring
    assert ring is not None
    requests = Topics(settings.topic_prefix).requests

    async def send(request: WriteRequest) -> None:
        async with make_producer(settings) as producer:
            await producer.send_and_wait(requests, key=request.key.encode(), value=encode(request),
                                         headers=[(TOKEN_HEADER, token.encode())])

    return TokenClient(settings, node, send, node_key=own_node_key(ring.for_writer(f"system:node:{node}"), node))


async def test_a_pods_token_authenticates_as_its_service_account_and_rbac_decides(
        settings: Settings, services: Callable[..., ServiceProcess]) -> None:
    services("api")
    ns, node = f"sa-{secrets.token_hex(3)}", f"n-{secrets.token_hex(3)}"
    (answer,) = await write(settings, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    assert answer["reason"] == "Created", answer["message"]

    async def default_account() -> Any:
        return (await desired(settings, "serviceaccounts")).get(f"{ns}/default")

    account = await wait_for("the namespace's default ServiceAccount", default_account, timeout=60)
    mine, theirs = await write(settings, pod(ns, "web", node), pod(ns, "elsewhere", "another-node"))
    assert mine["reason"] == theirs["reason"] == "Created", (mine["message"], theirs["message"])
    pods = await desired(settings, "pods")
    web = Pod.model_validate(pods[f"{ns}/web"])
    assert web.spec is not None and web.spec.service_account_name == "default"

    client = node_client(settings, node)
    issued = await client.request(web)
    assert issued.token.count(".") == 2 and issued.expires_at > issued.issued_at + 3000
    with pytest.raises(TokenError, match="node requested token bound to a pod scheduled on a different node"):
        await client.request(Pod.model_validate(pods[f"{ns}/elsewhere"]))

    (refused,) = await write(settings, config_map(ns, "by-robot"), token=issued.token)
    assert refused["reason"] == "Rejected"
    assert f'User "system:serviceaccount:{ns}:default" cannot create resource "configmaps"' in refused["message"]

    binding = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
               "metadata": {"name": "robot-edit", "namespace": ns},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"},
               "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": ns}]}
    (bound,) = await write(settings, binding)
    assert bound["reason"] == "Created", bound["message"]
    (allowed,) = await write(settings, config_map(ns, "by-robot"), token=issued.token)
    assert allowed["reason"] == "Created", allowed["message"]
    (elsewhere,) = await write(settings, config_map("default", "by-robot"), token=issued.token)
    assert elsewhere["reason"] == "Rejected" and "cannot create resource" in elsewhere["message"]
    assert account["metadata"]["uid"]

    forged = issued.token[:-4] + ("AAAA" if not issued.token.endswith("AAAA") else "BBBB")
    (unknown,) = await write(settings, config_map(ns, "forged"), token=forged)
    assert unknown["reason"] == "Rejected" and unknown["message"] == "Unauthorized"
