"""Consumers trust a state record only if its writer may write it (DESIGN.md §8, on a
plain broker): desired records written straight to Kafka, and observed statuses forged
by the wrong node or by nobody, are refused by every service, while properly written
records after them (same partition, so read after them) are handled."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import orjson
import pytest

from schemas.records import Observed, ObservedMeta
from services.runtime.bus import encode, make_producer, partition_for
from services.runtime.config import Settings
from services.runtime.signing import KeyRing
from services.runtime.topics import Topics
from services.runtime.trust import BusTrust
from tests.integration.kafkit import ServiceProcess, desired, publish, read_all, signed_as, wait_for



def same_partition(settings: Settings, key: str, count: int) -> list[str]:
    """`count` pod names in default whose keys share `key`'s partition (read in order)."""
    wanted, names = partition_for(key, settings.partitions), list[str]()
    while len(names) < count:
        name = f"forged-{secrets.token_hex(3)}"
        if partition_for(f"default/{name}", settings.partitions) == wanted:
            names.append(name)
    return names


def pod(name: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"},
            "spec": {"containers": [{"name": "c", "image": "busybox"}], **spec}}


def forged_pod(name: str, **spec: Any) -> dict[str, Any]:
    """What the API would store, uid and all, so only the signature gives it away."""
    body = pod(name, **spec)
    body["metadata"] |= {"uid": secrets.token_hex(8), "resourceVersion": "1", "generation": 1,
                         "creationTimestamp": "2026-01-01T00:00:00Z"}
    body["spec"] |= {"restartPolicy": "Always", "schedulerName": "default-scheduler"}
    return body


def forged_lines(process: ServiceProcess, key: str) -> list[dict[str, Any]]:
    lines = [orjson.loads(line) for line in process.logs().splitlines() if '"record.forged"' in line]
    return [line for line in lines if line.get("key") == key]


