"""DaemonSets on the real broker with hollow kubelets: three nodes, one tainted (no pod
there), a node added later gets its pod, a removed one loses it; a rolling update to a
new template through a SIGKILL of the controller manager mid-rollout ends with every node
on the new revision; `kafkube rollout status|history|undo daemonset/NAME`. The whole log of
`desired.pods` then proves no node ever had two live (not deleting) daemon pods at once.
And kubectl through `serve apiserver` (a test of its own, so the DaemonSet test does not
wait on the HTTP front door): examples/daemonset.yaml, its Table, rollout status and history."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from services.runtime.config import Settings
from services.runtime.informer import Informer
from services.runtime.topics import Topics
from tests.integration.kafkit import ServiceProcess, cli, read_all, wait_for
from tests.integration.test_apiserver_kubectl import Kubectl, apiserver  # noqa: F401 - the fixture

# Generous deadlines: they catch a wedged controller, not a slow machine (on a 2-core
# machine shared by several test runs, the control plane alone can take minutes to start).
pytestmark = [pytest.mark.kafka, pytest.mark.timeout(900)]


def manifest(image: str) -> str:
    return json.dumps({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent"}, "spec": {
        "selector": {"matchLabels": {"app": "agent"}},
        "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}},
        "minReadySeconds": 2,  # a rollout step takes that long: the test can kill mid-rollout
        "template": {"metadata": {"labels": {"app": "agent"}},
                     "spec": {"containers": [{"name": "agent", "image": image}]}}}})


class Cluster:
    """A live view of pods and DaemonSets (desired and observed), read in-process: the
    waits poll it every 0.1 s without a CLI process per look."""

    def __init__(self, settings: Settings) -> None:
        self.topics = Topics(settings.topic_prefix)
        self.view: Informer[Any] = Informer(settings, [self.topics.desired("pods"), self.topics.observed("pods"),
                                                       self.topics.desired("daemonsets"),
                                                       self.topics.observed("daemonsets")])

    def pods(self) -> list[dict[str, Any]]:
        """The DaemonSet's pods, each with its observed phase."""
        out = []
        for key, pod in self.view.items(self.topics.desired("pods")).items():
            if (pod["metadata"].get("labels") or {}).get("app") == "agent":
                observed = self.view.get(self.topics.observed("pods"), key) or {}
                same = (observed.get("metadata") or {}).get("uid") == pod["metadata"]["uid"]
                out.append({**pod, "phase": (observed.get("status") or {}).get("phase") if same else None})
        return out

    def status(self) -> dict[str, Any]:
        return dict((self.view.get(self.topics.observed("daemonsets"), "default/agent") or {}).get("status") or {})

    def on_nodes(self, image: str) -> list[str]:
        """The nodes of the live pods, when every one runs `image`."""
        pods = [p for p in self.pods() if not p["metadata"].get("deletionTimestamp")]
        running = [p for p in pods if p["phase"] == "Running" and p["spec"]["containers"][0]["image"] == image]
        return sorted(p["spec"].get("nodeName", "") for p in running) if len(running) == len(pods) else []

    async def placed(self, image: str, nodes: list[str]) -> bool:
        return self.on_nodes(image) == nodes and self.status().get("numberAvailable") == len(nodes)


