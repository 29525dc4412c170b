"""Fault 1: SIGKILL of every service (api, scheduler, controllers, each kubelet) at random
moments during rolling updates, several rounds in a row, from a seeded schedule
(KAFKUBE_FAULT_SEED replays it). After each round every invariant must hold again."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest

from services.runtime.config import Settings
from tests.faults.harness import Cluster, seeded_random
from tests.faults.invariants import Ledger, PodSampler, configmap, converge, deployment

pytestmark = [pytest.mark.kafka, pytest.mark.docker, pytest.mark.faults]
ROUNDS = 5
KILLS_PER_ROLE = 2
REPLICAS = 3


def schedule(seed: int, roles: list[str]) -> list[list[tuple[str, float, float]]]:
    """Per round, the (role, kill at, down for) of its victims: every role KILLS_PER_ROLE
    times, in a random order spread over the rounds, at random moments of the rolling update."""
    rng = seeded_random(seed)
    per_round = len(roles) * KILLS_PER_ROLE // ROUNDS
    while True:  # no role twice in one round
        order = [role for _ in range(KILLS_PER_ROLE) for role in rng.sample(roles, len(roles))]
        rounds_roles = [order[i:i + per_round] for i in range(0, len(order), per_round)][:ROUNDS]
        if all(len(set(r)) == len(r) for r in rounds_roles):
            break
    rounds = [[(role, round(rng.uniform(0.0, 4.0), 2), round(rng.uniform(0.5, 3.0), 2)) for role in r]
              for r in rounds_roles]
    return rounds


async def kill_and_restart(cluster: Cluster, role: str, at: float, down: float) -> None:
    await asyncio.sleep(at)
    cluster.sigkill(role)
    await asyncio.sleep(down)
    cluster.restart(role)


async def test_sigkill_each_service_during_rolling_updates(
        shared_settings: Settings, make_cluster: Callable[..., Cluster], fault_seed: int) -> None:
    settings = shared_settings
    cluster = make_cluster(settings)
    plan = schedule(fault_seed, cluster.roles())
    for i, victims in enumerate(plan):
        print(f"round {i}: " + ", ".join(f"SIGKILL {r} at +{a}s, restart after {d}s" for r, a, d in victims))
    want = {"default/web": REPLICAS}
    async with Ledger(settings) as ledger, PodSampler(settings) as sampler:
        assert await ledger.write(deployment("web", REPLICAS, 0, write="w0")) == "Created"
        await converge(settings, ledger, nodes=cluster.nodes, deployments=want, what="initial rollout", timeout=180)
        times = []
        for i, victims in enumerate(plan, start=1):
            assert await ledger.write(deployment("web", REPLICAS, i, write=f"w{i}")) == "Updated"
            started = time.monotonic()
            faults = [asyncio.create_task(kill_and_restart(cluster, *v)) for v in victims]
            # a write that may land while a victim (perhaps the API) is down: acknowledged later
            side = asyncio.create_task(ledger.write(configmap(f"cm-{i}", write=f"c{i}"), wait_s=150))
            await asyncio.gather(*faults)
            times.append(await converge(settings, ledger, nodes=cluster.nodes, deployments=want,
                                        what=f"round {i} ({', '.join(v[0] for v in victims)} killed)",
                                        since=started, timeout=180))
            assert await side in ("Created",), f"cm-{i} was not acknowledged"
            cluster.assert_alive()
        sampler.assert_no_excess()
        print(f"most live pods of the Deployment at once: {dict(sampler.totals)} (replicas {REPLICAS}, maxSurge 1)")
        print(f"CONVERGENCE after each round (s, from the roll's start): {[round(t, 1) for t in times]}")
    assert not ledger.rejected(), ledger.rejected()
