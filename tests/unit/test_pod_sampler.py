"""The fault suite's duplicate-pod check (`tests/faults/invariants.py`, PodSampler): what
it flags, on hand-made samples."""

from __future__ import annotations

from services.runtime.config import Settings
from tests.faults.invariants import PodSampler

RS = "default/web-1"


def sampler(bounds: list[tuple[float, int]], counts: list[tuple[float, int]]) -> PodSampler:
    found = PodSampler(Settings())
    found.bounds = [(t, RS, n) for t, n in bounds]
    found.samples = [(t, RS, n) for t, n in counts]
    return found


def test_a_pod_created_past_the_replicas_is_flagged() -> None:
    assert sampler([(0, 3)], [(1, 1), (2, 3), (3, 4)]).excess() == [f"ReplicaSet {RS} grew to 4 live pods, bound 3"]


def test_a_pod_created_past_a_smaller_bound_is_flagged_though_the_replicas_were_higher_before() -> None:
    found = sampler([(0, 3), (10, 1)], [(5, 3), (12, 1), (50, 1), (51, 2)])  # 41 s after the scale-down
    assert found.excess() == [f"ReplicaSet {RS} grew to 2 live pods, bound 1"]


def test_a_scale_down_under_way_is_not_a_duplicate() -> None:
    assert sampler([(0, 3), (10, 1)], [(5, 3), (12, 3), (20, 3), (25, 2), (26, 1)]).excess() == []


def test_pods_seen_before_their_scale_up_or_after_a_scale_down_within_the_lag_count() -> None:
    assert sampler([(0, 1), (10, 3)], [(6, 1), (7, 3), (11, 3)]).excess() == []  # the scale-up seen 3 s late
    assert sampler([(0, 3), (10, 1)], [(8, 2), (13, 3)]).excess() == []  # a replacement racing the scale-down
    assert sampler([(0, 3), (10, 1)], [(8, 1), (35, 2)]).excess() == []  # one made on a spec 25 s old


def test_a_replacement_after_a_pod_went_is_not_a_duplicate() -> None:
    assert sampler([(0, 2)], [(1, 2), (2, 1), (3, 2)]).excess() == []
