"""The metrics module's pure parts: the address, the health answers, the gauges read
from live objects at scrape time, the work queue's counters, and the HTTP endpoints
(served by aiohttp's test server, scraped and parsed as Prometheus would)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import cast

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from aiokafka import TopicPartition
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from services.runtime.config import Settings
from services.runtime.metrics import LIVE, Durations, LiveObjects, live_metrics
from services.runtime.address import BadAddress, parse_address
from services.runtime.metrics_http import health_answer, metrics_app, request_metrics
from services.runtime.transactional import ProcessorFactory, TransactionalLoop, _Owned
from services.runtime.workqueue import WorkQueue


@dataclass(eq=False)
class FakeQueue:
    name: str
    depth: int

    def __len__(self) -> int:
        return self.depth


@dataclass(eq=False)
class FakeInformer:
    name: str
    synced: bool


@dataclass(eq=False)
class FakeLoop:
    group: str
    ready: bool
    behind: Mapping[int, int] = field(default_factory=dict)

    def lags(self) -> Mapping[int, int]:
        return self.behind


def samples(live: LiveObjects) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value for family in live_metrics(live) for s in family.samples}


@pytest.mark.parametrize(("address", "parsed"), [
    ("127.0.0.1:0", ("127.0.0.1", 0)), ("0.0.0.0:9100", ("0.0.0.0", 9100)), ("[::1]:9100", ("::1", 9100)),
    ("localhost:8080", ("localhost", 8080))])
def test_an_address_is_host_and_port(address: str, parsed: tuple[str, int]) -> None:
    assert parse_address(address) == parsed


@pytest.mark.parametrize("address", ["9100", ":9100", "host:", "host:http", "host:70000"])
def test_a_bad_address_is_refused_naming_the_variable(address: str) -> None:
    with pytest.raises(BadAddress, match="KAFKUBE_METRICS_ADDRESS"):
        parse_address(address)


def test_health_is_ok_or_lists_what_fails() -> None:
    assert (health_answer([], "readyz").status, health_answer([], "readyz").text) == (200, "ok")
    failing = health_answer(["informer:pods", "partitions:api"], "readyz")
    assert failing.status == 500
    assert failing.text == "[-]informer:pods failed\n[-]partitions:api failed\nreadyz check failed"


def test_readiness_waits_for_every_informer_and_loop_and_liveness_for_every_component() -> None:
    live = LiveObjects(set(), {FakeInformer("pods", True), FakeInformer("nodes", False)},
                       {FakeLoop("api-requests", False), FakeLoop("api-intake", True)}, {})
    assert live.not_ready() == ["informer:nodes", "partitions:api-requests"]
    assert live.not_live() == []


async def test_a_component_that_ended_is_not_live() -> None:
    ended = asyncio.create_task(asyncio.sleep(0))
    await ended
    running = asyncio.create_task(asyncio.sleep(60))
    live = LiveObjects(set(), set(), set(), {"informer": ended, "worker": running})
    assert live.not_live() == ["informer"]
    running.cancel()


def test_state_gauges_sum_queues_and_require_every_informer_of_a_name() -> None:
    live = LiveObjects({FakeQueue("kubelet", 2), FakeQueue("kubelet", 3), FakeQueue("scheduler", 0)},
                       {FakeInformer("fleet", True), FakeInformer("fleet", False), FakeInformer("api", True)},
                       {FakeLoop("api-requests", True, {0: 5, 2: 0})}, {})
    got = samples(live)
    assert got[("workqueue_depth", (("name", "kubelet"),))] == 5
    assert got[("workqueue_depth", (("name", "scheduler"),))] == 0
    assert got[("kafkube_informer_synced", (("name", "fleet"),))] == 0
    assert got[("kafkube_informer_synced", (("name", "api"),))] == 1
    assert got[("kafkube_partitions_owned", (("group", "api-requests"),))] == 2
    assert got[("kafkube_consumer_lag", (("group", "api-requests"), ("partition", "0")))] == 5


async def test_a_work_queue_counts_adds_results_and_durations_under_its_name() -> None:
    queue = WorkQueue(name="unit-test-queue", base_delay_s=0.01)
    attempts: list[str] = []

    async def fails_once(key: str) -> None:
        attempts.append(key)
        if len(attempts) == 1:
            raise RuntimeError("first try")

    def value(name: str, **labels: str) -> float:
        return REGISTRY.get_sample_value(name, {"name": "unit-test-queue", **labels}) or 0.0

    queue.add("a")
    workers = asyncio.create_task(queue.run_workers(fails_once, workers=1))
    while len(attempts) < 2:
        await asyncio.sleep(0.01)
    workers.cancel()
    assert value("workqueue_adds_total") == 2  # the add and the retry's
    assert value("workqueue_work_duration_seconds_count") == 2
    reconciles = {result: REGISTRY.get_sample_value("kafkube_reconcile_total",
                                                    {"controller": "unit-test-queue", "result": result})
                  for result in ("success", "error")}
    assert reconciles == {"success": 1, "error": 1}


def test_durations_keep_a_histogram_per_label_values_and_refuse_missing_ones() -> None:
    stages = Durations("unit_test_stage_seconds", "test", buckets=(0.001, 0.01), labels=("group", "stage"))
    produce = stages.labels("g", "produce")
    for seconds in (0.0005, 0.005, 0.005, 2.0):
        produce.observe(seconds)
    stages.labels("g", "commit").observe(0.001)  # on a bound: counted in that bucket, as Prometheus' `le`

    def sample(name: str, **labels: str) -> float | None:
        return REGISTRY.get_sample_value(name, labels)

    assert [sample("unit_test_stage_seconds_bucket", group="g", stage="produce", le=le)
            for le in ("0.001", "0.01", "+Inf")] == [1, 3, 4]
    assert sample("unit_test_stage_seconds_sum", group="g", stage="produce") == pytest.approx(2.0105)
    assert sample("unit_test_stage_seconds_bucket", group="g", stage="commit", le="0.001") == 1
    with pytest.raises(ValueError, match="group"):
        stages.labels("g")
    with pytest.raises(ValueError, match="labels"):
        stages.observe(0.1)  # a labelled histogram is observed through a bound series
    unlabelled = Durations("unit_test_plain_seconds", "test", buckets=(0.1,))
    assert sample("unit_test_plain_seconds_count") == 0  # exported before its first observation
    unlabelled.observe(0.05)
    assert sample("unit_test_plain_seconds_count") == 1


async def test_the_endpoints_serve_prometheus_text_and_health() -> None:
    live = LiveObjects({FakeQueue("q", 1)}, {FakeInformer("pods", False)}, set(), {})
    async with TestClient(TestServer(metrics_app(live))) as client:
        metrics = await client.get("/metrics")
        assert metrics.status == 200 and metrics.headers["Content-Type"].startswith("text/plain")
        names = {family.name for family in text_string_to_metric_families(await metrics.text())}
        assert {"workqueue_depth", "kafkube_api_answers", "apiserver_request_duration_seconds",
                "scheduler_schedule_attempts", "kubelet_pod_start_duration_seconds"} <= names
        assert (await client.get("/healthz")).status == 200
        readyz = await client.get("/readyz")
        assert readyz.status == 500 and "[-]informer:pods failed" in await readyz.text()
        live.informers.clear()
        assert (await client.get("/readyz")).status == 200


async def test_the_http_api_middleware_counts_requests_by_verb_and_code() -> None:
    async def ok(_request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application(middlewares=[request_metrics])
    app.router.add_route("*", "/thing", ok)

    def count(verb: str, code: str) -> float:
        return REGISTRY.get_sample_value("apiserver_request_total", {"verb": verb, "code": code}) or 0.0

    before = {key: count(*key) for key in (("WATCH", "200"), ("GET", "404"), ("OTHER", "200"))}
    async with TestClient(TestServer(app)) as client:
        assert (await client.get("/thing?watch=true")).status == 200
        assert (await client.get("/nothing")).status == 404  # aiohttp's own HTTPNotFound
        assert (await client.request("PROPFIND", "/thing")).status == 200  # WebDAV: no label of its own
    assert {key: count(*key) - value for key, value in before.items()} == {
        ("WATCH", "200"): 1, ("GET", "404"): 1, ("OTHER", "200"): 1}


@dataclass
class FakeConsumer:
    given: set[TopicPartition]
    high: dict[TopicPartition, int]

    def assignment(self) -> set[TopicPartition]:
        return self.given

    def highwater(self, tp: TopicPartition) -> int | None:
        return self.high.get(tp)


def test_a_transactional_loop_is_ready_once_it_owns_every_partition_it_was_given() -> None:
    no_processor = cast(ProcessorFactory, None)  # never called: the loop does not run
    loop = TransactionalLoop(Settings(), "requests", group="unit-test-loop", factory=no_processor)
    try:
        assert not loop.ready  # not a member yet
        given = {TopicPartition("requests", 0), TopicPartition("requests", 1)}
        loop._consumer = FakeConsumer(given, {TopicPartition("requests", 0): 12})  # type: ignore[assignment]
        loop._assigned = True
        loop._owned[0] = _Owned(None, None, committed=10)  # type: ignore[arg-type]
        assert not loop.ready  # partition 1 not owned (loaded) yet
        loop._owned[1] = _Owned(None, None, committed=3)  # type: ignore[arg-type]
        assert loop.ready
        assert loop.lags() == {0: 2, 1: 0}  # partition 1: no fetch yet, nothing known behind
    finally:
        LIVE.loops.discard(loop)
