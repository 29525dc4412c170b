"""A hollow fleet (50 nodes in one `kafkube serve kubelet --nodes 50` process) with the
API, scheduler and controllers on the real broker: every node registers and heartbeats,
and a 200-replica Deployment reaches 200 Running pods spread over the fleet."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from services.runtime.config import Settings
from tests.integration.kafkit import ServiceProcess, cli, desired, observed

# The deadlines are generous (a loaded 2-core machine runs this in a small part of them):
# they catch a wedged fleet, not a slow one. The benchmarks measure speed.
pytestmark = [pytest.mark.kafka, pytest.mark.timeout(900)]
NODES, REPLICAS = 50, 200


def deployment(replicas: int) -> str:
    return yaml.safe_dump({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "fleet", "namespace": "default"},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "fleet"}},
                 "template": {"metadata": {"labels": {"app": "fleet"}},
                              "spec": {"containers": [{"name": "c", "image": "kafkube/busybox:1.0"}]}}}})


def ready_nodes(records: dict[str, Any], prefix: str) -> dict[str, str]:
    """node -> its Ready condition's lastHeartbeatTime, for the fleet's Ready nodes."""
    beats = {}
    for name, record in records.items():
        conditions = {c["type"]: c for c in (record.get("status") or {}).get("conditions", [])}
        if name.startswith(prefix) and conditions.get("Ready", {}).get("status") == "True":
            beats[name] = conditions["Ready"]["lastHeartbeatTime"]
    return beats


async def wait_until(check: Callable[[], Awaitable[Any]], *, timeout: float, what: str) -> Any:
    deadline, last = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(1)
    raise AssertionError(f"timed out waiting for {what}; last: {last!r:.500}")


async def test_fleet_of_50_runs_a_200_replica_deployment(settings: Settings, tmp_path: Path,
                                                          services: Callable[..., ServiceProcess],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    prefix = f"f{secrets.token_hex(2)}-"
    monkeypatch.setenv("KAFKUBE_KUBELET_ROOT", str(tmp_path / "kubelet"))
    monkeypatch.setenv("KAFKUBE_HEARTBEAT_SECONDS", "3")
    services("api")
    services("scheduler")
    services("controllers")
    services("kubelet", "--nodes", str(NODES), "--node-prefix", prefix, "--runtime", "hollow")

    async def registered() -> bool:
        nodes = await desired(settings, "nodes")
        return sum(name.startswith(prefix) for name in nodes) == NODES

    await wait_until(registered, timeout=180, what=f"{NODES} Nodes in desired.nodes")
    first = await wait_until(lambda: _all_ready(settings, prefix), timeout=120, what="every node Ready")

    manifest = tmp_path / "deploy.yaml"
    manifest.write_text(deployment(REPLICAS))
    applied = cli(settings, "apply", "-f", str(manifest))
    assert applied.returncode == 0, applied.stderr

    async def all_running() -> dict[str, str] | None:
        records = await observed(settings, "pods")
        running = {k: r["status"].get("hostIP", "") for k, r in records.items()
                   if k.startswith("default/fleet-") and r["status"].get("phase") == "Running"}
        return running if len(running) == REPLICAS else None

    await wait_until(all_running, timeout=300, what=f"{REPLICAS} Running pods")
    bound = {p["spec"]["nodeName"] for k, p in (await desired(settings, "pods")).items()
             if k.startswith("default/fleet-")}
    assert len(bound) > NODES // 2 and all(n.startswith(prefix) for n in bound)

    async def beat_again() -> bool:  # every node's heartbeat moved on since the first look
        now = await _all_ready(settings, prefix)
        return now is not None and all(now[n] > first[n] for n in first)

    await wait_until(beat_again, timeout=120, what="a second heartbeat of every node")


async def _all_ready(settings: Settings, prefix: str) -> dict[str, str] | None:
    beats = ready_nodes(await observed(settings, "nodes"), prefix)
    return beats if len(beats) == NODES else None
