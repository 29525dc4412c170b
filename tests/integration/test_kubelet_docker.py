"""End to end on the real Docker Engine: a kubelet process (`--runtime docker`) with the
API, real containers from kafkube/busybox, and the outcomes read back from Kafka
(observed.pods, kafkube.events, kafkube.logs) and from `docker ps`. Every test uses
its own node name and removes that node's containers at the end."""

from __future__ import annotations

import calendar
import secrets
import subprocess
import textwrap
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import orjson
import pytest

from services.kubelet.runtime.base import LABEL_NODE
from services.kubelet.tmpfs import MemoryMedium
from services.runtime.config import Settings
from services.runtime.topics import Topics
from tests.integration.kafkit import ServiceProcess, answers, cli, desired, read_all
from tests.integration.test_kubelet_hollow import eventually, observed

pytestmark = [pytest.mark.kafka, pytest.mark.docker]
IMAGE = "kafkube/busybox:1.0"


@dataclass
class Node:
    name: str
    start: Callable[[], ServiceProcess]
    process: ServiceProcess

    def containers(self, *filters: str) -> list[str]:
        args = ["docker", "ps", "-q", "--no-trunc", "--filter", f"label={LABEL_NODE}={self.name}"]
        for f in filters:
            args += ["--filter", f]
        return subprocess.run(args, capture_output=True, text=True, check=True).stdout.split()


@pytest.fixture
def node(docker_ready: None, settings: Settings, services: Callable[..., ServiceProcess],
         tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Node]:
    """The API and a Docker kubelet for a fresh node (fast back-off, relist and resync)."""
    name = f"e2e-{secrets.token_hex(3)}"
    for key, value in {"KAFKUBE_KUBELET_ROOT": str(tmp_path / "kubelet"), "KAFKUBE_HEARTBEAT_SECONDS": "2",
                       "KAFKUBE_BACKOFF_INITIAL_SECONDS": "1", "KAFKUBE_RELIST_SECONDS": "0.5",
                       "KAFKUBE_RESYNC_SECONDS": "1"}.items():
        monkeypatch.setenv(key, value)
    services("api")
    def start() -> ServiceProcess:
        return services("kubelet", "--node", name, "--runtime", "docker")

    handle = Node(name, start, start())
    try:
        yield handle
    finally:
        if handle.process.alive():
            handle.process.kill()
        ids = subprocess.run(["docker", "ps", "-aq", "--filter", f"label={LABEL_NODE}={name}"],
                             capture_output=True, text=True).stdout.split()
        if ids:
            subprocess.run(["docker", "rm", "-f", "-v", *ids], capture_output=True)
        MemoryMedium().unmount_below(tmp_path)  # secret tmpfs mounts a killed kubelet left


def apply(settings: Settings, tmp_path: Path, text: str) -> None:
    path = tmp_path / f"m-{secrets.token_hex(3)}.yaml"
    path.write_text(textwrap.dedent(text))
    result = cli(settings, "apply", "-f", str(path))
    assert result.returncode == 0, result.stdout + result.stderr


async def status_of(settings: Settings, name: str) -> dict[str, Any] | None:
    record = (await observed(settings, "pods")).get(f"default/{name}")
    return record["status"] if record else None


def container(status: dict[str, Any], name: str) -> dict[str, Any]:
    return next(c for c in status["containerStatuses"] if c["name"] == name)


async def log_lines(settings: Settings, pod: str) -> list[str]:
    records = await read_all(settings, Topics(settings.topic_prefix).logs)
    return [orjson.loads(r.value)["line"] for r in records if r.key == f"default/{pod}".encode()]


async def pod_events(settings: Settings, pod: str) -> list[dict[str, Any]]:
    return [e for e in await answers(settings)
            if e.get("involvedObject", {}).get("name") == pod and e["source"]["component"] == "kubelet"]


