"""Resource usage from Docker stats: working set, CPU rate from two samples, the pod and
node records the kubelet publishes."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from schemas.metrics import go_duration
from services.kubelet.runtime.base import ContainerInfo, PodRef, Role, UsageSample
from services.kubelet.runtime.docker_stats import usage_sample, working_set
from services.kubelet.usage import container_rates, cpu_nanocores, node_metrics, pod_metrics

T0 = datetime(2026, 1, 1, 12, 0, 0, tzinfo=timezone.utc)
POD = PodRef(namespace="default", name="burn", uid="u1")


def _container(cid: str, name: str, role: Role = "app") -> ContainerInfo:
    return ContainerInfo(id=cid, pod=POD, name=name, role=role, image="busybox", state="running")


def test_working_set_is_usage_less_inactive_file_under_cgroup_v1_and_v2() -> None:
    v1 = {"usage": 10 * 2**20, "stats": {"total_inactive_file": 2**20, "inactive_file": 5}}
    v2 = {"usage": 10 * 2**20, "stats": {"inactive_file": 3 * 2**20}}
    assert working_set(v1) == 9 * 2**20
    assert working_set(v2) == 7 * 2**20
    assert working_set({"usage": 100, "stats": {"inactive_file": 500}}) == 0


def test_a_docker_stats_answer_becomes_a_sample_and_a_stopped_container_none() -> None:
    answer = {"read": "2026-01-01T12:00:01.123456789Z", "cpu_stats": {"cpu_usage": {"total_usage": 42}},
              "memory_stats": {"usage": 4096, "stats": {"inactive_file": 1024}}}
    assert usage_sample(answer) == UsageSample(cpu_total_ns=42, working_set_bytes=3072,
                                               at=T0 + timedelta(seconds=1, microseconds=123456))
    stopped = {"read": "0001-01-01T00:00:00Z", "cpu_stats": {"cpu_usage": {"total_usage": 0}}, "memory_stats": {}}
    assert usage_sample(stopped) is None


def test_cpu_rate_is_cpu_time_over_wall_time_in_nanocores() -> None:
    before = UsageSample(cpu_total_ns=1_000_000_000, working_set_bytes=0, at=T0)
    after = UsageSample(cpu_total_ns=4_000_000_000, working_set_bytes=0, at=T0 + timedelta(seconds=2))
    assert cpu_nanocores(before, after) == 1_500_000_000  # 1.5 cores
    assert cpu_nanocores(after, before) is None  # time went back
    assert cpu_nanocores(before, before) is None


def test_rates_need_two_samples_of_the_same_container() -> None:
    app, sandbox = _container("c1", "app"), _container("s1", "POD", "infra")
    previous = {"c1": UsageSample(cpu_total_ns=0, working_set_bytes=0, at=T0),
                "s1": UsageSample(cpu_total_ns=0, working_set_bytes=0, at=T0)}
    later = T0 + timedelta(seconds=15)
    current = {"c1": (app, UsageSample(cpu_total_ns=3_000_000_000, working_set_bytes=8 * 2**20, at=later)),
               "s1": (sandbox, UsageSample(cpu_total_ns=15_000_000, working_set_bytes=2**20, at=later)),
               "new": (_container("new", "sidecar"), UsageSample(cpu_total_ns=5, working_set_bytes=1, at=later))}
    rates = container_rates(previous, current)
    assert {(r.container.id, r.nanocores, r.window_s) for r in rates} == {("c1", 200_000_000, 15.0),
                                                                            ("s1", 1_000_000, 15.0)}

    pods = pod_metrics(rates, {"default/burn": {"app": "burn"}})
    record = pods["default/burn"]
    meta = record.metadata
    assert (meta.namespace, meta.name, meta.labels) == ("default", "burn", {"app": "burn"})
    assert [(c.name, c.usage.cpu, c.usage.memory) for c in record.containers] == [("app", "200000000n", "8192Ki")]
    assert (record.timestamp, record.window) == (later, "15s")

    node = node_metrics("n1", rates, at=later, window_s=15.002)
    assert (node.usage.cpu, node.usage.memory, node.window) == ("201000000n", "9216Ki", "15.002s")
    dumped = node.model_dump(mode="json", by_alias=True, exclude_none=True)
    assert dumped["apiVersion"] == "metrics.k8s.io/v1beta1" and dumped["kind"] == "NodeMetrics"


def test_windows_are_written_as_go_durations() -> None:
    assert [go_duration(s) for s in (15.0, 1.5, 20.0481)] == ["15s", "1.5s", "20.048s"]
