"""Faults of the broker itself, on a dedicated broker (scripts/kafka.sh with its own state
directory; the shared broker other tests use is never touched):

- fault 2: the broker SIGKILLed in the middle of a rolling update, restarted from its data;
- fault 6: the broker frozen (SIGSTOP) long enough that every call times out, then resumed.

Every service must ride it out (none may exit) and the invariants hold again."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from services.runtime.config import Settings
from tests.faults.conftest import topics_on
from tests.faults.harness import Broker, Cluster, seeded_random
from tests.faults.invariants import Ledger, PodSampler, configmap, converge, deployment
from tests.availability import unavailable

pytestmark = [pytest.mark.kafka, pytest.mark.docker, pytest.mark.faults]
REPLICAS = 3
WANT = {"default/web": REPLICAS}


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    """A single broker of this module's own, on free ports; stopped and removed at the end."""
    dedicated = Broker(tmp_path_factory.mktemp("kafka") / "state")
    try:
        try:
            dedicated.start()
        except (RuntimeError, OSError) as exc:
            unavailable(f"no dedicated Kafka broker: {exc}")
        print(f"dedicated broker at {dedicated.bootstrap} (state {dedicated.state})")
        yield dedicated
    finally:
        dedicated.stop()


@pytest.fixture
async def settings(broker: Broker) -> AsyncIterator[Settings]:
    async with topics_on(broker.bootstrap) as s:
        yield s


async def rolled_out_once(settings: Settings, cluster: Cluster, ledger: Ledger) -> None:
    assert await ledger.write(deployment("web", REPLICAS, 0, write="w0")) == "Created"
    assert await ledger.write(configmap("before", write="b0")) == "Created"
    await converge(settings, ledger, nodes=cluster.nodes, deployments=WANT, what="initial rollout", timeout=180)


async def test_broker_sigkilled_and_restarted_mid_rollout(
        settings: Settings, broker: Broker, make_cluster: Callable[..., Cluster], fault_seed: int) -> None:
    rng = seeded_random(fault_seed)
    kill_at, down = round(rng.uniform(0.3, 2.5), 2), round(rng.uniform(3.0, 8.0), 2)
    print(f"SIGKILL the broker {kill_at}s into the rollout, restart it {down}s later")
    cluster = make_cluster(settings)
    async with Ledger(settings) as ledger, PodSampler(settings) as sampler:
        await rolled_out_once(settings, cluster, ledger)
        assert await ledger.write(deployment("web", REPLICAS, 1, write="w1")) == "Updated"
        await asyncio.sleep(kill_at)
        broker.sigkill()
        killed = time.monotonic()
        await asyncio.sleep(down)
        await asyncio.to_thread(broker.resume)
        print(f"broker back {time.monotonic() - killed:.1f}s after the kill")
        after = await ledger.write(configmap("after", write="a0"), wait_s=180)
        assert after == "Created", f"a write after the restart was answered {after}"
        took = await converge(settings, ledger, nodes=cluster.nodes, deployments=WANT,
                              what="broker SIGKILL + restart", since=killed, timeout=240)
        cluster.assert_alive()
        assert await ledger.write(deployment("web", REPLICAS, 2, write="w2")) == "Updated"
        await converge(settings, ledger, nodes=cluster.nodes, deployments=WANT, what="the next rollout", timeout=180)
        sampler.assert_no_excess()
    print(f"CONVERGENCE broker-restart: {took:.1f}s from the kill (broker down {down}s)")


async def test_broker_frozen_then_resumed(
        settings: Settings, broker: Broker, make_cluster: Callable[..., Cluster], fault_seed: int) -> None:
    rng = seeded_random(fault_seed + 6)
    freeze_at, frozen = round(rng.uniform(0.3, 2.5), 2), round(rng.uniform(12.0, 18.0), 2)
    print(f"SIGSTOP the broker {freeze_at}s into the rollout, SIGCONT {frozen}s later")
    cluster = make_cluster(settings)
    async with Ledger(settings) as ledger, PodSampler(settings) as sampler:
        await rolled_out_once(settings, cluster, ledger)
        assert await ledger.write(deployment("web", REPLICAS, 1, write="w1")) == "Updated"
        await asyncio.sleep(freeze_at)
        broker.signal(signal.SIGSTOP)
        stopped = time.monotonic()
        try:
            # a write sent into the frozen broker: acknowledged once it thaws, or never
            late = asyncio.create_task(ledger.write(configmap("frozen", write="f0"), wait_s=240))
            await asyncio.sleep(frozen)
        finally:
            broker.signal(signal.SIGCONT)
        resumed = time.monotonic()
        took = await converge(settings, ledger, nodes=cluster.nodes, deployments=WANT,
                              what="broker SIGSTOP + SIGCONT", since=resumed, timeout=240)
        assert await late == "Created", "the write sent during the freeze was not acknowledged"
        cluster.assert_alive()
        sampler.assert_no_excess()
    print(f"CONVERGENCE broker-freeze: {took:.1f}s after SIGCONT (frozen {resumed - stopped:.1f}s)")
