"""The `monitoring` compose profile's Prometheus scrapes every long-running Kafkube service
of docker-compose.yml (a service added there without a target fails here), and its
entrypoint (docker/prometheus/entrypoint.sh) writes the host-network services' targets from
KAFKUBE_HOST_METRICS_TARGETS or refuses the variable, naming it."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
PROMETHEUS_DIR = ROOT / "docker" / "prometheus"
ENTRYPOINT = PROMETHEUS_DIR / "entrypoint.sh"


def compose_services() -> dict[str, dict[str, Any]]:
    services: dict[str, dict[str, Any]] = yaml.safe_load(COMPOSE.read_text())["services"]
    return services


def kafkube_services() -> dict[str, str]:
    """Long-running services serving /metrics: name -> their KAFKUBE_METRICS_ADDRESS."""
    return {name: spec["environment"]["KAFKUBE_METRICS_ADDRESS"] for name, spec in compose_services().items()
            if spec.get("restart") == "unless-stopped" and "KAFKUBE_METRICS_ADDRESS" in spec.get("environment", {})}


def test_prometheus_scrapes_every_kafkube_service() -> None:
    services = kafkube_services()
    assert {"api", "apiserver", "scheduler", "controller-manager", "endpoints", "proxy", "kubelet-1",
            "kubelet-2"} <= set(services)
    prometheus = compose_services()["prometheus"]
    assert prometheus["profiles"] == ["monitoring"]
    assert "host.docker.internal:host-gateway" in prometheus["extra_hosts"]
    host_targets = prometheus["environment"]["KAFKUBE_HOST_METRICS_TARGETS"].split()
    config = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text())
    static = {job["job_name"]: [t for c in job.get("static_configs", []) for t in c["targets"]]
              for job in config["scrape_configs"]}
    for name, address in services.items():
        parts = re.fullmatch(r"(.+):(\$\{[A-Z0-9_]+:-\d+\}|\d+)", address)
        assert parts, f"{name}: KAFKUBE_METRICS_ADDRESS {address!r} is not host:port"
        host, port = parts.groups()
        if compose_services()[name].get("network_mode") == "host":
            # reachable from Prometheus' container: not on the loopback by default
            assert re.fullmatch(r"\$\{HOST_METRICS_IP:-0\.0\.0\.0\}", host), \
                f"{name}: KAFKUBE_METRICS_ADDRESS {address!r}: Prometheus reaches it only on ${{HOST_METRICS_IP:-0.0.0.0}}"
            assert any(t.split("=", 1)[1] == port for t in host_targets), \
                f"{name}: add <job>={port} to the prometheus service's KAFKUBE_HOST_METRICS_TARGETS ({host_targets})"
        else:
            assert host == "0.0.0.0", f"{name}: KAFKUBE_METRICS_ADDRESS {address!r}: not reachable from Prometheus"
            assert static.get(name) == [f"{name}:{port}"], \
                f"{name}: add a job scraping {name}:{port} to docker/prometheus/prometheus.yml"
    assert "host-network" in static  # the file_sd job the entrypoint's files feed


def run_entrypoint(tmp_path: Path, targets: str) -> subprocess.CompletedProcess[str]:
    """entrypoint.sh with a stand-in `prometheus` on PATH that prints its arguments."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    fake = bin_dir / "prometheus"
    fake.write_text('#!/bin/sh\necho "prometheus $*"\n')
    fake.chmod(0o755)
    env = {"PATH": f"{bin_dir}:{os.environ['PATH']}", "KAFKUBE_TARGETS_DIR": str(tmp_path / "targets"),
           "KAFKUBE_HOST_METRICS_TARGETS": targets}
    return subprocess.run(["sh", str(ENTRYPOINT), "--config.file=x.yml"], env=env, capture_output=True,
                          text=True, timeout=30)


def written_targets(tmp_path: Path) -> list[tuple[str, str]]:
    found = []
    for path in sorted((tmp_path / "targets").glob("*.json")):
        for group in json.loads(path.read_text()):
            found += [(group["labels"]["job"], target) for target in group["targets"]]
    return sorted(found)


def test_the_entrypoint_writes_one_target_per_pair_and_runs_prometheus(tmp_path: Path) -> None:
    (tmp_path / "targets").mkdir()
    (tmp_path / "targets" / "stale-1.json").write_text("[]")
    done = run_entrypoint(tmp_path, " proxy=10249\n kubelet=10255 kubelet=10265 ")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "prometheus --config.file=x.yml"
    assert written_targets(tmp_path) == [("kubelet", "host.docker.internal:10255"),
                                         ("kubelet", "host.docker.internal:10265"),
                                         ("proxy", "host.docker.internal:10249")]
    assert not (tmp_path / "targets" / "stale-1.json").exists()


@pytest.mark.parametrize("bad", ["proxy", "proxy=", "=10249", "Proxy=1", "proxy=12ab", "proxy=0080",
                                 "proxy=65536", "proxy=9999999", "a/b=1", "*=1", "proxy=1=2"])
def test_the_entrypoint_refuses_a_malformed_pair_naming_the_variable(tmp_path: Path, bad: str) -> None:
    done = run_entrypoint(tmp_path, f"kubelet=10255 {bad}")
    assert done.returncode == 1
    assert f"KAFKUBE_HOST_METRICS_TARGETS: '{bad}'" in done.stderr
    assert "prometheus" not in done.stdout


@settings(max_examples=60, deadline=None)
@given(st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=30))
def test_the_entrypoint_either_writes_valid_targets_or_refuses(tmp_path_factory: pytest.TempPathFactory,
                                                               targets: str) -> None:
    tmp_path = tmp_path_factory.mktemp("fuzz")
    done = run_entrypoint(tmp_path, targets)
    if done.returncode == 0:
        for job, target in written_targets(tmp_path):
            assert re.fullmatch(r"[a-z0-9-]+", job)
            assert 1 <= int(target.rsplit(":", 1)[1]) <= 65535
    else:
        assert done.returncode == 1 and "KAFKUBE_HOST_METRICS_TARGETS" in done.stderr, done.stderr
