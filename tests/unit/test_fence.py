from aiokafka import TopicPartition
from aiokafka.structs import OffsetAndMetadata

from services.runtime.fence import lag


def test_fence_lag_counts_uncommitted_partitions_fully() -> None:
    a, b, c = (TopicPartition("t", p) for p in range(3))
    committed = {a: OffsetAndMetadata(5, ""), b: OffsetAndMetadata(-1, "")}
    assert lag({a: 5, b: 3, c: 0}, committed) == {a: 0, b: 3, c: 0}  # type: ignore[arg-type]