async def test_desired_pods_not_written_by_the_api_are_never_bound_or_run(
        settings: Settings, services: Callable[..., ServiceProcess], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKUBE_KUBELET_ROOT", str(tmp_path / "kubelet"))
    node = f"n-{secrets.token_hex(3)}"
    services("api")
    scheduler = services("scheduler")
    kubelet = services("kubelet", "--node", node, "--runtime", "hollow")  # holds node-<node>.json only
    await wait_for("the node registered", lambda: _has(desired(settings, "nodes"), node))

    pods_t = Topics(settings.topic_prefix).desired("pods")
    unbound, bound, wrong_key = same_partition(settings, "default/real", 3)
    other_cluster = BusTrust(settings.topic_prefix, KeyRing.generate())  # a key this cluster never had
    async with make_producer(settings) as producer:
        await producer.send_and_wait(pods_t, key=f"default/{unbound}".encode(),
                                     value=orjson.dumps(forged_pod(unbound)))
        await producer.send_and_wait(pods_t, key=f"default/{bound}".encode(),
                                     value=orjson.dumps(forged_pod(bound, nodeName=node)))
        value = orjson.dumps(forged_pod(wrong_key, nodeName=node))
        await producer.send_and_wait(pods_t, key=f"default/{wrong_key}".encode(), value=value,
                                     headers=list(other_cluster.sign_desired(pods_t, f"default/{wrong_key}", value)))
    await publish(settings, [orjson.dumps(pod("real"))])  # after them, in the same partition

    async def real_running() -> bool:
        record = (await observed(settings, "pods")).get("default/real")
        return bool(record and record["status"].get("phase") == "Running")

    await wait_for("the real pod bound and running", real_running)
    pods = await desired(settings, "pods")
    assert pods["default/real"]["spec"]["nodeName"] == node
    assert "nodeName" not in pods[f"default/{unbound}"]["spec"]  # never bound
    statuses = await observed(settings, "pods")
    assert not {f"default/{n}" for n in (unbound, bound, wrong_key)} & set(statuses)  # never run
    requests = {r.key.decode() for r in await read_all(settings, Topics(settings.topic_prefix).requests)}
    assert f"default/{unbound}" not in requests  # no BIND was asked for
    assert forged_lines(scheduler, f"default/{unbound}") and forged_lines(scheduler, f"default/{wrong_key}")
    assert forged_lines(kubelet, f"default/{bound}") and forged_lines(kubelet, f"default/{wrong_key}")


async def test_forged_node_and_pod_statuses_count_for_nothing(
        settings: Settings, services: Callable[..., ServiceProcess]) -> None:
    """Nobody runs node n1: the test plays its kubelet (with n1's key) and a forger (n2's
    key, or none). A forged Ready node schedules nothing; forged pod statuses are counted
    neither by the ReplicaSet controller nor by endpoints; n1's own records are."""
    topics = Topics(settings.topic_prefix)
    n1 = f"n1-{secrets.token_hex(3)}"
    services("api")
    scheduler = services("scheduler")
    controllers = services("controllers")
    endpoints = services("endpoints")
    await publish(settings, [orjson.dumps({"apiVersion": "v1", "kind": "Node", "metadata": {
        "name": n1, "labels": {"kubernetes.io/hostname": n1}}})])
    await wait_for("the node in desired state", lambda: _has(desired(settings, "nodes"), n1))
    await write(settings, topics.observed("nodes"), n1, node_status(n1), as_="system:node:n2")
    await write(settings, topics.observed("nodes"), n1, node_status(n1), as_=None)
    await publish(settings, [orjson.dumps(replicaset(n1)), orjson.dumps(service())])
    pod_key = await wait_for("the ReplicaSet's pod", lambda: _one_pod(settings))
    await wait_for("the scheduler to see both forged statuses",
                   lambda: _true(len(forged_lines(scheduler, n1)) >= 2), timeout=60)
    assert "nodeName" not in (await desired(settings, "pods"))[pod_key]["spec"]

    await write(settings, topics.observed("nodes"), n1, node_status(n1), as_=f"system:node:{n1}")
    await wait_for("the pod bound once n1 itself says Ready", lambda: _bound(settings, pod_key))
    name = pod_key.split("/", 1)[1]
    uid = (await desired(settings, "pods"))[pod_key]["metadata"]["uid"]
    # forged: Ready, signed by another node, and unsigned; then n1's own, not ready
    await write(settings, topics.observed("pods"), pod_key, pod_status(name, uid, "10.9.9.9", True), as_="system:node:n2")
    await write(settings, topics.observed("pods"), pod_key, pod_status(name, uid, "10.9.9.8", True), as_=None)
    await write(settings, topics.observed("pods"), pod_key, pod_status(name, uid, "10.1.1.1", False), as_=f"system:node:{n1}")
    await wait_for("endpoints to list n1's not-ready address",
                   lambda: _endpoints_has(settings, "notReadyAddresses", "10.1.1.1"))
    ready_sent = time.time()
    await write(settings, topics.observed("pods"), pod_key, pod_status(name, uid, "10.1.1.2", True), as_=f"system:node:{n1}")
    await wait_for("endpoints to list n1's ready address", lambda: _endpoints_has(settings, "addresses", "10.1.1.2"))
    await wait_for("the ReplicaSet to count the ready pod", lambda: _rs_ready(settings))

    ips = {a["ip"] for r in await read_all(settings, topics.observed("endpoints")) if r.value
           for s in orjson.loads(r.value)["status"]["subsets"] for f in ("addresses", "notReadyAddresses")
           for a in s.get(f) or ()}
    assert not ips & {"10.9.9.9", "10.9.9.8"}, ips
    early = [r for r in await read_all(settings, topics.observed("replicasets"))
             if r.value and r.timestamp / 1000 < ready_sent
             and (orjson.loads(r.value)["status"].get("readyReplicas") or 0) > 0]
    assert not early, "a forged Ready status was counted by the ReplicaSet controller"
    assert len(forged_lines(endpoints, pod_key)) >= 2 and len(forged_lines(controllers, pod_key)) >= 2


# -- helpers -----------------------------------------------------------------------------------

async def observed(settings: Settings, plural: str) -> dict[str, Any]:
    topic = Topics(settings.topic_prefix).observed(plural)
    found: dict[str, Any] = {}
    for record in await read_all(settings, topic):
        if record.value is None:
            found.pop(record.key.decode(), None)
        else:
            found[record.key.decode()] = orjson.loads(record.value)
    return found


async def write(settings: Settings, topic: str, key: str, record: Observed, *, as_: str | None) -> None:
    value = encode(record)
    headers = signed_as(settings, as_, topic, key, value) if as_ else []
    async with make_producer(settings) as producer:
        await producer.send_and_wait(topic, key=key.encode(), value=value, headers=headers)


def node_status(name: str) -> Observed:
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    resources = {"cpu": "4", "memory": "8Gi", "pods": "110"}
    return Observed(apiVersion="v1", kind="Node", metadata=ObservedMeta(name=name), writer="kubelet",
                    status={"capacity": resources, "allocatable": resources,
                            "conditions": [{"type": "Ready", "status": "True", "lastHeartbeatTime": now}]})


def pod_status(name: str, uid: str, ip: str, ready: bool) -> Observed:
    return Observed(apiVersion="v1", kind="Pod", writer="kubelet", metadata=ObservedMeta(
        name=name, namespace="default", uid=uid), status={
        "phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}],
        "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]})


def replicaset(node: str) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "web", "namespace": "default"},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"nodeSelector": {"kubernetes.io/hostname": node},
                                           "containers": [{"name": "c", "image": "busybox"}]}}}}


def service() -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "default"},
            "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080}]}}


async def _has(found: Any, key: str) -> bool:
    return key in await found


async def _true(value: bool) -> bool:
    return value


async def _one_pod(settings: Settings) -> str | None:
    keys = [k for k in await desired(settings, "pods") if k.startswith("default/web-")]
    return keys[0] if keys else None


async def _bound(settings: Settings, key: str) -> bool:
    return bool((await desired(settings, "pods"))[key]["spec"].get("nodeName"))


async def _endpoints_has(settings: Settings, field: str, ip: str) -> bool:
    record = (await observed(settings, "endpoints")).get("default/web")
    return record is not None and any(a["ip"] == ip for s in record["status"]["subsets"] for a in s.get(field) or ())


async def _rs_ready(settings: Settings) -> bool:
    record = (await observed(settings, "replicasets")).get("default/web")
    return record is not None and (record["status"].get("readyReplicas") or 0) >= 1
