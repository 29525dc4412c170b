"""The kubelet's first relist waits for an engine that does not answer yet (dockerd
restarting under a kubelet that is just starting) instead of ending the kubelet; any
other failure still ends it."""

from __future__ import annotations

import pytest

from services.kubelet.cache import ContainerCache, first_relist
from services.kubelet.runtime.base import ContainerInfo
from services.kubelet.runtime.errors import RuntimeUnavailable
from services.kubelet.runtime.hollow import HollowRuntime
from services.runtime.retry import RETRY_MAX_S


class FlakyEngine(HollowRuntime):
    """Unreachable for the first `down` listings, then answers as a hollow node."""

    def __init__(self, down: int, error: Exception | None = None) -> None:
        super().__init__("n1")
        self.down, self.calls, self.error = down, 0, error

    async def list_managed(self) -> list[ContainerInfo]:
        self.calls += 1
        if self.calls <= self.down:
            raise self.error or RuntimeUnavailable("list containers of node n1: Cannot connect to Docker Engine")
        return await super().list_managed()


async def test_an_engine_down_at_start_is_waited_for_with_growing_pauses() -> None:
    engine = FlakyEngine(down=6)
    cache = ContainerCache(engine)
    pauses: list[float] = []

    async def sleep(seconds: float) -> None:
        pauses.append(seconds)

    await first_relist(cache, "n1", sleep=sleep)
    assert engine.calls == 7 and cache.listed
    assert pauses == [0.5, 1.0, 2.0, 4.0, RETRY_MAX_S, RETRY_MAX_S]


async def test_any_other_failure_still_ends_the_kubelet() -> None:
    engine = FlakyEngine(down=1, error=ValueError("a bug"))

    async def sleep(_seconds: float) -> None:
        raise AssertionError("not retried")

    with pytest.raises(ValueError, match="a bug"):
        await first_relist(ContainerCache(engine), "n1", sleep=sleep)
