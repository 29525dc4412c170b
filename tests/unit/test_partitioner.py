"""The kept key hashes pick the partitions Kafka's default partitioner (aiokafka's, as
Java's) picks, for any key, and a record without a key goes to some partition."""

from __future__ import annotations

from aiokafka.partitioner import DefaultPartitioner
from hypothesis import given
from hypothesis import strategies as st

from services.runtime.bus import key_partitioner, partition_for


@given(st.binary(max_size=300), st.integers(min_value=1, max_value=64))
def test_keyed_records_go_where_kafkas_default_partitioner_sends_them(key: bytes, count: int) -> None:
    partitions = list(range(count))
    assert key_partitioner(key, partitions, partitions) == DefaultPartitioner()(key, partitions, partitions)
    assert key_partitioner(key, partitions, partitions) == key_partitioner(key, partitions, [])  # kept: the same


@given(st.text(max_size=200), st.integers(min_value=1, max_value=64))
def test_partition_for_agrees_with_the_producer(key: str, count: int) -> None:
    partitions = list(range(count))
    assert partition_for(key, count) == DefaultPartitioner()(key.encode(), partitions, partitions)


def test_a_record_without_a_key_goes_to_an_available_partition() -> None:
    assert key_partitioner(None, [0, 1, 2], [2]) == 2
    assert key_partitioner(None, [0, 1, 2], []) in (0, 1, 2)