async def live_pods_per_node(settings: Settings) -> dict[str, list[str]]:
    """Every daemon pod ever in desired.pods, as intervals [created, deleting) per node
    from the API's record times (a tombstone or a deletionTimestamp ends one)."""
    spans: dict[str, list[tuple[int, int, str]]] = {}
    current: dict[str, tuple[str, int, str]] = {}  # key -> (uid, created ms, node)
    ended: set[str] = set()
    records = await read_all(settings, Topics(settings.topic_prefix).desired("pods"))
    for record in sorted(records, key=lambda r: r.timestamp):
        key = record.key.decode() if record.key else ""
        pod = orjson.loads(record.value) if record.value else None
        if pod is not None and (pod["metadata"].get("labels") or {}).get("app") != "agent":
            continue
        if pod is not None and (key not in current or current[key][0] != pod["metadata"]["uid"]):
            terms = pod["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
            node = terms["nodeSelectorTerms"][0]["matchFields"][0]["values"][0]
            current[key] = (pod["metadata"]["uid"], record.timestamp, node)
            ended.discard(key)
        if key in current and key not in ended and (pod is None or pod["metadata"].get("deletionTimestamp")):
            uid, created, node = current[key]
            spans.setdefault(node, []).append((created, record.timestamp, key))
            ended.add(key)
    for key, (uid, created, node) in current.items():
        if key not in ended:
            spans.setdefault(node, []).append((created, 2**62, key))
    overlaps: dict[str, list[str]] = {}
    for node, intervals in spans.items():
        intervals.sort()
        for (_, end, first), (start, _, second) in zip(intervals, intervals[1:]):
            if start < end:
                overlaps.setdefault(node, []).extend([first, second])
    return overlaps


async def test_daemonset_on_hollow_nodes(settings: Settings, services: Callable[..., ServiceProcess],
                                         tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKUBE_KUBELET_ROOT", str(tmp_path / "kubelet"))
    monkeypatch.setenv("KAFKUBE_HEARTBEAT_SECONDS", "2")
    prefix = f"d{secrets.token_hex(2)}-"
    services("api")
    services("scheduler")
    controllers = services("controllers")
    services("kubelet", "--nodes", "2", "--node-prefix", prefix, "--runtime", "hollow")
    monkeypatch.setenv("KAFKUBE_NODE_TAINTS", "dedicated=db:NoSchedule")
    services("kubelet", "--node", f"{prefix}tainted", "--runtime", "hollow")
    monkeypatch.delenv("KAFKUBE_NODE_TAINTS")
    cluster = Cluster(settings)
    async with cluster.view:
        await cluster.view.wait_synced()
        path = tmp_path / "ds.json"
        path.write_text(manifest("hollow/agent:1"))
        applied = cli(settings, "apply", "-f", str(path), "--timeout", "150", timeout=180)  # the API may be starting
        assert applied.stdout.strip() == "daemonset.apps/agent created", applied.stdout + applied.stderr

        two = [f"{prefix}0000", f"{prefix}0001"]
        await wait_for("one pod on each untainted node", lambda: cluster.placed("hollow/agent:1", two), timeout=180)
        assert cluster.status()["desiredNumberScheduled"] == 2  # the tainted node takes none

        added = services("kubelet", "--node", f"{prefix}added", "--runtime", "hollow")
        three = sorted([*two, f"{prefix}added"])
        await wait_for("a pod on the added node", lambda: cluster.placed("hollow/agent:1", three), timeout=120)

        path.write_text(manifest("hollow/agent:2"))
        assert cli(settings, "apply", "-f", str(path)).returncode == 0

        async def rolling() -> bool:
            return 1 <= int(cluster.status().get("updatedNumberScheduled") or 0) < 3
        await wait_for("the rollout under way", rolling, timeout=120, interval=0.1)
        assert controllers.kill() != 0  # SIGKILL mid-rollout
        services("controllers")
        await wait_for("every node on the new template", lambda: cluster.placed("hollow/agent:2", three), timeout=150)
        done = cli(settings, "rollout", "status", "daemonset/agent", "--timeout", "60")
        assert done.stdout.strip().endswith('daemon set "agent" successfully rolled out'), done.stdout + done.stderr
        history = cli(settings, "rollout", "history", "ds/agent").stdout.split()
        assert history[:3] == ["daemonset.apps/agent", "REVISION", "CHANGE-CAUSE"] and history[3::2] == ["1", "2"]

        assert added.kill() != 0
        removed = cli(settings, "delete", "node", f"{prefix}added")
        assert removed.returncode == 0, removed.stderr

        async def gone_with_its_node() -> bool:
            on_added = [p for p in cluster.pods() if p["spec"].get("nodeName") == f"{prefix}added"
                        and not p["metadata"].get("deletionTimestamp")]
            return not on_added and cluster.status().get("desiredNumberScheduled") == 2
        await wait_for("the removed node's pod deleted", gone_with_its_node, timeout=120)

        undo = cli(settings, "rollout", "undo", "daemonset/agent")
        assert undo.stdout.strip() == "daemonset.apps/agent rolled back", undo.stdout + undo.stderr
        await wait_for("back on the first template", lambda: cluster.placed("hollow/agent:1", two), timeout=150)
        assert await live_pods_per_node(settings) == {}  # never two live daemon pods on one node


def test_kubectl_applies_a_daemonset_and_follows_its_rollout(apiserver: tuple[Kubectl, int],
                                                             services: Callable[..., ServiceProcess]) -> None:
    """Through `serve apiserver`: the example applied, the server's Table (kubectl's ds
    columns), `kubectl rollout status ds/x` on the controller's status (no node: 0 of 0), and
    `kubectl rollout history` over the ControllerRevision the controller wrote."""
    kubectl, _ = apiserver
    services("controllers")
    kubectl("apply", "-f", str(Path(__file__).parents[2] / "examples" / "daemonset.yaml"))
    table = kubectl("get", "ds").stdout.splitlines()
    assert table[0].split() == ["NAME", "DESIRED", "CURRENT", "READY", "UP-TO-DATE", "AVAILABLE", "NODE",
                                "SELECTOR", "AGE"]
    assert table[1].split()[0] == "log-shipper"
    deadline = time.monotonic() + 180  # the controller manager may still be starting
    while (status := kubectl("rollout", "status", "ds/log-shipper", "--timeout=40s", check=False)).returncode:
        assert time.monotonic() < deadline, status.stdout + status.stderr
    assert status.stdout.strip().endswith('daemon set "log-shipper" successfully rolled out'), status.stdout
    deadline = time.monotonic() + 120  # the revision goes through the API; the status did not
    while (history := kubectl("rollout", "history", "ds/log-shipper").stdout.split())[1] != "REVISION":
        assert time.monotonic() < deadline, history
        time.sleep(0.5)
    assert history[:4] == ["daemonset.apps/log-shipper", "REVISION", "CHANGE-CAUSE", "1"], history

