"""The takeover fence: before a replica acts on keys it just took over, every request
already on `kafkube.requests` (a crashed former owner's included) must have been
applied by the API, so that the view the replica then catches up to shows them.
Without it, a new owner could decide on a state that the old owner's in-flight writes
are about to change (a pod created twice under two names, a bind onto a full node).

"Applied" is read from the API request writer's committed offsets (it commits them
in the transaction that writes the desired record). A partition ending in a
transaction marker leaves the committed offset one short of the end offset for
good, so one short is accepted after a grace period. Used by the scheduler and the
controllers when their partition ownership changes.
"""

from __future__ import annotations

import asyncio
import time

from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from services.runtime.bus import make_admin, make_consumer, partitions_of
from services.runtime.config import Settings
from services.runtime.logging import get_logger

log = get_logger(__name__)
API_WRITER_GROUP = "api-writer"  # services.api.service: the one writer of desired state
MARKER_GRACE_S = 2.0
FENCE_RETRY_S = 1.0  # a fence that failed (the broker away: no metadata) is run again after this long
POLL_S = 0.2


async def wait_requests_applied(settings: Settings, topic: str) -> None:
    """Return once the API has applied every request written to `topic` before now."""
    consumer = make_consumer(settings)
    admin = make_admin(settings)
    await consumer.start()
    try:
        await admin.start()
        tps = [TopicPartition(topic, p) for p in sorted(await partitions_of(consumer, topic))]
        end = await consumer.end_offsets(tps)
        await _wait(admin, settings.group_id(API_WRITER_GROUP), end)
    finally:
        await admin.close()
        await consumer.stop()


async def _wait(admin: AIOKafkaAdminClient, group: str, end: dict[TopicPartition, int]) -> None:
    one_short_since: float | None = None
    while True:
        committed = await admin.list_consumer_group_offsets(group, partitions=list(end))
        behind = max(lag(end, committed).values(), default=0)
        if behind <= 0:
            return
        if behind == 1:
            one_short_since = one_short_since or time.monotonic()
            if time.monotonic() - one_short_since >= MARKER_GRACE_S:
                return
        else:
            one_short_since = None
        await asyncio.sleep(POLL_S)


def lag(end: dict[TopicPartition, int], committed: dict[TopicPartition, object]) -> dict[TopicPartition, int]:
    """Per partition, how many offsets the group still has to consume (no commit: all)."""
    out = {}
    for tp, last in end.items():
        meta = committed.get(tp)
        done = getattr(meta, "offset", -1) if meta is not None else -1
        out[tp] = last - max(done, 0)
    return out
