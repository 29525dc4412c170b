"""StatefulSets on the real broker with a hollow kubelet fleet: a set scales 3 -> 5 with
a SIGKILL of the controller manager mid-scale (every ordinal once, created in order,
no pod replaced), then 5 -> 2 by `kubectl scale sts` through `serve apiserver`'s scale subresource (highest
ordinals first), then rolls a new template with
partition 1 (only web-1 moves; `rollout status` says so in kubectl's words) and, with
partition 0, completes (currentRevision = updateRevision; `rollout history` lists two
ControllerRevisions), and `rollout undo` goes back to the first revision (renumbered 3); a Parallel set with a volumeClaimTemplate gets one claim per
ordinal, referenced by its pod, that outlives its pods (Retain) after a scale to 0; kubectl
shows the server's Table (NAME READY AGE), the Scale and `get all`.
The test reads the state topics through one informer of its own (no CLI polling)."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from services.runtime.config import Settings
from services.runtime.informer import Informer
from services.runtime.topics import Topics
from tests.integration.kafkit import FAST_KUBELET, ServiceProcess, cli, publish, wait_for
from tests.integration.test_apiserver_kubectl import serve_apiserver

pytestmark = [pytest.mark.kafka]
REVISION = "controller-revision-hash"


def statefulset(name: str, image: str, replicas: int, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": name}, "spec": {
        "serviceName": name, "replicas": replicas, "selector": {"matchLabels": {"app": name}},
        "template": {"metadata": {"labels": {"app": name}},
                     "spec": {"containers": [{"name": "main", "image": image}]}}, **spec}}


class View:
    """The pods, claims and StatefulSet statuses, as the state topics hold them."""

    def __init__(self, settings: Settings) -> None:
        topics = Topics(settings.topic_prefix)
        self.pods_t, self.claims_t = topics.desired("pods"), topics.desired("persistentvolumeclaims")
        self.status_t, self.observed_pods_t = topics.observed("statefulsets"), topics.observed("pods")
        self.informer: Informer[Any] = Informer(settings, [self.pods_t, self.claims_t, self.status_t,
                                                           self.observed_pods_t])

    def pods(self, app: str) -> dict[str, dict[str, Any]]:
        return {p["metadata"]["name"]: p for p in self.informer.items(self.pods_t).values()
                if (p["metadata"].get("labels") or {}).get("app") == app}

    def status(self, name: str) -> dict[str, Any]:
        return dict((self.informer.get(self.status_t, f"default/{name}") or {}).get("status") or {})

    def _pod_status(self, name: str) -> dict[str, Any]:
        """The kubelet's status of the pod now named `name` (not of an earlier one)."""
        pod = self.informer.get(self.pods_t, f"default/{name}") or {}
        observed = self.informer.get(self.observed_pods_t, f"default/{name}") or {}
        same = (observed.get("metadata") or {}).get("uid") == (pod.get("metadata") or {}).get("uid")
        return dict(observed.get("status") or {}) if same else {}

    def pod_ip(self, name: str) -> str | None:
        return self._pod_status(name).get("podIP")

    def ready(self, name: str) -> bool:
        return any(c.get("type") == "Ready" and c.get("status") == "True"
                   for c in self._pod_status(name).get("conditions") or [])

    def claims(self) -> set[str]:
        return {key.split("/", 1)[1] for key in self.informer.items(self.claims_t)}


def uids(pods: dict[str, dict[str, Any]]) -> dict[str, str]:
    return {name: pod["metadata"]["uid"] for name, pod in pods.items()}


