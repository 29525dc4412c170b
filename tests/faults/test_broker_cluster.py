"""Fault 3: on a dedicated three-broker KRaft cluster (replication factor 3 through
KAFKUBE_REPLICATION_FACTOR, min.insync.replicas 2), one broker is SIGKILLed in the middle
of a rolling update and never comes back. Writes go on being acknowledged, the rollout
and a later one converge, and the invariants hold."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from services.runtime.config import Settings
from services.runtime.topics import Topics
from tests.availability import unavailable
from tests.faults.conftest import topics_on
from tests.faults.harness import Broker, Cluster, seeded_random
from tests.faults.invariants import Ledger, PodSampler, configmap, converge, deployment

pytestmark = [pytest.mark.kafka, pytest.mark.docker, pytest.mark.faults]
REPLICAS = 3
WANT = {"default/web": REPLICAS}


@pytest.fixture(scope="module")
def kraft3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    cluster = Broker(tmp_path_factory.mktemp("kafka3") / "state", nodes=3)
    try:
        try:
            cluster.start()
        except (RuntimeError, OSError) as exc:
            unavailable(f"no dedicated three-broker Kafka cluster: {exc}")
        print(f"dedicated 3-broker cluster at {cluster.bootstrap}")
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
async def settings(kraft3: Broker, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Settings]:
    monkeypatch.setenv("KAFKUBE_REPLICATION_FACTOR", "3")
    async with topics_on(kraft3.bootstrap, replication=3) as s:
        yield s


async def topic_config(settings: Settings, topic: str) -> dict[str, str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap_servers)
    await admin.start()
    try:
        resource = ConfigResource(ConfigResourceType.TOPIC, topic, None)
        entries = (await admin.describe_configs([resource]))[0].resources[0][4]
        described = await admin.describe_topics([topic])
        replicas = {len(p["replicas"]) for p in described[0]["partitions"]}
        return {**{e[0]: e[1] for e in entries}, "replicas": ",".join(map(str, sorted(replicas)))}
    finally:
        await admin.close()


async def test_one_broker_of_three_lost_for_good(
        settings: Settings, kraft3: Broker, make_cluster: Callable[..., Cluster], fault_seed: int) -> None:
    rng = seeded_random(fault_seed + 3)
    victim, kill_at = rng.randrange(3), round(rng.uniform(0.3, 2.5), 2)
    print(f"SIGKILL broker node {victim + 1} of 3 {kill_at}s into the rollout; never restarted")
    pods_topic = Topics(settings.topic_prefix).desired("pods")
    config = await topic_config(settings, pods_topic)
    assert (config["replicas"], config["min.insync.replicas"]) == ("3", "2"), config
    cluster = make_cluster(settings)
    async with Ledger(settings) as ledger, PodSampler(settings) as sampler:
        assert await ledger.write(deployment("web", REPLICAS, 0, write="w0")) == "Created"
        await converge(settings, ledger, nodes=cluster.nodes, deployments=WANT, what="initial rollout", timeout=180)
        assert await ledger.write(deployment("web", REPLICAS, 1, write="w1")) == "Updated"
        await asyncio.sleep(kill_at)
        kraft3.sigkill(victim)
        lost = time.monotonic()
        writes = [await ledger.write(configmap(f"after-{i}", write=f"a{i}"), wait_s=180) for i in range(3)]
        print(f"three writes after the loss acknowledged within {time.monotonic() - lost:.1f}s: {writes}")
        assert writes == ["Created"] * 3
        took = await converge(settings, ledger, nodes=cluster.nodes, deployments=WANT,
                              what="one broker of three lost", since=lost, timeout=240)
        assert await ledger.write(deployment("web", REPLICAS, 2, write="w2")) == "Updated"
        await converge(settings, ledger, nodes=cluster.nodes, deployments=WANT,
                       what="a rollout on the two survivors", timeout=180)
        cluster.assert_alive()
        sampler.assert_no_excess()
    print(f"CONVERGENCE broker-lost (3 nodes, RF 3, min ISR 2): {took:.1f}s from the kill")
