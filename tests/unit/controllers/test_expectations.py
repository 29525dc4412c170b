"""The one Expectations of the controller machinery: tokens pending under a key until
seen, lowered or expired (the workload executors), and `fresh` for tokens that name
the version decided on (the cluster controllers)."""

from __future__ import annotations

from hypothesis import given, strategies as st

from services.controllers.machinery.expectations import Expectations


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_tokens_stay_pending_until_seen_lowered_or_expired() -> None:
    clock = Clock()
    exp = Expectations(ttl_s=10, clock=clock)
    exp.expect("ns/web", [("create", "a"), ("create", "b")])
    seen = {("create", "a")}
    clock.now = 1
    assert not exp.met("ns/web", lambda t: t in seen)
    assert exp.pending("ns/web") == 1
    seen.add(("create", "b"))
    assert exp.met("ns/web", lambda t: t in seen)
    assert exp.pending("ns/web") == 0
    clock.now = 3
    exp.expect("ns/web", [("create", "c")])
    clock.now = 5
    assert not exp.met("ns/web", lambda t: False)
    clock.now = 13
    assert exp.met("ns/web", lambda t: False)  # expired: a write the API refused never shows
    clock.now = 20
    exp.expect("ns/web", [("create", "d")])
    exp.lower("ns/web", [("create", "d")])  # failed to send
    assert exp.met("ns/web", lambda t: False)
    exp.expect("ns/web", [("create", "e")])
    exp.forget("ns/web")  # the object is gone
    assert exp.met("ns/web", lambda t: False)


def test_fresh_asks_once_per_version_until_it_expires() -> None:
    clock = Clock()
    exp = Expectations(ttl_s=10, clock=clock)
    assert exp.fresh(("delete", "a", "5"))
    assert not exp.fresh(("delete", "a", "5"))
    assert exp.fresh(("delete", "a", "6"))  # a new version is a new decision
    clock.now = 11
    assert exp.fresh(("delete", "a", "5"))  # lost? ask again
    exp.forget(("delete", "a", "5"))
    assert exp.fresh(("delete", "a", "5"))


def test_expired_keys_are_pruned_when_there_are_many() -> None:
    clock = Clock()
    exp = Expectations(ttl_s=1, clock=clock)
    for i in range(10_001):
        exp.expect(f"k{i}", ["t"])
    clock.now = 2
    exp.expect("new", ["t"])
    assert exp.pending("k0") == 0 and exp.pending("new") == 1


@given(tokens=st.sets(st.integers(0, 20), min_size=1), seen=st.sets(st.integers(0, 20)),
       elapsed=st.floats(0, 20, allow_nan=False))
def test_met_only_when_every_token_is_seen_or_the_ttl_passed(tokens: set[int], seen: set[int],
                                                            elapsed: float) -> None:
    clock = Clock()
    exp = Expectations(ttl_s=10, clock=clock)
    exp.expect("k", tokens)
    clock.now = elapsed
    assert exp.met("k", lambda t: t in seen) == (tokens <= seen or elapsed >= 10)
