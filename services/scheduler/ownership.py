"""Node ownership for scale-out: the scheduler replicas form one consumer group on
`kafkube.desired.nodes`. A replica may bind pods only onto the nodes whose
partition it owns, so every node has one binder and one capacity account.

Handover is ordered: on revocation the replica stops binding onto those nodes at
once and waits (bounded) until its in-flight binds there are visible on
`kafkube.desired.pods`; on assignment it first runs the fence (every request so
far applied by the API, then its pods view caught up) before it binds onto the
new nodes. The group also picks one
*reporter* per pod (the owner of the pod key's partition), so FailedScheduling
events and conditions are written once. See README.md.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from aiokafka import ConsumerRebalanceListener, TopicPartition

from services.runtime.bus import partition_for
from services.runtime.config import Settings
from services.runtime.fence import FENCE_RETRY_S
from services.runtime.logging import get_logger
from services.runtime.ownership import hold_membership

log = get_logger(__name__)


class NodeOwnership(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, settings: Settings, topic: str, *,
                 fence: Callable[[], Awaitable[None]],
                 drain: Callable[[Callable[[str], bool]], Awaitable[None]],
                 on_change: Callable[[], None]) -> None:
        self._settings = settings
        self._topic = topic
        self._fence = fence  # wait until the pods view holds every bind made so far
        self._drain = drain  # wait until own binds onto the nodes matching are visible
        self._on_change = on_change
        self._partitions = settings.partitions
        self._assigned: set[int] = set()
        self._usable: set[int] = set()
        self._fencing: asyncio.Task[None] | None = None

    # -- queries (called by the worker) ------------------------------------------------
    def owns_node(self, node: str) -> bool:
        return partition_for(node, self._partitions) in self._usable

    @property
    def binds_anywhere(self) -> bool:
        """Some node is ours to bind onto (assigned and fenced)."""
        return bool(self._usable)

    def reports_for(self, pod_key: str) -> bool:
        return partition_for(pod_key, self._partitions) in self._assigned

    # -- the group member ------------------------------------------------------------
    async def run(self) -> None:
        try:
            await hold_membership(self._settings, self._topic, group="scheduler", listener=self,
                                  on_partitions=self._set_partitions)
        finally:
            await self._cancel_fence()

    def _set_partitions(self, count: int) -> None:
        self._partitions = count

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        lost = {tp.partition for tp in revoked}
        await self._cancel_fence()
        self._usable -= lost
        self._assigned -= lost
        log.info("ownership.revoked", partitions=sorted(lost))
        partitions = self._partitions
        await self._drain(lambda node: partition_for(node, partitions) in lost)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        gained = {tp.partition for tp in assigned}
        self._assigned |= gained
        self._fencing = asyncio.create_task(self._take(gained), name="scheduler-fence")

    async def _take(self, gained: set[int]) -> None:
        while True:
            try:
                await self._fence()
                break
            except Exception as exc:  # the broker briefly away (no metadata): the nodes stay unusable, try again
                log.warning("ownership.fence_failed", error=f"{exc.__class__.__name__}: {exc}"[:300],
                            retry_s=FENCE_RETRY_S)
                await asyncio.sleep(FENCE_RETRY_S)
        self._usable |= gained & self._assigned
        log.info("ownership.assigned", partitions=sorted(self._usable))
        self._on_change()

    async def _cancel_fence(self) -> None:
        if self._fencing is not None:
            self._fencing.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._fencing
            self._fencing = None
