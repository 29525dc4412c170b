"""Every benchmark under bench/ at tiny sizes, so one that breaks is seen at once.

No timing is asserted: each benchmark must run to its end on the real broker (and the
real Docker Engine for `docker_start`) and write its results, whose rows must describe
the run that was asked for. Results, logs and credentials go to a temporary directory
(`KAFKUBE_BENCH_RESULTS`), never over the committed bench/results.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from services.runtime.transactional import STAGES as TRANSACTION_STAGES

REPO_ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.kafka


def run_bench(module: str, *args: str, bootstrap: str, results: Path, timeout: float = 240) -> str:
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": bootstrap, "KAFKUBE_BENCH_RESULTS": str(results)}
    for name in ("KAFKUBE_TOKEN_AUTH_FILE", "KAFKUBE_TOKEN_FILE", "KAFKUBE_BUS_KEYS_FILE", "KAFKUBE_NODE_TOKEN_DIR",
                 "KAFKUBE_SERVICE_ACCOUNT_KEY_FILE", "KAFKUBE_ENCRYPTION_CONFIG"):
        env.pop(name, None)  # the benchmark makes its own cluster's credentials, as a user's run does
    proc = subprocess.run([sys.executable, "-m", f"bench.{module}", *args], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, f"bench.{module} exited {proc.returncode}:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
    return proc.stdout


def result(results: Path, name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((results / f"{name}.json").read_text())
    assert data["benchmark"] == name and data["rows"], data
    return data


def rows_by(data: dict[str, Any], column: str) -> dict[str, dict[str, Any]]:
    return {row[column]: row for row in data["rows"]}


def test_micro_benchmarks_run(tmp_path: Path, kafka_bootstrap: str) -> None:
    out = run_bench("schedule_micro", "--pods", "50", "--nodes", "20", bootstrap=kafka_bootstrap, results=tmp_path)
    assert "ms per pod (50 pods, 20 nodes" in out
    out = run_bench("replicaset_micro", "--pods", "50", bootstrap=kafka_bootstrap, results=tmp_path)
    assert "ms per sync (50 ready pods" in out
    out = run_bench("signing", "--records", "200", bootstrap=kafka_bootstrap, results=tmp_path)
    assert "µs/record" in out
    out = run_bench("api_writer", "--pods", "200", "--batch", "50", "--repeat", "1",
                    bootstrap=kafka_bootstrap, results=tmp_path)
    assert "200 pods (create + bind)" in out


def test_api_latency_answers_every_write(tmp_path: Path, kafka_bootstrap: str) -> None:
    run_bench("api_latency", "--rates", "20", "--seconds", "2", bootstrap=kafka_bootstrap, results=tmp_path)
    [row] = result(tmp_path, "api_latency")["rows"]
    assert row["target_writes_per_s"] == 20 and row["answered"] == 40
    assert 0 < row["p50_ms"] <= row["p99_ms"] <= row["max_ms"]


def test_http_latency_answers_every_write_with_its_object(tmp_path: Path, kafka_bootstrap: str) -> None:
    run_bench("http_latency", "--rates", "20", "--seconds", "2", bootstrap=kafka_bootstrap, results=tmp_path)
    [row] = result(tmp_path, "http_latency")["rows"]
    assert row["target_writes_per_s"] == 20 and row["answered"] == 40  # each a 201 with the data it wrote
    assert 0 < row["p50_ms"] <= row["p99_ms"] <= row["max_ms"]
    stages = ("request", "answer", "stored", *TRANSACTION_STAGES)
    assert all(row[f"{stage}_ms"] >= 0 for stage in stages), row  # each stage seen (nan is not >= 0)
    assert row["answer_ms"] < row["max_ms"]


def test_throughput_runs_every_pod(tmp_path: Path, kafka_bootstrap: str) -> None:
    run_bench("throughput", "--pods", "40", "--nodes", "4", "--deployments", "2", "--timeout", "180",
              bootstrap=kafka_bootstrap, results=tmp_path)
    data = result(tmp_path, "throughput_40")
    assert data["meta"]["pods"] == 40 and data["meta"]["nodes"] == 4
    assert set(rows_by(data, "measure")) == {"all pods created (desired)", "all pods bound", "all pods Running (observed)"}
    memory = rows_by(result(tmp_path, "memory_40"), "process")
    assert {"api", "scheduler", "controllers", "kubelet-fleet", "total incl. broker"} <= set(memory)


def test_idle_reports_every_process_of_a_cluster_at_rest(tmp_path: Path, kafka_bootstrap: str) -> None:
    run_bench("idle", "--nodes", "4", "--settle", "1", "--seconds", "2", bootstrap=kafka_bootstrap, results=tmp_path)
    data = result(tmp_path, "idle_4_nodes")
    assert data["meta"]["nodes"] == 4 and data["meta"]["seconds"] == 2
    processes = rows_by(data, "process")
    assert {"api", "scheduler", "controllers", "kubelet-fleet", "total incl. broker"} <= set(processes)
    assert all(isinstance(row["cpu_s"], float) and row["cpu_s"] >= 0 for name, row in processes.items()
               if name != "kafka broker (shared)")


def test_startup_latency_sees_every_pod_start(tmp_path: Path, kafka_bootstrap: str) -> None:
    run_bench("startup", "--rate", "10", "--seconds", "2", "--warm-up", "1", "--nodes", "4", bootstrap=kafka_bootstrap, results=tmp_path)
    stages = rows_by(result(tmp_path, "startup_latency_4_nodes"), "stage")
    assert stages["published -> Running observed (startup)"]["pods"] == 20
    loops = rows_by(result(tmp_path, "startup_latency_4_nodes_api_transactions"), "loop")
    assert set(loops) == {"api-intake", "api-writer"}
    for row in loops.values():  # each loop committed the measured pods' transactions, each stage seen
        assert row["transactions"] >= 1 and all(row[f"{stage}_ms"] >= 0 for stage in TRANSACTION_STAGES), row


def test_recovery_rebuilds_every_service(tmp_path: Path, kafka_bootstrap: str) -> None:
    run_bench("recovery", "--objects", "200", bootstrap=kafka_bootstrap, results=tmp_path)
    services = rows_by(result(tmp_path, "recovery"), "service")
    assert {"api", "scheduler", "controllers", "endpoints", "kubelet-fleet"} <= set(services)


def test_scheduler_failover_binds_every_pod(tmp_path: Path, kafka_bootstrap: str) -> None:
    run_bench("scheduler_failover", "--pods", "40", "--nodes", "4", bootstrap=kafka_bootstrap, results=tmp_path)
    scenarios = rows_by(result(tmp_path, "scheduler_failover"), "scenario")
    assert set(scenarios) == {"restart", "failover"}
    assert all(row["pods"] == 40 for row in scenarios.values())


@pytest.mark.docker
def test_docker_start_runs_a_real_pod(tmp_path: Path, kafka_bootstrap: str, docker_ready: None) -> None:
    run_bench("docker_start", "--runs", "1", bootstrap=kafka_bootstrap, results=tmp_path)
    paths = rows_by(result(tmp_path, "docker_start"), "path")
    assert paths["kafkube: manifest -> Running observed"]["runs"] == 1
    assert paths["ratio kafkube / docker run (medians)"]["median_ms"] > 0
