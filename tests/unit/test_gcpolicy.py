"""The services' GC policy: survivors of a full collection are frozen (later
collections skip them), and thawed again once `thaw_every_s` has passed so cycles
that died frozen are reclaimed."""

from __future__ import annotations

import gc

import pytest

from services.runtime import gcpolicy


class Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the collector frees it


def test_survivors_of_a_full_collection_are_frozen_then_thawed() -> None:
    policy = gcpolicy.install(thaw_every_s=3600)
    try:
        live = [Node() for _ in range(100)]
        gc.collect()
        frozen = gc.get_freeze_count()
        assert frozen >= len(live)
        gc.collect(0)  # a young collection leaves the frozen heap alone
        assert gc.get_freeze_count() == frozen
        policy.thaw_every_s = 0  # due: the next full collection thaws instead
        gc.collect()
        assert gc.get_freeze_count() == 0
    finally:
        gcpolicy.uninstall(policy)
    assert policy not in gc.callbacks and gc.get_freeze_count() == 0


def test_a_cycle_that_dies_frozen_is_reclaimed_after_the_thaw() -> None:
    policy = gcpolicy.install(thaw_every_s=3600)
    try:
        node = Node()
        gc.collect()  # node survives: frozen
        probe = __import__("weakref").ref(node)
        del node
        gc.collect()
        assert probe() is not None  # frozen: the collector does not see the dead cycle
        policy.thaw_every_s = 0
        gc.collect()  # thaws
        gc.collect()  # walks everything: the cycle goes
        assert probe() is None
    finally:
        gcpolicy.uninstall(policy)


def test_replays_hold_the_collector_until_the_last_one_ends() -> None:
    assert gcpolicy.ReplayHold()._held is False and gc.isenabled()  # no policy: no hold
    policy = gcpolicy.install(thaw_every_s=3600)
    try:
        first, second = gcpolicy.ReplayHold(), gcpolicy.ReplayHold()
        assert not gc.isenabled()
        first.release()
        first.release()  # idempotent: the second replay still holds
        assert not gc.isenabled()
        live = [Node() for _ in range(100)]
        second.release()
        assert gc.isenabled() and gc.get_freeze_count() >= len(live)  # frozen as they stand
    finally:
        gcpolicy.uninstall(policy)
        gc.enable()


async def test_an_informer_that_fails_before_it_synced_lets_the_collector_go() -> None:
    from services.runtime.config import Settings
    from services.runtime.informer import Informer

    class Broken:
        async def getmany(self, **_: object) -> dict[object, object]:
            raise OSError("broker gone")

    policy = gcpolicy.install(thaw_every_s=3600)
    try:
        informer: Informer[object] = Informer(Settings(), ["t.desired.pods"])
        informer._replay = gcpolicy.ReplayHold()
        assert not gc.isenabled()
        with pytest.raises(OSError):
            await informer._run(Broken())  # type: ignore[arg-type]
        assert gc.isenabled()
    finally:
        gcpolicy.uninstall(policy)
        gc.enable()
