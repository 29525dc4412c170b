"""Our murmur2 is aiokafka's (Java's), the kept key hashes pick the partitions Kafka's
default partitioner picks, for any key, and a record without a key goes to some partition."""

from __future__ import annotations

from aiokafka.partitioner import DefaultPartitioner
from aiokafka.partitioner import murmur2 as aiokafka_murmur2
from hypothesis import example, given
from hypothesis import strategies as st

from services.runtime.bus import key_partitioner, murmur2, partition_for


@given(st.binary(max_size=300))
@example(b"")  # no words, then tails of 1, 2 and 3 bytes
@example(b"abcde")
@example(b"abcdef")
@example(b"abcdefg")
@example(b"\xff" * 7)  # high bytes: no sign trouble
def test_murmur2_is_kafkas(data: bytes) -> None:
    assert murmur2(data) == aiokafka_murmur2(data)


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
