"""Access control on the real broker, as a user meets it: a manifest without a token, or
with one nobody knows, changes nothing; `edit` in one namespace deploys there and nowhere
else; `view` only reads; a kubelet's token cannot touch another node's pods or register
another node; every decision is audited and `history` names the authenticated author."""

from __future__ import annotations

import secrets
from typing import Any, Callable
from uuid import uuid4

import orjson
import pytest

from schemas.auth import TOKEN_HEADER
from schemas.records import Op, WriteRequest
from services.runtime.bus import encode, make_producer
from services.runtime.config import Settings
from services.runtime.topics import Topics
from tests.integration.kafkit import (ServiceProcess, cli, credentials_dir, desired, publish, read_all,
                                      wait_for_answers)

pytestmark = pytest.mark.kafka
RBAC = "rbac.authorization.k8s.io"


def add_user(name: str, *groups: str) -> str:
    """A new user in the API's token file (it reads the file again on an unknown token)."""
    token = secrets.token_urlsafe(24)
    with (credentials_dir() / "tokens.csv").open("a") as out:
        out.write(f'{token},{name},{name},"{",".join(groups)}"\n')
    return token


def binding(namespace: str, name: str, role: str, user: str) -> bytes:
    return orjson.dumps({"apiVersion": f"{RBAC}/v1", "kind": "RoleBinding",
                         "metadata": {"name": name, "namespace": namespace},
                         "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": role},
                         "subjects": [{"apiGroup": RBAC, "kind": "User", "name": user}]})


def config_map(namespace: str, name: str) -> bytes:
    return orjson.dumps({"apiVersion": "v1", "kind": "ConfigMap",
                         "metadata": {"name": name, "namespace": namespace}, "data": {"k": "v"}})


async def answers_to(settings: Settings, payloads: list[bytes], *, token: str | None,
                     admin: bool = False) -> list[dict[str, Any]]:
    """Publish as `token` (None: no token; admin: the session's admin) and return the answers."""
    ids = [uuid4().hex for _ in payloads]
    headers = None if admin else [(TOKEN_HEADER, token.encode())] if token else []
    await publish(settings if admin else settings.model_copy(update={"token": None}), payloads,
                  request_ids=ids, headers=headers)
    found = await wait_for_answers(settings, {(rid, "0") for rid in ids}, timeout=90)
    return [found[(rid, "0")][0] for rid in ids]


@pytest.fixture
def api(services: Callable[..., ServiceProcess]) -> ServiceProcess:
    return services("api")


async def test_no_token_or_an_unknown_one_changes_nothing(settings: Settings, api: ServiceProcess) -> None:
    anonymous, unknown = (await answers_to(settings, [config_map("default", "anon")], token=None)
                          + await answers_to(settings, [config_map("default", "unknown")], token="made-up"))
    assert anonymous["message"] == ('configmaps is forbidden: User "system:anonymous" cannot create resource '
                                    '"configmaps" in API group "" in the namespace "default"')
    assert unknown["message"] == "Unauthorized"
    assert not {"default/anon", "default/unknown"} & set(await desired(settings, "configmaps"))
    audit = [orjson.loads(r.value) for r in await read_all(settings, Topics(settings.topic_prefix).audit)]
    assert {"forbid", "unauthenticated"} <= {a["decision"] for a in audit}


async def test_edit_deploys_in_its_namespace_only_and_view_only_reads(settings: Settings,
                                                                      api: ServiceProcess) -> None:
    alice, bob = add_user("alice"), add_user("bob")
    namespace = orjson.dumps({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"}})
    setup = await answers_to(settings, [namespace], token=None, admin=True)  # first, as kubectl orders it
    setup += await answers_to(settings, [binding("team-a", "alice-edit", "edit", "alice"),
                                         binding("team-a", "bob-view", "view", "bob")], token=None, admin=True)
    assert [a["reason"] for a in setup] == ["Created"] * 3, [a["message"] for a in setup]
    mine, elsewhere = await answers_to(settings, [config_map("team-a", "a"), config_map("default", "a")], token=alice)
    assert mine["reason"] == "Created"
    assert elsewhere["reason"] == "Rejected" and 'User "alice" cannot create' in elsewhere["message"]
    (viewer,) = await answers_to(settings, [config_map("team-a", "b")], token=bob)
    assert viewer["reason"] == "Rejected" and 'User "bob" cannot create' in viewer["message"]
    env = {"KAFKUBE_TOKEN": bob}
    can_get = cli(settings.model_copy(update={"token": bob}), "auth", "can-i", "get", "configmaps", "-n", "team-a",
                  extra_env=env)
    can_create = cli(settings, "auth", "can-i", "create", "configmaps", "-n", "team-a", extra_env=env)
    assert (can_get.stdout.strip(), can_create.stdout.strip()) == ("yes", "no"), (can_get.stderr, can_create.stderr)
    whoami = cli(settings, "auth", "whoami", extra_env={"KAFKUBE_TOKEN": alice})
    assert "alice" in whoami.stdout, whoami.stderr
    history = cli(settings, "history", "configmap", "a", "-n", "team-a")
    assert "alice" in history.stdout, history.stdout + history.stderr


async def test_a_kubelet_token_reaches_only_its_own_node(settings: Settings, api: ServiceProcess) -> None:
    node_token = add_user("system:node:n1", "system:nodes")
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p2", "namespace": "default"},
           "spec": {"nodeName": "n2", "containers": [{"name": "c", "image": "busybox"}]}}
    (created,) = await answers_to(settings, [orjson.dumps(pod)], token=None, admin=True)
    assert created["reason"] == "Created"
    node2 = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n2"}}
    requests = [WriteRequest(op=Op.DELETE, apiVersion="v1", kind="Pod", namespace="default", name="p2",
                             gracePeriodSeconds=0, writer="test"),
                WriteRequest(op=Op.ENSURE, apiVersion="v1", kind="Node", name="n2", body=node2, writer="test")]
    async with make_producer(settings) as producer:
        for request in requests:
            await producer.send_and_wait(Topics(settings.topic_prefix).requests, key=request.key.encode(),
                                         value=encode(request), headers=[(TOKEN_HEADER, node_token.encode())])
    found = await wait_for_answers(settings, {(r.id, "0") for r in requests}, timeout=90)
    for request in requests:
        (event,) = found[(request.id, "0")]
        assert event["reason"] == "Rejected" and "n1" in event["message"], event["message"]
    assert "default/p2" in await desired(settings, "pods")
    assert "n2" not in await desired(settings, "nodes")
