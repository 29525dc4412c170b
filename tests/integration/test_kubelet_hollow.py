"""The kubelet as a real process on the real broker with the hollow runtime: node
registration and heartbeat, a bound pod reaching Running in observed.pods, and a
graceful deletion removing it from desired and observed."""

from __future__ import annotations

import asyncio
import secrets
import textwrap
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from services.runtime.config import Settings
from tests.integration.kafkit import ServiceProcess, cli, desired, observed

pytestmark = pytest.mark.kafka


async def eventually(check: Callable[[], Awaitable[Any]], *, timeout: float = 120, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}; last: {last}")


def pod_manifest(name: str, node: str, *, image: str = "kafkube/busybox:1.0", grace: int = 5) -> str:
    return textwrap.dedent(f"""\
        apiVersion: v1
        kind: Pod
        metadata: {{name: {name}}}
        spec:
          nodeName: {node}
          terminationGracePeriodSeconds: {grace}
          containers:
          - name: web
            image: {image}
        """)


async def test_hollow_kubelet_runs_and_deletes_a_pod(settings: Settings, services: Callable[..., ServiceProcess],
                                                     tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    node = f"n-{secrets.token_hex(3)}"
    monkeypatch.setenv("KAFKUBE_KUBELET_ROOT", str(tmp_path / "kubelet"))
    monkeypatch.setenv("KAFKUBE_HEARTBEAT_SECONDS", "2")
    services("api")
    services("kubelet", "--node", node, "--runtime", "hollow")

    nodes = await eventually(lambda: desired(settings, "nodes"), what="the Node in desired.nodes")
    assert nodes[node]["metadata"]["labels"]["kubernetes.io/hostname"] == node
    beat = await eventually(lambda: observed(settings, "nodes"), what="a heartbeat")
    ready = {c["type"]: c["status"] for c in beat[node]["status"]["conditions"]}
    assert ready["Ready"] == "True" and beat[node]["writer"] == "kubelet"

    manifest = tmp_path / "pod.yaml"
    manifest.write_text(pod_manifest("p", node))
    assert cli(settings, "apply", "-f", str(manifest)).returncode == 0

    async def running() -> Any:
        record = (await observed(settings, "pods")).get("default/p")
        return record if record and record["status"]["phase"] == "Running" else None

    record = await eventually(running, what="the pod Running")
    status = record["status"]
    assert status["podIP"] and status["containerStatuses"][0]["state"].get("running")
    assert {c["type"]: c["status"] for c in status["conditions"]}["Ready"] == "True"

    deleted = cli(settings, "delete", "pod", "p")
    assert deleted.returncode == 0, deleted.stderr

    async def gone() -> bool:
        return "default/p" not in await desired(settings, "pods") and \
            "default/p" not in await observed(settings, "pods")

    await eventually(gone, what="the pod gone from desired and observed")