async def test_pod_shares_localhost_and_gets_configmap_and_secret(settings: Settings, node: Node,
                                                                  tmp_path: Path) -> None:
    apply(settings, tmp_path, f"""\
        apiVersion: v1
        kind: ConfigMap
        metadata: {{name: app-config}}
        data: {{greeting: hello-config, app.conf: mode=fast}}
        ---
        apiVersion: v1
        kind: Secret
        metadata: {{name: app-secret}}
        data: {{password: czNjcmV0}}
        ---
        apiVersion: v1
        kind: Pod
        metadata: {{name: duo}}
        spec:
          nodeName: {node.name}
          terminationGracePeriodSeconds: 1
          volumes:
          - {{name: cfg, configMap: {{name: app-config}}}}
          - {{name: sec, secret: {{secretName: app-secret, defaultMode: 0400}}}}
          containers:
          - name: server
            image: {IMAGE}
            command: [sh, -c, 'mkdir -p /www && echo served-over-localhost > /www/index.html && exec httpd -f -p 8080 -h /www']
            readinessProbe: {{httpGet: {{path: /index.html, port: 8080}}, periodSeconds: 1}}
          - name: client
            image: {IMAGE}
            env:
            - {{name: GREETING, valueFrom: {{configMapKeyRef: {{name: app-config, key: greeting}}}}}}
            - {{name: PASSWORD, valueFrom: {{secretKeyRef: {{name: app-secret, key: password}}}}}}
            - {{name: POD_NAME, valueFrom: {{fieldRef: {{fieldPath: metadata.name}}}}}}
            command: [sh, -c]
            args: ['echo "env $(GREETING) $PASSWORD $POD_NAME"; echo "file $(cat /etc/cfg/app.conf) $(cat /etc/sec/password)"; until wget -qO- http://127.0.0.1:8080/index.html; do sleep 0.5; done; exec sleep 3600']
            volumeMounts: [{{name: cfg, mountPath: /etc/cfg}}, {{name: sec, mountPath: /etc/sec}}]
        """)

    async def ready() -> Any:
        status = await status_of(settings, "duo")
        conditions = {c["type"]: c["status"] for c in (status or {}).get("conditions", [])}
        return status if conditions.get("Ready") == "True" else None

    status = await eventually(ready, timeout=180, what="pod duo Ready")
    assert status["phase"] == "Running" and status["podIP"]
    assert all(c["containerID"].startswith("docker://") for c in status["containerStatuses"])

    async def logged() -> Any:
        lines = await log_lines(settings, "duo")
        return lines if "served-over-localhost" in lines else None

    lines = await eventually(logged, what="the client's output on kafkube.logs")
    assert "env hello-config s3cret duo" in lines
    assert "file mode=fast s3cret" in lines
    reasons = {e["reason"] for e in await pod_events(settings, "duo")}
    assert {"Pulled", "Created", "Started"} <= reasons

    # the CLI's view of the same pod
    logs = cli(settings, "logs", "duo", "-c", "client")
    assert "env hello-config s3cret duo" in logs.stdout.splitlines(), logs.stderr
    assert cli(settings, "logs", "duo", "-c", "client", "--tail", "1").stdout.splitlines() == [lines[-1]]
    ambiguous = cli(settings, "logs", "duo")
    assert ambiguous.returncode == 1
    assert "a container name must be specified for pod duo, choose one of: [server client]" in ambiguous.stderr
    described = cli(settings, "describe", "pod", "duo").stdout
    for expected in (f"Node:         {node.name}", "Status:       Running", "  server:", "  client:",
                     "Restart Count: 0", "Ready             True", "Started"):
        assert expected in described, described
    wide = cli(settings, "get", "pods", "-o", "wide").stdout.splitlines()
    assert wide[1].split()[:3] == ["duo", "2/2", "Running"] and node.name in wide[1] and status["podIP"] in wide[1]


