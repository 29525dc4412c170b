"""The cluster controllers (node lifecycle, garbage collector, namespace) against the
real broker with the real API and hollow kubelets as processes: a killed kubelet's
node is tainted and its pod evicted, then untainted when the kubelet is back; a
deleted namespace takes its contents with it; a deleted owner takes its dependents.

The controllers run as `kafkube serve controllers` when the controller manager
offers them, else in this process (their components, with the test's settings)."""

from __future__ import annotations

import asyncio
import importlib.util
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import orjson
import pytest

from services.controllers.gc.service import gc_components
from services.controllers.namespace.service import namespace_components
from services.controllers.nodelifecycle.reconcile import UNREACHABLE, Config
from services.controllers.nodelifecycle.service import nodelifecycle_components
from services.runtime.bus import partition_for
from services.runtime.config import Settings
from services.runtime.informer import Informer
from services.runtime.tasks import cancel_and_wait
from services.runtime.topics import Topics
from tests.integration.kafkit import ServiceProcess, answers, desired, publish, read_all, requests_decided, wait_for

pytestmark = pytest.mark.kafka
Services = Callable[..., ServiceProcess]
GRACE_S, TOLERATION_S, HEARTBEAT_S = 4, 3, 1


def manager_has_us() -> bool:
    """True when `kafkube serve controllers` runs these controllers."""
    if importlib.util.find_spec("services.controllers.service") is None:
        return False
    from services.controllers import service

    text = open(service.__file__ or "").read()
    return all(name in text for name in ("nodelifecycle", "gc_components", "namespace_components"))


