"""`kafkube top`'s columns and formatting, as kubectl prints them; the latest current sample per key."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from schemas.meta import ObjectMeta
from schemas.metrics import ContainerMetrics, NodeMetrics, PodMetrics, Usage
from services.cli.top_table import node_rows, percent_cell, pod_table
from services.runtime.metrics_feed import LatestMetrics, decode

NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=timezone.utc)


def _pod(namespace: str, name: str, *containers: tuple[str, str, str], at: datetime = NOW) -> PodMetrics:
    return PodMetrics(metadata=ObjectMeta(name=name, namespace=namespace), timestamp=at, window="15s",
                      containers=[ContainerMetrics(name=n, usage=Usage(cpu=c, memory=m)) for n, c, m in containers])


def test_node_rows_show_millicores_mebibytes_and_shares_of_allocatable() -> None:
    sample = NodeMetrics(metadata=ObjectMeta(name="n1"), timestamp=NOW, window="15s",
                         usage=Usage(cpu="1250000001n", memory="524288Ki"))
    rows = node_rows([sample], {"n1": {"cpu": "2", "memory": "2Gi"}, "n2": {"cpu": "1", "memory": "1Gi"}})
    assert rows == [["n1", "1251m", "62%", "512Mi", "25%"],
                    ["n2", "<unknown>", "<unknown>", "<unknown>", "<unknown>"]]
    assert percent_cell(999, 1000) == "99%"  # truncated, as kubectl's int64()


def test_pod_table_sums_containers_or_lists_them() -> None:
    pods = [_pod("default", "web", ("app", "100000000n", "10240Ki"), ("sidecar", "1500000n", "2048Ki"))]
    assert pod_table(pods, containers=False, namespaces=False) == (
        ["NAME", "CPU(cores)", "MEMORY(bytes)"], [["web", "102m", "12Mi"]])
    headers, rows = pod_table(pods, containers=True, namespaces=True)
    assert headers == ["NAMESPACE", "POD", "NAME", "CPU(cores)", "MEMORY(bytes)"]
    assert rows == [["default", "web", "app", "100m", "10Mi"], ["default", "web", "sidecar", "2m", "2Mi"]]


def test_latest_keeps_the_newest_current_sample_per_key() -> None:
    latest = LatestMetrics()
    latest.add(_pod("default", "web", ("app", "2n", "1Ki"), at=NOW - timedelta(seconds=5)))
    latest.add(_pod("default", "web", ("app", "1n", "1Ki"), at=NOW - timedelta(seconds=20)))  # older: ignored
    latest.add(_pod("other", "db", ("db", "3n", "1Ki"), at=NOW - timedelta(seconds=46)))  # > 3 windows: stale
    assert [(p.metadata.name, p.containers[0].usage.cpu) for p in latest.pods(NOW)] == [("web", "2n")]
    assert latest.pods(NOW, "other") == []
    assert latest.pods(NOW - timedelta(seconds=10), "other")[0].metadata.name == "db"


def test_records_decode_by_kind_and_others_are_skipped() -> None:
    node = NodeMetrics(metadata=ObjectMeta(name="n1"), timestamp=NOW, window="1s", usage=Usage(cpu="1n", memory="1Ki"))
    assert decode(node.model_dump_json(by_alias=True, exclude_none=True).encode()) == node
    assert decode(b'{"kind": "Nothing"}') is None
    assert decode(None) is None
