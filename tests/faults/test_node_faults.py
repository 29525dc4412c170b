"""Faults of a node:

- fault 4: the Docker daemon restarted under running kubelets (SIGTERM, which stops the
  containers, then SIGKILL, which leaves them to their shims). A dedicated dockerd in its
  own network namespace stands in for the node's Engine, so the shared Engine other tests
  use is never restarted; it is stopped in `finally`.
- fault 5: a kubelet frozen (SIGSTOP) past the node grace period: its pods are evicted
  and recreated on the other node; resumed (SIGCONT), it removes its stale containers
  instead of running a second copy.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from services.runtime.config import Settings
from tests.availability import unavailable
from tests.faults.harness import Cluster, Dockerd, seeded_random
from tests.faults.invariants import Ledger, PodSampler, Snapshot, configmap, converge, deployment, live

pytestmark = [pytest.mark.kafka, pytest.mark.docker, pytest.mark.faults]
REPLICAS = 3
WANT = {"default/web": REPLICAS}


@pytest.fixture
def dockerd(docker_ready: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Dockerd]:
    """A Docker Engine of this test's own; DOCKER_HOST points the kubelets at it."""
    engine = Dockerd(Path("/tmp") / f"kf-dockerd-{tmp_path.name[-24:]}")
    try:
        try:
            engine.start()
        except (AssertionError, OSError, FileNotFoundError) as exc:
            unavailable(f"cannot start a dedicated dockerd (needs root, unshare, nsenter): {exc}")
        monkeypatch.setenv("DOCKER_HOST", engine.host)
        yield engine
    finally:
        engine.stop()


async def test_docker_daemon_restarted_under_running_nodes(
        dockerd: Dockerd, shared_settings: Settings, make_cluster: Callable[..., Cluster]) -> None:
    settings = shared_settings
    cluster = make_cluster(settings, docker_host=dockerd.host)
    async with Ledger(settings) as ledger, PodSampler(settings) as sampler:
        assert await ledger.write(deployment("web", REPLICAS, 0, write="w0")) == "Created"
        await converge(settings, ledger, nodes=cluster.nodes, deployments=WANT, what="initial rollout",
                       timeout=180, docker_host=dockerd.host)
        times = {}
        for i, sig in enumerate((signal.SIGTERM, signal.SIGKILL), start=1):
            before = await Snapshot.take(settings, cluster.nodes, dockerd.host)
            old_ids = {c["id"] for c in before.containers if c["state"] == "running"}
            started = time.monotonic()
            await asyncio.to_thread(dockerd.restart, sig)
            print(f"dockerd restarted ({sig.name}) in {time.monotonic() - started:.1f}s")
            assert await ledger.write(configmap(f"after-{i}", write=f"a{i}")) == "Created"
            times[sig.name] = await converge(settings, ledger, nodes=cluster.nodes, deployments=WANT,
                                             what=f"dockerd restart ({sig.name})", since=started,
                                             timeout=180, docker_host=dockerd.host)
            after = await Snapshot.take(settings, cluster.nodes, dockerd.host)
            kept = old_ids & {c["id"] for c in after.containers if c["state"] == "running"}
            print(f"  containers kept running across the restart: {len(kept)} of {len(old_ids)}")
        cluster.assert_alive()
        sampler.assert_no_excess()
    print(f"CONVERGENCE dockerd-restart: {', '.join(f'{k} {v:.1f}s' for k, v in times.items())}")


async def test_frozen_kubelet_pods_move_and_its_stale_containers_go(
        shared_settings: Settings, make_cluster: Callable[..., Cluster], fault_seed: int) -> None:
    settings = shared_settings
    cluster = make_cluster(settings)
    async with Ledger(settings) as ledger, PodSampler(settings) as sampler:
        assert await ledger.write(deployment("web", REPLICAS, 0, write="w0")) == "Created"
        await converge(settings, ledger, nodes=cluster.nodes, deployments=WANT, what="initial rollout", timeout=180)
        snap = await Snapshot.take(settings, cluster.nodes, None)
        per_node = Counter(p["spec"].get("nodeName") for p in snap.desired["pods"].values() if live(p))
        victim = sorted(per_node)[seeded_random(fault_seed + 5).randrange(len(per_node))]
        survivor = next(n for n in cluster.nodes if n != victim)
        # by uid: a replacement may reuse the evicted pod's name (the lowest free slot)
        moved = {p["metadata"]["uid"] for p in snap.desired["pods"].values() if p["spec"].get("nodeName") == victim}
        print(f"SIGSTOP the kubelet of {victim} ({per_node[victim]} pods)")
        cluster.signal(f"kubelet:{victim}", signal.SIGSTOP)
        frozen = time.monotonic()
        try:
            async def all_on_survivor() -> bool:
                # a replacement can be seen created and not yet bound: no nodeName (yet)
                now = await Snapshot.take(settings, cluster.nodes, None)
                pods = [p for p in now.desired["pods"].values() if live(p)]
                running = [k for k, p in now.desired["pods"].items() if live(p) and (
                    (now.observed_pods.get(k) or {}).get("status") or {}).get("phase") == "Running"]
                return (len(pods) == REPLICAS and {p["spec"].get("nodeName") for p in pods} == {survivor}
                        and len(running) == REPLICAS
                        and not moved & {p["metadata"]["uid"] for p in now.desired["pods"].values()})

            deadline = time.monotonic() + 120
            while not await all_on_survivor():
                assert time.monotonic() < deadline, f"the pods of frozen {victim} were not recreated on {survivor}"
                await asyncio.sleep(1)
            evicted_in = time.monotonic() - frozen
            print(f"CONVERGED pods of the frozen node Running on {survivor}: {evicted_in:.1f}s after SIGSTOP")
            stale = [c for c in (await Snapshot.take(settings, cluster.nodes, None)).containers
                     if c["node"] == victim and c["state"] == "running"]
            print(f"  containers still running on the frozen node: {len(stale)}")
            assert await ledger.write(configmap("while-frozen", write="f0")) == "Created"
        finally:
            cluster.signal(f"kubelet:{victim}", signal.SIGCONT)
        resumed = time.monotonic()
        took = await converge(settings, ledger, nodes=cluster.nodes, deployments=WANT,
                              what="frozen kubelet resumed", since=resumed, timeout=120)
        final = await Snapshot.take(settings, cluster.nodes, None)
        assert {p["spec"].get("nodeName") for p in final.desired["pods"].values()} == {survivor}
        assert not [c for c in final.containers if c["node"] == victim and c["state"] == "running"]
        cluster.assert_alive()
        sampler.assert_no_excess()
    print(f"CONVERGENCE kubelet-freeze: evicted and recreated {evicted_in:.1f}s after SIGSTOP, "
          f"stale containers gone {took:.1f}s after SIGCONT")