async def test_liveness_crash_loop_and_oom(settings: Settings, node: Node, tmp_path: Path) -> None:
    apply(settings, tmp_path, f"""\
        apiVersion: v1
        kind: Pod
        metadata: {{name: flaky}}
        spec:
          nodeName: {node.name}
          terminationGracePeriodSeconds: 1
          containers:
          - name: flaky
            image: {IMAGE}
            command: [sh, -c, 'touch /tmp/healthy; sleep 2; rm /tmp/healthy; exec sleep 3600']
            livenessProbe: {{exec: {{command: [cat, /tmp/healthy]}}, periodSeconds: 1, failureThreshold: 1}}
        ---
        apiVersion: v1
        kind: Pod
        metadata: {{name: crash}}
        spec:
          nodeName: {node.name}
          containers:
          - {{name: crash, image: {IMAGE}, command: [sh, -c, 'echo crashing; exit 3']}}
        ---
        apiVersion: v1
        kind: Pod
        metadata: {{name: hog}}
        spec:
          nodeName: {node.name}
          restartPolicy: Never
          containers:
          - name: hog
            image: {IMAGE}
            command: [sh, -c, 'sleep 1; dd if=/dev/zero of=/dev/null bs=64M count=1']  # see kubelet README: OOM at birth
            resources: {{limits: {{memory: 16Mi}}}}
        """)

    async def restarted(name: str, count: int) -> Any:
        status = await status_of(settings, name)
        return status if status and container(status, name)["restartCount"] >= count else None

    async def oom_killed() -> Any:
        status = await _phase(settings, "hog", "Failed")
        state = container(status, "hog")["state"] if status else {}
        return status if state.get("terminated", {}).get("reason") == "OOMKilled" else None

    try:
        oom = await eventually(oom_killed, timeout=120, what="hog Failed, OOMKilled")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; hog's status: {await status_of(settings, 'hog')}") from None
    assert container(oom, "hog")["state"]["terminated"]["exitCode"] == 137

    crash_seen: set[str] = set()

    async def crash_loop() -> Any:
        status = await status_of(settings, "crash")
        if status:
            crash_seen.add(container(status, "crash")["state"].get("waiting", {}).get("reason", ""))
        return status if status and container(status, "crash")["restartCount"] >= 3 else None

    crash = await eventually(crash_loop, timeout=180, what="crash restarted 3 times")
    assert "CrashLoopBackOff" in crash_seen
    assert container(crash, "crash")["lastState"]["terminated"]["exitCode"] == 3
    events = await pod_events(settings, "crash")
    starts = sorted(e["eventTime"] for e in events if e["reason"] == "Started")
    gaps = [_seconds(b) - _seconds(a) for a, b in zip(starts, starts[1:])]
    assert gaps[-1] > gaps[0] + 1, gaps  # 1 s, 2 s, 4 s ...
    assert any(e["reason"] == "BackOff" and e["message"].startswith("Back-off restarting failed container crash")
               for e in events)

    await eventually(lambda: restarted("flaky", 1), timeout=120, what="flaky restarted")
    events = await pod_events(settings, "flaky")
    assert any(e["reason"] == "Unhealthy" and e["message"].startswith("Liveness probe failed:") for e in events)
    assert any(e["reason"] == "Killing" and e["message"] ==
               "Container flaky failed liveness probe, will be restarted" for e in events)


async def _phase(settings: Settings, name: str, phase: str) -> Any:
    status = await status_of(settings, name)
    return status if status and status["phase"] == phase else None


async def ticks_shipped(settings: Settings, at_least: int) -> int | None:
    """The last of polite's ticks on kafkube.logs, once there are `at_least`."""
    ticks = [line for line in await log_lines(settings, "polite") if line.startswith("tick ")]
    return len(ticks) if len(ticks) >= at_least else None


async def adopting(process: ServiceProcess) -> bool:
    return '"kubelet.adopting"' in process.logs()


