"""The scheduler as real processes against the real broker, with the real API:
fake nodes (a Node manifest plus an observed status), pods applied as manifests,
outcomes read back from `kafkube.desired.pods`, events and observed pods."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
import pytest

from schemas.quantity import cpu_millis
from schemas.records import Observed, ObservedMeta, Op, WriteRequest
from services.runtime.bus import encode, make_producer, partition_for
from services.runtime.config import Settings
from services.runtime.identity import token_headers
from services.runtime.topics import Topics
from tests.integration.kafkit import ServiceProcess, answers, desired, publish, read_all, requests_decided, signed_as, wait_for

pytestmark = pytest.mark.kafka
Services = Callable[..., ServiceProcess]


# -- helpers ------------------------------------------------------------------------------
async def add_node(settings: Settings, name: str, *, cpu: str = "2", labels: dict[str, str] | None = None,
                   taints: list[dict[str, str]] | None = None) -> None:
    manifest = {"apiVersion": "v1", "kind": "Node",
                "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, **(labels or {})}},
                "spec": {"taints": taints or []}}
    await publish(settings, [orjson.dumps(manifest)])
    resources = {"cpu": cpu, "memory": "4Gi", "pods": "110"}
    status = Observed(apiVersion="v1", kind="Node", metadata=ObservedMeta(name=name), writer="kubelet",
                      status={"capacity": resources, "allocatable": resources,
                              "conditions": [{"type": "Ready", "status": "True",
                                              "lastHeartbeatTime": "2024-01-01T00:00:00Z"}]})
    topic, value = Topics(settings.topic_prefix).observed("nodes"), encode(status)
    async with make_producer(settings) as producer:  # as the node's kubelet would
        await producer.send_and_wait(topic, key=name.encode(), value=value,
                                     headers=signed_as(settings, f"system:node:{name}", topic, name, value))


def pod_manifest(name: str, *, cpu: str = "500m", **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [{"name": "c", "image": "busybox",
                                     "resources": {"requests": {"cpu": cpu, "memory": "64Mi"}}}], **spec}}


async def apply_pods(settings: Settings, *pods: dict[str, Any]) -> None:
    await publish(settings, [b"\n---\n".join(orjson.dumps(p) for p in pods)])


def latest_ownership(process: ServiceProcess) -> set[int]:
    """The node partitions a scheduler process last said it may bind onto."""
    lines = [orjson.loads(line) for line in process.logs().splitlines() if '"ownership.' in line]
    return set(lines[-1].get("partitions", [])) if lines and lines[-1]["event"] == "ownership.assigned" else set()




def bound(pods: dict[str, Any]) -> dict[str, str]:
    return {k: p["spec"]["nodeName"] for k, p in pods.items() if p["spec"].get("nodeName")}


def cpu_per_node(pods: dict[str, Any]) -> dict[str, int]:
    used: dict[str, int] = {}
    for p in pods.values():
        if node := p["spec"].get("nodeName"):
            used[node] = used.get(node, 0) + sum(cpu_millis(c["resources"]["requests"]["cpu"])
                                                 for c in p["spec"]["containers"])
    return used


async def failed_scheduling(settings: Settings, name: str) -> list[str]:
    return [e["message"] for e in await answers(settings)
            if e.get("reason") == "FailedScheduling" and e["involvedObject"].get("name") == name]


async def unschedulable_reported(settings: Settings, pods: dict[str, Any]) -> bool:
    """Every pod of `pods` without a node has a FailedScheduling event."""
    reported = {e["involvedObject"].get("name") for e in await answers(settings)
                if e.get("reason") == "FailedScheduling"}
    return {p["metadata"]["name"] for p in pods.values() if not p["spec"].get("nodeName")} <= reported


async def never_rebound(settings: Settings) -> None:
    """Across the whole history of desired.pods, no pod's nodeName ever changed."""
    first: dict[str, str] = {}
    for record in await read_all(settings, Topics(settings.topic_prefix).desired("pods")):
        if record.value is None:
            first.pop(record.key.decode(), None)  # deleted: the name may be reused
            continue
        node = orjson.loads(record.value)["spec"].get("nodeName")
        if node:
            assert first.setdefault(record.key.decode(), node) == node, record.key