@pytest.fixture
async def controllers(settings: Settings, services: Services,
                      monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[None]:
    monkeypatch.setenv("KAFKUBE_NODE_MONITOR_GRACE_SECONDS", str(GRACE_S))
    monkeypatch.setenv("KAFKUBE_DEFAULT_UNREACHABLE_TOLERATION_SECONDS", str(TOLERATION_S))
    monkeypatch.setenv("KAFKUBE_HEARTBEAT_SECONDS", str(HEARTBEAT_S))
    if manager_has_us():
        services("controllers")
        yield
        return
    config = Config(grace_s=GRACE_S, default_toleration_s=TOLERATION_S)
    components = {**nodelifecycle_components(settings, config), **gc_components(settings),
                  **namespace_components(settings)}
    tasks = [asyncio.create_task(run(), name=name) for name, run in components.items()]
    try:
        yield
    finally:
        await cancel_and_wait(tasks)




async def apply(settings: Settings, *docs: dict[str, Any], op: str | None = None) -> None:
    await publish(settings, [b"\n---\n".join(orjson.dumps(d) for d in docs)], op=op)


def pod(name: str, node: str, *, namespace: str = "default", **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": namespace},
            "spec": {"nodeName": node, "containers": [{"name": "c", "image": "busybox:1.36"}], **spec}}


def configmap(name: str, namespace: str = "default", **meta: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": namespace, **meta},
            "data": {"k": "v"}}


def ready_of(observed: dict[str, Any] | None) -> tuple[str | None, str | None]:
    for c in (observed or {}).get("status", {}).get("conditions") or []:
        if c.get("type") == "Ready":
            return c.get("status"), observed.get("writer") if observed else None
    return None, None


def taint_keys(node: dict[str, Any] | None) -> set[str]:
    return {f"{t['key']}:{t['effect']}" for t in ((node or {}).get("spec") or {}).get("taints") or []}


async def test_dead_kubelet_taints_its_node_evicts_its_pods_and_recovers(
        settings: Settings, services: Services, controllers: None) -> None:
    services("api")
    services("scheduler")
    kubelets = {"n1": services("kubelet", "--node", "n1", "--runtime", "hollow")}
    await wait_for("n1 ready", lambda: _ready_nodes(settings, {"n1"}))
    forever = [{"key": UNREACHABLE, "operator": "Exists", "effect": "NoExecute"}]
    await apply(settings, pod("doomed", "n1"), pod("stays", "n1", tolerations=forever))
    if manager_has_us():  # the ReplicaSet controller runs beside us: its pod moves to n2
        await apply(settings, replicaset("web"))
        await wait_for("web's pod on n1", lambda: _web_pods_on(settings, "n1"))
    kubelets["n2"] = services("kubelet", "--node", "n2", "--runtime", "hollow")
    await wait_for("both nodes ready", lambda: _ready_nodes(settings, {"n1", "n2"}))

    kubelets["n1"].kill()
    killed = time.monotonic()
    n1 = await wait_for("n1 tainted", lambda: _node_if(settings, "n1", lambda n: UNREACHABLE + ":NoExecute" in taint_keys(n)))
    assert taint_keys(n1) >= {f"{UNREACHABLE}:NoSchedule", f"{UNREACHABLE}:NoExecute"}
    assert ready_of((await desired_observed(settings))["n1"]) == ("Unknown", "node-controller")
    await wait_for("doomed evicted", lambda: _gone(settings, "pods", "default/doomed"))
    assert time.monotonic() - killed >= GRACE_S + TOLERATION_S - 1.5
    assert ready_of((await desired_observed(settings))["n2"]) == ("True", "kubelet")
    if manager_has_us():
        await wait_for("web's pod recreated on n2", lambda: _web_pods_on(settings, "n2"))
    assert "default/stays" in await desired(settings, "pods")
    events = [e for e in await answers(settings) if e.get("source", {}).get("component") == "node-controller"]
    assert {"NodeNotReady", "TaintManagerEviction"} <= {e["reason"] for e in events}
    assert "Marking for deletion Pod default/doomed" in {e["message"] for e in events}

    services("kubelet", "--node", "n1", "--runtime", "hollow")
    await wait_for("n1 untainted and ready", lambda: _ready_nodes(settings, {"n1", "n2"}))
    assert "default/stays" in await desired(settings, "pods")


def replicaset(name: str) -> dict[str, Any]:
    labels = {"app": name}
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": name},
            "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "c", "image": "busybox:1.36"}]}}}}


async def _web_pods_on(settings: Settings, node: str) -> bool:
    pods = [p for p in (await desired(settings, "pods")).values()
            if (p["metadata"].get("labels") or {}).get("app") == "web" and not p["metadata"].get("deletionTimestamp")]
    return len(pods) == 1 and pods[0]["spec"].get("nodeName") == node


async def test_namespace_and_owner_deletion_cascade(settings: Settings, services: Services,
                                                    controllers: None) -> None:
    services("api")
    second = services("controllers") if manager_has_us() else None  # two replicas share the keys
    # namespace: contents first, then the namespace (the `kubernetes` finalizer)
    ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team", "finalizers": ["kubernetes"]}}
    await apply(settings, ns)
    await wait_for("namespace", lambda: _has(settings, "namespaces", "team"))
    await apply(settings, configmap("a", "team"), configmap("b", "team"), pod("p", "", namespace="team"))
    await wait_for("contents", lambda: _has(settings, "configmaps", "team/b"))
    await wait_for("observed Active", lambda: _observed_phase(settings, "team", "Active"))
    await apply(settings, ns, op="delete")
    await wait_for("namespace gone", lambda: _gone(settings, "namespaces", "team"))
    assert not [k for k in await desired(settings, "configmaps") if k.startswith("team/")]
    assert not [k for k in await desired(settings, "pods") if k.startswith("team/")]
    await wait_for("observed status gone", lambda: _observed_gone(settings, "team"))

    if second is not None:
        second.kill()  # the survivor takes the dead replica's partitions over

    # background: a dependent follows its deleted owner (matched by uid)
    await apply(settings, configmap("owner"))
    owner = await wait_for("owner", lambda: _has(settings, "configmaps", "default/owner"))
    ref = {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": owner["metadata"]["uid"]}
    await apply(settings, configmap("child", ownerReferences=[ref]),
                configmap("keeper", ownerReferences=[ref, {**ref, "name": "x", "uid": "never-deleted",
                                                          "kind": "Widget", "apiVersion": "example.com/v1"}]))
    await wait_for("child", lambda: _has(settings, "configmaps", "default/keeper"))
    # Evidence the collector has looked at child: a dependent of an owner that does not
    # exist, written after child on child's partition, is collected; and every delete asked
    # for before that has been decided.
    probe = next(name for name in (f"probe-{i}" for i in range(1000))
                 if partition_for(f"default/{name}", settings.partitions) ==
                 partition_for("default/child", settings.partitions))
    await apply(settings, configmap(probe, ownerReferences=[{**ref, "name": "absent", "uid": "absent-uid"}]))
    await wait_for("the probe collected", lambda: _gone_after(settings, "configmaps", f"default/{probe}"))
    await requests_decided(settings)
    assert "default/child" in await desired(settings, "configmaps")  # a live owner keeps it
    await apply(settings, configmap("owner"), op="delete")
    await wait_for("child collected", lambda: _gone(settings, "configmaps", "default/child"))
    keeper = await wait_for("keeper's dead reference dropped", lambda: _has(
        settings, "configmaps", "default/keeper", lambda o: len(o["metadata"].get("ownerReferences", [])) == 1))
    assert keeper["metadata"]["ownerReferences"][0]["uid"] == "never-deleted"

    # foreground: the owner waits (its finalizer) until its blocking dependent is gone
    await apply(settings, configmap("fg", finalizers=["foregroundDeletion"]))
    fg = await wait_for("fg owner", lambda: _has(settings, "configmaps", "default/fg"))
    fg_ref = {"apiVersion": "v1", "kind": "ConfigMap", "name": "fg", "uid": fg["metadata"]["uid"],
              "blockOwnerDeletion": True}
    await apply(settings, configmap("fg-child", ownerReferences=[fg_ref]))
    await wait_for("fg child", lambda: _has(settings, "configmaps", "default/fg-child"))
    await apply(settings, configmap("fg"), op="delete")
    await wait_for("fg owner gone", lambda: _gone(settings, "configmaps", "default/fg"))
    assert "default/fg-child" not in await desired(settings, "configmaps")
    rejected = [e["message"] for e in await answers(settings) if e.get("reason") == "Rejected"]
    assert not [m for m in rejected if "not found" not in m], rejected  # conflicts are retried, not fatal


# -- reads -----------------------------------------------------------------------------------
async def desired_observed(settings: Settings, plural: str = "nodes") -> dict[str, Any]:
    topic = Topics(settings.topic_prefix).observed(plural)
    view: Informer[Any] = Informer(settings, [topic], follow=False)
    async with view:
        await view.wait_synced()
        return dict(view.items(topic))


async def _ready_nodes(settings: Settings, names: set[str]) -> bool:
    observed = await desired_observed(settings)
    nodes = await desired(settings, "nodes")
    return all(ready_of(observed.get(n)) == ("True", "kubelet") and n in nodes and not taint_keys(nodes[n])
               for n in names)


async def _pods_are(settings: Settings, keys: set[str]) -> bool:
    return set(await desired(settings, "pods")) == keys


async def _node_if(settings: Settings, name: str, check: Callable[[Any], bool]) -> Any:
    node = (await desired(settings, "nodes")).get(name)
    return node if node is not None and check(node) else None


async def _has(settings: Settings, plural: str, key: str,
               check: Callable[[Any], bool] = lambda _o: True) -> Any:
    found = (await desired(settings, plural)).get(key)
    return found if found is not None and check(found) else None


async def _gone(settings: Settings, plural: str, key: str) -> bool:
    return key not in await desired(settings, plural)


async def _gone_after(settings: Settings, plural: str, key: str) -> bool:
    """`key` was written to the desired topic, then deleted (not merely not there yet)."""
    records = await read_all(settings, Topics(settings.topic_prefix).desired(plural))
    values = [r.value for r in records if r.key == key.encode()]
    return bool(values) and values[-1] is None


async def _observed_phase(settings: Settings, name: str, phase: str) -> bool:
    found = (await desired_observed(settings, "namespaces")).get(name)
    return found is not None and found["status"].get("phase") == phase


async def _observed_gone(settings: Settings, name: str) -> bool:
    return name not in await desired_observed(settings, "namespaces")