async def beat_since(settings: Settings, node: str, since: float) -> bool:
    """The node's latest heartbeat was written at `since` (epoch seconds) or later."""
    record = (await observed(settings, "nodes")).get(node)
    ready = [c for c in (record or {}).get("status", {}).get("conditions", []) if c["type"] == "Ready"]
    return bool(ready) and calendar.timegm(time.strptime(ready[0]["lastHeartbeatTime"],
                                                         "%Y-%m-%dT%H:%M:%SZ")) >= since


def _seconds(stamp: str) -> float:
    from datetime import datetime
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").timestamp()


async def test_readoption_after_sigkill_logs_resume_and_graceful_termination(settings: Settings, node: Node,
                                                                 tmp_path: Path) -> None:
    apply(settings, tmp_path, f"""\
        apiVersion: v1
        kind: Pod
        metadata: {{name: polite}}
        spec:
          nodeName: {node.name}
          terminationGracePeriodSeconds: 60
          containers:
          - name: app
            image: {IMAGE}
            command: [sh, -c, 'trap "echo TERM received; exit 0" TERM; i=0; while :; do i=$((i+1)); echo tick $i; sleep 0.3; done']
        ---
        apiVersion: v1
        kind: Pod
        metadata: {{name: stubborn}}
        spec:
          nodeName: {node.name}
          terminationGracePeriodSeconds: 3
          containers:
          - name: app
            image: {IMAGE}
            command: [sh, -c, 'trap "" TERM; while :; do sleep 0.2; done']
        """)
    before = {p: await eventually(partial(_phase, settings, p, "Running"), timeout=120, what=f"{p} Running")
              for p in ("polite", "stubborn")}
    ids_before = sorted(node.containers())
    assert len(ids_before) == 4  # two sandboxes, two apps
    shipped = await eventually(lambda: ticks_shipped(settings, 3), timeout=60, what="polite's first ticks shipped")

    node.process.kill()  # SIGKILL: no clean-up of any kind
    node.process = node.start()
    await eventually(lambda: adopting(node.process), timeout=120, what="the new kubelet adopting its containers")
    adopted = time.time()
    # Evidence, in the new kubelet's own time, of a few relists (0.5 s) and resyncs (1 s)
    # since it adopted: a heartbeat it wrote 4 s later (its loop ran them all in between).
    await eventually(lambda: beat_since(settings, node.name, adopted + 4), timeout=120,
                     what="a heartbeat of the new kubelet 4 s after adopting")
    assert sorted(node.containers()) == ids_before
    for name, old in before.items():
        now = await status_of(settings, name)
        assert now is not None
        assert container(now, "app")["containerID"] == container(old, "app")["containerID"]
        assert container(now, "app")["restartCount"] == 0

    began = time.monotonic()
    assert cli(settings, "delete", "pod", "polite").returncode == 0
    assert cli(settings, "delete", "pod", "stubborn").returncode == 0

    async def gone(name: str) -> bool:
        return f"default/{name}" not in await desired(settings, "pods") and \
            await status_of(settings, name) is None

    await eventually(lambda: gone("polite"), timeout=120, what="polite deleted")
    polite_s = time.monotonic() - began
    await eventually(lambda: gone("stubborn"), timeout=120, what="stubborn deleted")
    stubborn_s = time.monotonic() - began
    assert polite_s < 45, polite_s  # exited on TERM, well before its 60 s grace ran out
    assert stubborn_s >= 3, stubborn_s  # ignored TERM: killed when its 3 s ran out
    lines = await log_lines(settings, "polite")
    assert "TERM received" in lines
    ticks = [int(line.split()[1]) for line in lines if line.startswith("tick ")]
    assert ticks == list(range(1, len(ticks) + 1)), ticks  # none lost or sent twice ...
    assert len(ticks) > shipped  # ... and the new kubelet shipped those after the restart
    assert node.containers() == []
    killing = [e for e in await pod_events(settings, "stubborn") if e["reason"] == "Killing"]
    assert killing and killing[0]["message"] == "Stopping container app"
