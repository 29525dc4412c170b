"""Fixtures of the fault suite: the seed of the random fault schedule, fast service
timings, per-test topics on a given broker, and a Cluster that is always torn down
(processes stopped, containers removed) in `finally`."""

from __future__ import annotations

import os
import random
import secrets
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from services.runtime.bus import ensure_topics
from services.runtime.config import Settings
from services.runtime.topics import Topics
from tests.integration.kafkit import admin_token
from tests.faults.harness import FAST_ENV, Cluster


@pytest.fixture(scope="session")
def fault_seed() -> int:
    """KAFKUBE_FAULT_SEED, or a fresh random seed; printed so a failure can be replayed."""
    raw = os.environ.get("KAFKUBE_FAULT_SEED", "").strip()
    seed = int(raw) if raw else random.SystemRandom().randrange(1 << 31)
    print(f"\nKAFKUBE_FAULT_SEED={seed}  (export it to replay this fault schedule)")
    return seed


@pytest.fixture(autouse=True)
def fast_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for key, value in FAST_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("KAFKUBE_KUBELET_ROOT", str(tmp_path / "kubelet"))


@asynccontextmanager
async def topics_on(bootstrap: str, *, replication: int = 1) -> AsyncIterator[Settings]:
    """Settings with a fresh topic prefix on `bootstrap` (3 partitions); topics deleted after."""
    s = Settings(bootstrap_servers=bootstrap, topic_prefix=f"kf{secrets.token_hex(4)}.", partitions=3,
                 replication_factor=replication, connect_timeout_s=60, instance="pytest-faults",
                 token=admin_token())
    specs = Topics(s.topic_prefix).specs()
    await ensure_topics(s, specs)
    try:
        yield s
    finally:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=20000)
        try:
            await admin.start()
            await admin.delete_topics([spec.name for spec in specs])
        except Exception as exc:  # a dedicated broker that is gone takes its topics with it
            print(f"deleting the test topics failed: {exc}")
        finally:
            await admin.close()


@pytest.fixture
async def shared_settings(kafka_bootstrap: str) -> AsyncIterator[Settings]:
    """Per-test topics on the shared broker (which these tests never break)."""
    async with topics_on(kafka_bootstrap) as s:
        yield s


@pytest.fixture
def make_cluster(tmp_path: Path, docker_ready: None) -> Iterator[Callable[..., Cluster]]:
    """Build (and start) a Cluster; stopped and its containers removed at the end."""
    made: list[Cluster] = []

    def make(settings: Settings, nodes: int = 2, *, docker_host: str | None = None) -> Cluster:
        tag = secrets.token_hex(3)
        names = [f"fk{tag}-{chr(ord('a') + i)}" for i in range(nodes)]
        cluster = Cluster(settings, tmp_path, names, docker_host=docker_host)
        made.append(cluster)
        return cluster.start()

    try:
        yield make
    finally:
        for cluster in made:
            try:
                cluster.stop()
            finally:
                cluster.remove_containers()
