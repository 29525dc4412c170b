"""Every service's /metrics, /healthz and /readyz, as real processes on the real broker:
the API, the scheduler, the controllers and a hollow kubelet, each on an address it chose
(KAFKUBE_METRICS_ADDRESS=127.0.0.1:0) and logged; ready once synced; after a Deployment
is applied, each exposes the named metrics with the work it did."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from pathlib import Path

import aiohttp
import orjson
import pytest
from prometheus_client.parser import text_string_to_metric_families

from services.runtime.config import Settings
from tests.integration.kafkit import ServiceProcess, cli, wait_for

pytestmark = pytest.mark.kafka
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def served_address(process: ServiceProcess) -> str | None:
    """The address the process logged it serves its metrics on."""
    for line in process.logs().splitlines():
        if '"metrics.serving"' in line:
            return str(orjson.loads(line)["address"])
    return None


async def status_of(session: aiohttp.ClientSession, address: str, path: str) -> int:
    async with session.get(f"http://{address}{path}") as response:
        return response.status


async def scrape(session: aiohttp.ClientSession, address: str) -> Samples:
    async with session.get(f"http://{address}/metrics") as response:
        assert response.status == 200
        text = await response.text()
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(samples: Samples, metric: str, **labels: str) -> float:
    return samples.get((metric, frozenset(labels.items())), 0.0)


DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: c, image: busybox}]
"""


async def test_every_service_serves_metrics_and_turns_ready(
        settings: Settings, services: Callable[..., ServiceProcess], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKUBE_METRICS_ADDRESS", "127.0.0.1:0")
    monkeypatch.setenv("KAFKUBE_KUBELET_ROOT", str(tmp_path / "kubelet"))
    node = f"n-{secrets.token_hex(3)}"
    processes = {"api": services("api"), "scheduler": services("scheduler"),
                 "controllers": services("controllers"),
                 "kubelet": services("kubelet", "--node", node, "--runtime", "hollow")}
    addresses: dict[str, str] = {}
    for name, process in processes.items():
        addresses[name] = await wait_for(f"{name} logs its metrics address",
                                         lambda p=process: served_address(p), timeout=180)  # type: ignore[misc]
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        for name, address in addresses.items():
            async def ready(address: str = address) -> bool:
                return await status_of(session, address, "/readyz") == 200
            await wait_for(f"{name} ready", ready, timeout=180)
            assert await status_of(session, address, "/healthz") == 200

        manifest = tmp_path / "web.yaml"
        manifest.write_text(DEPLOYMENT)
        applied = cli(settings, "apply", "-f", str(manifest))
        assert applied.returncode == 0, applied.stderr

        async def pods_started() -> Samples | None:
            samples = await scrape(session, addresses["kubelet"])
            return samples if value(samples, "kubelet_pod_start_duration_seconds_count") >= 2 else None

        kubelet = await wait_for("the kubelet reports two pods started", pods_started, timeout=180)
        assert value(kubelet, "kafkube_reconcile_total", controller="kubelet", result="success") >= 2
        synced = [v for (name, _labels), v in kubelet.items() if name == "kafkube_informer_synced"]
        assert synced and all(v == 1 for v in synced)

        api = await scrape(session, addresses["api"])
        assert value(api, "kafkube_api_answers_total", reason="Created") >= 4  # deployment, replicaset, 2 pods
        assert value(api, "kafkube_api_decision_duration_seconds_count") >= 4
        assert value(api, "kafkube_transactions_total", group="api-writer", result="committed") >= 1
        committed = value(api, "kafkube_transactions_total", group="api-writer", result="committed")
        for stage in ("waited", "process", "produce", "offsets", "commit"):  # each committed one, each stage
            assert value(api, "kafkube_transaction_stage_duration_seconds_count",
                         group="api-writer", stage=stage) == committed
        assert value(api, "kafkube_partitions_owned", group="api-writer") == settings.partitions

        scheduler = await scrape(session, addresses["scheduler"])
        assert value(scheduler, "scheduler_schedule_attempts_total", result="scheduled") >= 2
        assert value(scheduler, "scheduler_scheduling_attempt_duration_seconds_count", result="scheduled") >= 2
        assert value(scheduler, "workqueue_adds_total", name="scheduler") >= 2
        assert value(scheduler, "kafkube_informer_synced", name="scheduler") == 1

        controllers = await scrape(session, addresses["controllers"])
        for controller in ("deployment-controller", "replicaset-controller"):
            assert value(controllers, "kafkube_reconcile_total", controller=controller, result="success") >= 1
            assert value(controllers, "workqueue_work_duration_seconds_count", name=controller) >= 1
        assert any(name == "kafkube_records_consumed_total" and v > 0 for (name, _l), v in controllers.items())
