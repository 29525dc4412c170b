"""The scheduler's node ownership: nodes of a partition just assigned become usable only
after the fence; a fence that fails because the broker is briefly away (no metadata) is run
again until it passes, not given up (the replica would never bind onto those nodes again);
a revocation stops it."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka import TopicPartition
from aiokafka.errors import KafkaError

from services.runtime.config import Settings
from services.scheduler import ownership
from services.scheduler.ownership import NodeOwnership

TOPIC = "kafkube.desired.nodes"
ALL = {TopicPartition(TOPIC, p) for p in range(3)}


async def _drained(_revoked: object) -> None:
    return None


def owner(failures: int | None, changes: list[int]) -> tuple[NodeOwnership, list[int]]:
    """An owner whose fence fails `failures` times (None: always), and its fence calls."""
    calls: list[int] = []

    async def fence() -> None:
        calls.append(1)
        if failures is None or len(calls) <= failures:
            raise KafkaError("Unable to get cluster metadata over all known brokers")
    return NodeOwnership(Settings(bootstrap_servers="unused:9092", partitions=3), TOPIC, fence=fence,
                         drain=_drained, on_change=lambda: changes.append(1)), calls


async def test_a_failed_fence_is_run_again_until_the_nodes_are_usable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ownership, "FENCE_RETRY_S", 0.01)
    changes: list[int] = []
    nodes, calls = owner(2, changes)
    await nodes.on_partitions_assigned(ALL)
    assert not nodes.binds_anywhere  # nothing usable before the fence passed
    assert nodes._fencing is not None
    await asyncio.wait_for(nodes._fencing, 2)
    assert len(calls) == 3 and changes == [1]
    assert nodes.binds_anywhere and all(nodes.owns_node(f"node-{i}") for i in range(20))


async def test_a_revocation_stops_a_fence_that_keeps_failing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ownership, "FENCE_RETRY_S", 0.01)
    changes: list[int] = []
    nodes, calls = owner(None, changes)
    await nodes.on_partitions_assigned(ALL)
    await asyncio.sleep(0.1)
    assert len(calls) > 2 and not nodes.binds_anywhere
    await nodes.on_partitions_revoked(ALL)
    tried = len(calls)
    await asyncio.sleep(0.05)
    assert len(calls) == tried and nodes._fencing is None and changes == []
    assert not nodes.binds_anywhere and not nodes.reports_for("default/web")