async def test_statefulsets_on_a_hollow_fleet(settings: Settings, services: Callable[..., ServiceProcess],
                                              tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKUBE_KUBELET_ROOT", str(tmp_path / "kubelet"))
    for key, value in FAST_KUBELET.items():
        monkeypatch.setenv(key, value)
    services("api")
    services("scheduler")
    controllers = services("controllers")
    services("kubelet", "--nodes", "3", "--node-prefix", f"s{secrets.token_hex(2)}-", "--runtime", "hollow")
    kubectl, _, _ = serve_apiserver(settings, services, tmp_path, monkeypatch)
    view = View(settings)

    async def apply(doc: dict[str, Any]) -> None:
        """Publish to kafkube.manifests (what `apply` does, without a CLI process)."""
        await publish(settings, [json.dumps(doc).encode()], keys=[f"default/{doc['metadata']['name']}"])

    def ready(name: str, count: int) -> Callable[[], Any]:
        async def check() -> dict[str, Any] | None:
            status, pods = view.status(name), view.pods(name)
            ok = status.get("readyReplicas") == count and status.get("replicas") == count
            return pods if ok and sorted(pods) == sorted(f"{name}-{i}" for i in range(count)) else None
        return check

    async with view.informer:
        await view.informer.wait_synced()
        await apply(statefulset("web", "hollow/serve:1", 3))
        first = await wait_for("web 3/3", ready("web", 3), timeout=90, interval=0.1)
        assert first["web-1"]["spec"]["hostname"] == "web-1" and first["web-1"]["spec"]["subdomain"] == "web"
        assert first["web-1"]["metadata"]["labels"]["apps.kubernetes.io/pod-index"] == "1"

        assert cli(settings, "scale", "statefulset/web", "--replicas", "5").returncode == 0

        async def web_3_created() -> bool:
            return "web-3" in view.pods("web")
        await wait_for("web-3 created", web_3_created, timeout=60, interval=0.05)
        assert controllers.kill() != 0  # SIGKILL mid-scale
        services("controllers")
        scaled = await wait_for("web 5/5", ready("web", 5), timeout=90, interval=0.1)
        assert {n: u for n, u in uids(scaled).items() if n in first} == uids(first)  # nothing replaced
        created = [scaled[f"web-{i}"]["metadata"]["creationTimestamp"] for i in range(5)]
        assert created == sorted(created)  # OrderedReady: in ordinal order

        assert kubectl("scale", "sts", "web", "--replicas=2").stdout.strip() == "statefulset.apps/web scaled"
        down = await wait_for("web 2/2", ready("web", 2), timeout=90, interval=0.1)
        assert uids(down) == {n: u for n, u in uids(first).items() if n in down}

        old = view.status("web")["updateRevision"]
        await apply(statefulset("web", "hollow/serve:2", 2,
                          updateStrategy={"type": "RollingUpdate", "rollingUpdate": {"partition": 1}}))

        async def partitioned() -> dict[str, Any] | None:
            status, pods = view.status("web"), view.pods("web")
            revisions = {n: p["metadata"]["labels"][REVISION] for n, p in pods.items()}
            done = status.get("updatedReplicas") == 1 and status.get("readyReplicas") == 2
            moved = revisions.get("web-0") == old and revisions.get("web-1") not in (None, old)
            return status if done and moved else None
        status = await wait_for("web-1 rolled, web-0 kept", partitioned, timeout=90, interval=0.1)
        assert status["currentRevision"] == old and status["updateRevision"] != old
        rolled = cli(settings, "rollout", "status", "statefulset/web", "--timeout", "30")
        assert "partitioned roll out complete: 1 new pods have been updated..." in rolled.stdout, rolled.stdout

        await apply(statefulset("web", "hollow/serve:2", 2,
                          updateStrategy={"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}))

        async def complete() -> dict[str, Any] | None:
            status = view.status("web")
            return status if status.get("currentRevision") == status.get("updateRevision") != old and \
                status.get("currentReplicas") == 2 and status.get("readyReplicas") == 2 else None
        await wait_for("the roll complete", complete, timeout=90, interval=0.1)
        history = cli(settings, "rollout", "history", "statefulset/web")
        assert history.stdout.split()[:7] == ["statefulset.apps/web", "REVISION", "CHANGE-CAUSE", "1", "<none>", "2",
                                              "<none>"], history.stdout
        undone = cli(settings, "rollout", "undo", "statefulset/web")
        assert undone.stdout.strip() == "statefulset.apps/web rolled back", undone.stdout + undone.stderr

        async def back_to_old() -> dict[str, Any] | None:
            status, pods = view.status("web"), view.pods("web")
            at_old = all(p["metadata"]["labels"][REVISION] == old for p in pods.values())
            return status if status.get("currentRevision") == status.get("updateRevision") == old and at_old and \
                status.get("readyReplicas") == 2 else None
        await wait_for("the rollback to the first revision", back_to_old, timeout=90, interval=0.1)
        history = cli(settings, "rollout", "history", "statefulset/web")
        assert history.stdout.split()[3::2] == ["2", "3"], history.stdout  # the first revision renumbered, not copied

        claim = {"metadata": {"name": "data"},
                 "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Mi"}}}}
        await apply(statefulset("db", "hollow/serve:1", 2, podManagementPolicy="Parallel", volumeClaimTemplates=[claim]))

        async def claimed() -> dict[str, Any] | None:
            pods = view.pods("db")
            return pods if {"data-db-0", "data-db-1"} <= view.claims() and len(pods) == 2 else None
        pods = await wait_for("the claims and pods of db", claimed, timeout=90, interval=0.1)
        assert pods["db-1"]["spec"]["volumes"][0] == {"name": "data",
                                                      "persistentVolumeClaim": {"claimName": "data-db-1"}}
        await apply(statefulset("db", "hollow/serve:1", 0, podManagementPolicy="Parallel",
                                volumeClaimTemplates=[claim]))

        async def no_db_pods() -> bool:
            return not view.pods("db")
        await wait_for("db scaled to 0", no_db_pods, timeout=90, interval=0.1)
        assert {"data-db-0", "data-db-1"} <= view.claims()  # Retain: the claims outlive their pods

        table = kubectl("get", "sts").stdout.splitlines()  # the server's Table
        assert [row.split()[:2] for row in table] == [["NAME", "READY"], ["db", "0/0"], ["web", "2/2"]], table
        assert table[0].split() == ["NAME", "READY", "AGE"]
        scale = json.loads(kubectl("get", "--raw", "/apis/apps/v1/namespaces/default/statefulsets/web/scale").stdout)
        assert scale["kind"] == "Scale" and scale["spec"] == {"replicas": 2}, scale
        assert "statefulset.apps/web" in kubectl("get", "all").stdout