# -- tests --------------------------------------------------------------------------------
async def test_requests_selectors_taints_and_retry_when_a_node_appears(
        settings: Settings, services: Services) -> None:
    services("api")
    services("scheduler")
    gpu_taint = {"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}
    await add_node(settings, "node-a", labels={"disk": "ssd"})
    await add_node(settings, "node-b")
    await add_node(settings, "node-c", labels={"accel": "gpu"}, taints=[gpu_taint])
    to_a_or_b = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": "kubernetes.io/hostname", "operator": "In",
                               "values": ["node-a", "node-b"]}]}]}}}
    await apply_pods(settings, pod_manifest("hold", cpu="1", nodeSelector={"disk": "ssd"}))
    await wait_for("hold bound", lambda: _bound_to(settings, "default/hold"))
    await apply_pods(settings,
                     pod_manifest("needy", cpu="1500m", affinity=to_a_or_b),
                     pod_manifest("gpu", cpu="100m", nodeSelector={"accel": "gpu"},
                                  tolerations=[{"key": "dedicated", "operator": "Equal", "value": "gpu"}]),
                     pod_manifest("plain", cpu="100m", nodeSelector={"accel": "gpu"}),
                     pod_manifest("later", cpu="3"))
    placed = await wait_for("needy and gpu bound", lambda: _all_bound(settings, "needy", "gpu"))
    assert placed["default/hold"] == "node-a"
    assert placed["default/needy"] == "node-b"  # node-a holds 1 cpu of 2: 1500m does not fit
    assert placed["default/gpu"] == "node-c"

    plain = await wait_for("plain reported", lambda: failed_scheduling(settings, "plain"))
    assert plain[0] == ("0/3 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, "
                        "2 node(s) didn't match Pod's node affinity/selector. preemption: 0/3 nodes "
                        "are available: 3 Preemption is not helpful for scheduling.")
    later = await wait_for("later reported", lambda: failed_scheduling(settings, "later"))
    assert later[0].startswith("0/3 nodes are available: 1 node(s) had untolerated taint "
                               "{dedicated: gpu}, 2 Insufficient cpu.")
    # the scheduler writes the condition after its FailedScheduling event is out: polled
    status = await wait_for("later's observed PodScheduled condition", lambda: observed_pod(settings, "default/later"))
    condition = status["status"]["conditions"][0]
    assert (status["writer"], condition["type"], condition["status"], condition["reason"]) == (
        "scheduler", "PodScheduled", "False", "Unschedulable")

    await add_node(settings, "node-d", cpu="4")
    assert await wait_for("later bound", lambda: _bound_to(settings, "default/later")) == "node-d"
    pods = await desired(settings, "pods")
    assert "nodeName" not in pods["default/plain"]["spec"]
    reports = await failed_scheduling(settings, "plain")  # once per distinct message (0/3, 0/4)
    assert len(reports) == len(set(reports)) == 2 and reports[1].startswith("0/4 nodes are available: ")
    await never_rebound(settings)


async def test_two_schedulers_never_overcommit_and_the_survivor_takes_over(
        settings: Settings, services: Services) -> None:
    services("api")
    first, second = services("scheduler"), services("scheduler")
    names = ["node-a", "node-b", "node-c"]
    assert {partition_for(n, settings.partitions) for n in names} == {0, 1, 2}  # both replicas own nodes
    for name in names:
        await add_node(settings, name)

    async def both_own_nodes() -> bool:
        owned = [latest_ownership(p) for p in (first, second)]
        return all(owned) and owned[0] | owned[1] == {0, 1, 2}

    await wait_for("both replicas to own nodes", both_own_nodes)
    await apply_pods(settings, *(pod_manifest(f"web-{i}") for i in range(40)))

    async def twelve_bound() -> dict[str, Any] | None:
        pods = await desired(settings, "pods")
        return pods if len(pods) == 40 and len(bound(pods)) == 12 else None

    pods = await wait_for("12 pods bound", twelve_bound, timeout=180)
    # Late binds, if any, would come from trying the 28 others: once each has been tried and
    # found no room (FailedScheduling), and every bind asked for has been decided, they show.
    await wait_for("the 28 others reported unschedulable", lambda: unschedulable_reported(settings, pods),
                   timeout=120)
    await requests_decided(settings)
    pods = await desired(settings, "pods")
    assert len(bound(pods)) == 12
    assert cpu_per_node(pods) == {n: 2000 for n in names}
    assert all("pod.bind_requested" in p.logs() for p in (first, second)), "both replicas bind"
    await never_rebound(settings)

    second.kill()
    victims = sorted(bound(pods))[::2]  # 6 of 12 pods, spread over the nodes
    async with make_producer(settings) as producer:
        for key in victims:
            namespace, name = key.split("/")
            delete = WriteRequest(op=Op.DELETE, apiVersion="v1", kind="Pod", namespace=namespace, name=name,
                                  gracePeriodSeconds=0, writer="test")
            await producer.send_and_wait(Topics(settings.topic_prefix).requests, key=key.encode(),
                                         value=encode(delete), headers=token_headers(settings))

    async def refilled() -> dict[str, Any] | None:
        pods = await desired(settings, "pods")
        return pods if len(pods) == 34 and len(bound(pods)) == 12 else None

    pods = await wait_for("the survivor fills the freed room", refilled, timeout=180)
    assert cpu_per_node(pods) == {n: 2000 for n in names}
    await requests_decided(settings)  # every bind asked for so far has been decided
    assert len(bound(await desired(settings, "pods"))) == 12
    await never_rebound(settings)


async def _bound_to(settings: Settings, key: str) -> str | None:
    pod = (await desired(settings, "pods")).get(key)
    return pod["spec"].get("nodeName") if pod else None


async def _all_bound(settings: Settings, *names: str) -> dict[str, str] | None:
    placed = bound(await desired(settings, "pods"))
    return placed if all(f"default/{n}" in placed for n in names) else None


async def observed_pod(settings: Settings, key: str) -> dict[str, Any] | None:
    """The last record of `key` on observed.pods, if there is one."""
    records = await read_all(settings, Topics(settings.topic_prefix).observed("pods"))
    values = [orjson.loads(r.value) for r in records if r.key.decode() == key and r.value]
    return values[-1] if values else None
