"""Storage on the real broker (the API and the controller manager, no kubelet: a claim's
node is set by hand, as the scheduler would): static volumes bind, `local-path` claims get
one provisioned volume each once they name a node, across a SIGKILL of the controller
manager mid-binding (no volume taken twice, no claim provisioned twice); a claim a pod
uses stays until the pod is gone (pvc-protection); reclaim: Retain keeps a volume
Released, Delete deletes a provisioned one and fails a static one; a claim without a class
gets the default `local-path`; a bound claim of it grows (volume, then status.capacity).
A claim admitted while no class is the default gets it later (retroactive assignment)."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest

from schemas.storage import DEFAULT_CLASS_ANNOTATION, default_local_class
from services.runtime.buskeys import bus_trust
from services.runtime.config import Settings
from services.runtime.informer import Informer
from services.runtime.topics import Topics
from tests.integration.kafkit import ServiceProcess, cli, desired, publish, read_all, wait_for

pytestmark = [pytest.mark.kafka]
NODE = "node-x"
STATIC, LOCAL = 6, 4
DEADLINE = 240.0  # generous: the API alone can take a minute to load its partitions on a loaded machine


def claim(name: str, *, cls: str | None, node: str | None = None, size: str = "1Gi") -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": "default"}
    if node:
        meta["annotations"] = {"volume.kubernetes.io/selected-node": node}
    spec: dict[str, Any] = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": size}}}
    if cls is not None:
        spec["storageClassName"] = cls
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": meta, "spec": spec}


def volume(name: str, size: str, policy: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": name},
            "spec": {"capacity": {"storage": size}, "accessModes": ["ReadWriteOnce"],
                     "persistentVolumeReclaimPolicy": policy, "hostPath": {"path": f"/tmp/{name}"}}}


def pod(name: str, claim_name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"},
            "spec": {"containers": [{"name": "main", "image": "busybox:1.36", "volumeMounts": [
                {"name": "data", "mountPath": "/data"}]}],
                     "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": claim_name}}]}}


async def send(settings: Settings, *objects: dict[str, Any], op: str | None = None) -> None:
    await publish(settings, [json.dumps(o).encode() for o in objects], op=op)


class State:
    """The claims and volumes as the API stored them and the controller observed them."""

    def __init__(self, settings: Settings) -> None:
        topics = Topics(settings.topic_prefix)
        self.pvc, self.opvc = topics.desired("persistentvolumeclaims"), topics.observed("persistentvolumeclaims")
        self.pv, self.opv = topics.desired("persistentvolumes"), topics.observed("persistentvolumes")
        self.view: Informer[Any] = Informer(settings, [self.pvc, self.opvc, self.pv, self.opv], name="test-volumes",
                                            trust=bus_trust(settings))

    def claims(self) -> dict[str, Any]:
        return dict(self.view.items(self.pvc))

    def volumes(self) -> dict[str, Any]:
        return dict(self.view.items(self.pv))

    def claim_phase(self, name: str) -> str | None:
        return ((self.view.get(self.opvc, f"default/{name}") or {}).get("status") or {}).get("phase")

    def volume_phase(self, name: str) -> str | None:
        return ((self.view.get(self.opv, name) or {}).get("status") or {}).get("phase")

    def bound(self, names: list[str]) -> bool:
        return all(self.claim_phase(n) == "Bound" for n in names)


def check_bindings(state: State) -> None:
    """Every volume a claim names names that claim back, and no volume serves two claims."""
    volumes = state.volumes()
    named = Counter(c["spec"].get("volumeName") for c in state.claims().values() if c["spec"].get("volumeName"))
    assert all(count == 1 for count in named.values()), named
    for key, c in state.claims().items():
        if c["spec"].get("volumeName"):
            assert volumes[c["spec"]["volumeName"]]["spec"]["claimRef"]["uid"] == c["metadata"]["uid"], key


async def test_binding_provisioning_protection_and_reclaim(
        settings: Settings, services: Any) -> None:
    services("api")
    controllers: ServiceProcess = services("controllers")
    state = State(settings)
    async with state.view:
        await state.view.wait_synced()
        policies = ["Retain", "Delete"] * (STATIC // 2)
        await send(settings, *(volume(f"static-{i}", f"{1 + i}Gi", policies[i]) for i in range(STATIC)))
        await send(settings, *(claim(f"s{i}", cls="") for i in range(STATIC)))
        await send(settings, *(claim(f"l{i}", cls="local-path", node=NODE) for i in range(LOCAL)))

        async def some_binding() -> bool:
            return any(v["spec"].get("claimRef") for v in state.volumes().values())
        await wait_for("a first binding", some_binding, timeout=DEADLINE, interval=0.05)
        assert controllers.kill() != 0  # SIGKILL mid-binding
        services("controllers")

        static = [f"s{i}" for i in range(STATIC)]
        local = [f"l{i}" for i in range(LOCAL)]

        async def all_bound() -> bool:
            check_bindings(state)
            return state.bound(static + local)
        await wait_for("every claim Bound", all_bound, timeout=DEADLINE)
        claims, volumes = state.claims(), state.volumes()
        assert {claims[f"default/{n}"]["spec"]["volumeName"] for n in static} == {f"static-{i}" for i in range(STATIC)}
        provisioned = {n for n in volumes if n.startswith("pvc-")}
        assert provisioned == {f"pvc-{claims[f'default/{n}']['metadata']['uid']}" for n in local}
        made = volumes[claims["default/l0"]["spec"]["volumeName"]]
        assert made["spec"]["local"]["path"].endswith(f"/{NODE}/volumes/{made['metadata']['name']}")
        assert made["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"][0]["matchExpressions"][0]["values"] == [NODE]
        assert made["spec"]["storageClassName"] == "local-path" and made["metadata"]["finalizers"] == ["kubernetes.io/pv-protection"]
        assert all(state.volume_phase(n) == "Bound" for n in volumes)
        shown = cli(settings, "get", "pvc", "l0")
        assert shown.stdout.split("\n")[0].split() == ["NAME", "STATUS", "VOLUME", "CAPACITY", "ACCESS", "MODES",
                                                       "STORAGECLASS", "VOLUMEATTRIBUTESCLASS", "AGE"], shown.stdout
        assert shown.stdout.split("\n")[1].split()[:6] == ["l0", "Bound", made["metadata"]["name"], "1Gi", "RWO", "local-path"]
        classes = cli(settings, "get", "sc")
        assert classes.stdout.split("\n")[1].split()[:6] == ["local-path", "(default)", "kafkube.io/local", "Delete",
                                                             "WaitForFirstConsumer", "true"], classes.stdout

        # expansion: local-path allows it; the volume grows, then the claim's status.capacity
        await send(settings, claim("l0", cls="local-path", node=NODE, size="3Gi"))

        async def grown() -> bool:
            status = (state.view.get(state.opvc, "default/l0") or {}).get("status") or {}
            return (status.get("capacity") or {}).get("storage") == "3Gi"
        await wait_for("l0 grown to 3Gi", grown, timeout=DEADLINE)
        assert state.volumes()[made["metadata"]["name"]]["spec"]["capacity"] == {"storage": "3Gi"}

        # a claim without a class gets the default one (local-path, WaitForFirstConsumer): it
        # waits for a node, then is provisioned
        await send(settings, claim("later", cls=None))
        await wait_for("later Pending", lambda: _async(state.claim_phase("later") == "Pending"), timeout=DEADLINE)
        assert state.claims()["default/later"]["spec"]["storageClassName"] == "local-path"
        assert not state.claims()["default/later"]["spec"].get("volumeName")
        await send(settings, claim("later", cls=None, node=NODE))
        await wait_for("later Bound", lambda: _async(state.bound(["later"])), timeout=DEADLINE)

        # protection: s0 is used by a pod (never scheduled: no scheduler here), the others by none
        await send(settings, pod("user", "s0"))
        await send(settings, *(claim(n, cls="") for n in static), op="delete")
        await wait_for("s1..s5 gone", lambda: _async(not any(f"default/{n}" in state.claims() for n in static[1:])),
                       timeout=DEADLINE)
        assert state.claims()["default/s0"]["metadata"].get("deletionTimestamp")
        assert state.claims()["default/s0"]["metadata"]["finalizers"] == ["kubernetes.io/pvc-protection"]
        await send(settings, pod("user", "s0"), op="delete")
        await wait_for("s0 gone once its pod is", lambda: _async("default/s0" not in state.claims()), timeout=DEADLINE)

        # reclaim: the static volumes of the deleted claims: Retain → Released and kept, Delete →
        # Failed (Kafkube deletes only what it provisioned); a provisioned one (Delete) deleted
        expected = {f"static-{i}": "Released" if policies[i] == "Retain" else "Failed" for i in range(STATIC)}
        await wait_for("static volumes Released or Failed",
                       lambda: _async(all(state.volume_phase(n) == p for n, p in expected.items())), timeout=DEADLINE)
        gone = state.claims()["default/l1"]["spec"]["volumeName"]
        await send(settings, claim("l1", cls="local-path"), op="delete")
        await wait_for("the provisioned volume deleted", lambda: _async(gone not in state.volumes()), timeout=DEADLINE)
        assert set(expected) <= set(state.volumes())
        check_bindings(state)

        events = {(e["reason"], e["involvedObject"].get("name"), e.get("type"))
                  for r in await read_all(settings, Topics(settings.topic_prefix).events)
                  if r.value and (e := json.loads(r.value)).get("involvedObject")}
        # `later` was provisioned after the SIGKILL; an event of the killed controller may be
        # lost with it (events are best effort, as upstream's), so l0..l3 are not asked for one
        assert ("WaitForFirstConsumer", "later", "Normal") in events and ("ProvisioningSucceeded", "later", "Normal") in events
        assert ("VolumeFailedDelete", "static-1", "Warning") in events


async def test_a_claim_admitted_without_a_default_class_gets_it_retroactively(settings: Settings, services: Any) -> None:
    """With `local-path` un-defaulted, a claim without a class is stored classless and stays
    Pending (FailedBinding); once the class is the default again, the volume controller
    gives it the class (a "" claim keeps none) and, its node named, it is provisioned."""
    services("api")
    services("controllers")
    state = State(settings)
    undefaulted = default_local_class()
    undefaulted["metadata"]["annotations"] = {DEFAULT_CLASS_ANNOTATION: "false"}

    async def ensured() -> bool:  # the API ensures the default class at start
        return "local-path" in await desired(settings, "storageclasses")
    async with state.view:
        await state.view.wait_synced()
        await wait_for("the default StorageClass", ensured, timeout=DEADLINE)
        await send(settings, undefaulted)
        attempts = iter(range(1000))

        async def admitted_classless() -> str | None:
            """A new claim, stored; its name once the API's view of the classes no longer
            holds a default (until then a claim gets local-path, and waits for a node)."""
            name = f"late-{next(attempts)}"
            await send(settings, claim(name, cls=None))
            await wait_for(f"{name} stored", lambda: _async(f"default/{name}" in state.claims()), timeout=DEADLINE)
            return name if "storageClassName" not in state.claims()[f"default/{name}"]["spec"] else None
        late = await wait_for("a claim admitted without a class", admitted_classless, timeout=DEADLINE)
        await send(settings, claim("none", cls=""))
        await wait_for(f"{late} and none Pending",
                       lambda: _async(state.claim_phase(late) == state.claim_phase("none") == "Pending"), timeout=DEADLINE)
        assert "storageClassName" not in state.claims()[f"default/{late}"]["spec"]  # no default: stays classless

        await send(settings, default_local_class())  # the default again
        await wait_for(f"{late} given the default class", lambda: _async(
            state.claims()[f"default/{late}"]["spec"].get("storageClassName") == "local-path"), timeout=DEADLINE)
        await send(settings, claim(late, cls=None, node=NODE))  # as the scheduler would
        await wait_for(f"{late} Bound", lambda: _async(state.bound([late])), timeout=DEADLINE)
        given = state.claims()[f"default/{late}"]
        assert given["spec"]["volumeName"] == f"pvc-{given['metadata']['uid']}"
        assert state.volumes()[given["spec"]["volumeName"]]["spec"]["storageClassName"] == "local-path"
        none = state.claims()["default/none"]
        assert none["spec"]["storageClassName"] == "" and not none["spec"].get("volumeName")
        assert state.claim_phase("none") == "Pending"
        events = {(e["reason"], e["involvedObject"].get("name"))
                  for r in await read_all(settings, Topics(settings.topic_prefix).events)
                  if r.value and (e := json.loads(r.value)).get("involvedObject")}
        assert {("FailedBinding", late), ("FailedBinding", "none"), ("ProvisioningSucceeded", late)} <= events


async def _async(value: bool) -> bool:
    return value
