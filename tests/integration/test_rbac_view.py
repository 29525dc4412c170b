"""The API's RBAC view against the real broker: it reads the policy already on the four
RBAC desired topics before it answers, and its decisions follow new records, label
changes of aggregated roles and tombstones."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest

from schemas.auth import UserInfo
from schemas.rbac import RBAC_GROUP
from services.api.rbac import Attributes
from services.api.rbac_view import RbacView, bootstrap_requests
from services.runtime.bus import make_producer
from services.runtime.buskeys import bus_trust
from services.runtime.config import Settings
from services.runtime.topics import Topics

pytestmark = pytest.mark.kafka

RBAC = "rbac.authorization.k8s.io/v1"
ALICE = UserInfo(username="alice", groups=("system:authenticated",))
GET_PODS = Attributes("get", "", "pods", namespace="dev", name="web")


def cluster_role(name: str, labels: dict[str, str], rules: list[dict[str, Any]]) -> dict[str, Any]:
    return {"apiVersion": RBAC, "kind": "ClusterRole", "metadata": {"name": name, "labels": labels},
            "rules": rules}


async def put(settings: Settings, plural: str, key: str, obj: dict[str, Any] | None) -> None:
    """Write a desired record as the API does: signed with this session's desired key."""
    topic = Topics(settings.topic_prefix).desired(plural)
    value = None if obj is None else orjson.dumps(obj)
    headers = list(bus_trust(settings).sign_desired(topic, key, value))
    async with make_producer(settings) as producer:
        await producer.send_and_wait(topic, key=key.encode(), value=value, headers=headers)


async def test_view_ignores_records_the_api_did_not_sign(settings: Settings) -> None:
    assert not bus_trust(settings).insecure, "the session's bus keys (tests/conftest.py bus_keys) are missing"
    forged = {"apiVersion": RBAC, "kind": "ClusterRoleBinding", "metadata": {"name": "evil"},
              "roleRef": {"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": "cluster-admin"},
              "subjects": [{"kind": "User", "apiGroup": RBAC_GROUP, "name": "alice"}]}
    await put(settings, "clusterroles", "cluster-admin",
              cluster_role("cluster-admin", {}, [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}]))
    async with make_producer(settings) as producer:  # unsigned
        await producer.send_and_wait(Topics(settings.topic_prefix).desired("clusterrolebindings"),
                                     key=b"evil", value=orjson.dumps(forged))
    async with RbacView(settings, Topics(settings.topic_prefix)) as view:
        await asyncio.wait_for(view.wait_synced(), 30)
        assert view.policy.cluster_role_rules("cluster-admin")
        assert ("", "evil") not in view.policy.bindings and not view.policy.authorize(ALICE, GET_PODS).allowed


async def test_view_reads_then_follows_the_policy(settings: Settings) -> None:
    for request in bootstrap_requests():  # as the API would store them
        await put(settings, request.kind.lower() + "s", request.key, request.body)
    binding = {"apiVersion": RBAC, "kind": "RoleBinding", "metadata": {"name": "alice-view", "namespace": "dev"},
               "roleRef": {"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": "view"},
               "subjects": [{"kind": "User", "apiGroup": RBAC_GROUP, "name": "alice"}]}
    await put(settings, "rolebindings", "dev/alice-view", binding)

    view = RbacView(settings, Topics(settings.topic_prefix))
    await view.start()
    try:
        await asyncio.wait_for(view.wait_synced(), 30)
        assert view.synced
        assert view.policy.authorize(ALICE, GET_PODS).allowed
        secrets = Attributes("get", "", "secrets", namespace="dev", name="s")
        assert not view.policy.authorize(ALICE, secrets).allowed

        # a new role aggregated into view, then its label taken away
        read_secrets = cluster_role("secret-reader", {"rbac.authorization.k8s.io/aggregate-to-view": "true"},
                                    [{"verbs": ["get"], "apiGroups": [""], "resources": ["secrets"]}])
        await put(settings, "clusterroles", "secret-reader", read_secrets)
        await asyncio.wait_for(view.barrier(), 30)
        assert view.policy.authorize(ALICE, secrets).allowed
        await put(settings, "clusterroles", "secret-reader", {**read_secrets, "metadata": {"name": "secret-reader"}})
        await asyncio.wait_for(view.barrier(), 30)
        assert not view.policy.authorize(ALICE, secrets).allowed

        # the binding's tombstone
        await put(settings, "rolebindings", "dev/alice-view", None)
        await asyncio.wait_for(view.barrier(), 30)
        assert not view.policy.authorize(ALICE, GET_PODS).allowed
    finally:
        await view.stop()
