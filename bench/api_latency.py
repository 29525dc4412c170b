"""Benchmark 3: API write latency, from a manifest published on kafkube.manifests to
its answer on kafkube.events, at steady offered loads (default 100 and 1,000 writes/s).

    .venv/bin/python -m bench.api_latency [--rates 100,1000] [--seconds 20] [--replicas 1] [--partitions 6]

With --replicas 2 the API runs as two processes sharing the partitions (DESIGN §3.4).
"""

from __future__ import annotations

import argparse
import asyncio
import time
from uuid import uuid4

import orjson
from aiokafka import TopicPartition

from bench.common import Service, fresh_settings, percentile, report
from schemas.records import REQUEST_ID_ANNOTATION, REQUEST_ID_HEADER
from services.runtime.bus import make_consumer, make_producer, partitions_of
from services.runtime.config import Settings
from services.runtime.identity import token_headers
from services.runtime.topics import Topics


def manifest(i: int) -> bytes:
    return orjson.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"cm-{i}"},
                         "data": {"n": str(i)}})


async def collect(settings: Settings, sent: dict[str, float], latencies: list[float], expected: int) -> None:
    topic = Topics(settings.topic_prefix).events
    consumer = make_consumer(settings)
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in await partitions_of(consumer, topic)]
        consumer.assign(tps)
        await consumer.seek_to_end(*tps)
        while len(latencies) < expected:
            for records in (await consumer.getmany(timeout_ms=100)).values():
                now = time.monotonic()
                for record in records:
                    rid = orjson.loads(record.value)["metadata"].get("annotations", {}).get(REQUEST_ID_ANNOTATION)
                    if rid in sent:
                        latencies.append((now - sent.pop(rid)) * 1000)
    finally:
        await consumer.stop()


async def run_rate(settings: Settings, rate: int, seconds: float, offset: int) -> dict[str, object]:
    sent: dict[str, float] = {}
    latencies: list[float] = []
    total = int(rate * seconds)
    collector = asyncio.create_task(collect(settings, sent, latencies, total))
    await asyncio.sleep(1)
    topic = Topics(settings.topic_prefix).manifests
    start = time.monotonic()
    async with make_producer(settings) as producer:
        for i in range(total):
            due = start + i / rate
            if (delay := due - time.monotonic()) > 0:
                await asyncio.sleep(delay)
            rid = uuid4().hex
            sent[rid] = time.monotonic()
            await producer.send(topic, value=manifest(offset + i), key=f"default/cm-{offset + i}".encode(),
                                headers=[(REQUEST_ID_HEADER, rid.encode()), *token_headers(settings)])
        await producer.flush()
    offered = total / (time.monotonic() - start)
    try:
        await asyncio.wait_for(collector, timeout=60)
    except asyncio.TimeoutError:
        pass
    elapsed = time.monotonic() - start
    return {"target_writes_per_s": rate, "offered_writes_per_s": round(offered), "answered": len(latencies),
            "achieved_per_s": round(len(latencies) / elapsed), "p50_ms": percentile(latencies, 50),
            "p90_ms": percentile(latencies, 90), "p99_ms": percentile(latencies, 99),
            "max_ms": max(latencies, default=float("nan"))}


async def main(rates: list[int], seconds: float, replicas: int, partitions: int) -> None:
    settings = await fresh_settings(partitions)
    apis = [Service(settings, "api", "--log-level", "WARNING") for _ in range(replicas)]
    try:
        await run_rate(settings, 50, 3, 10_000_000)  # warm-up: partitions owned, caches hot
        rows = []
        for n, rate in enumerate(rates):
            rows.append(await run_rate(settings, rate, seconds, n * 1_000_000))
            rows[-1]["replicas"] = replicas
            rows[-1]["api_rss_mib"] = round(sum(api.rss_mib() for api in apis), 1)
        name = "api_latency" + (f"_{replicas}_replicas" if replicas != 1 else "") \
            + (f"_{partitions}_partitions" if partitions != 6 else "")
        report(name, rows, {"seconds": seconds, "partitions": settings.partitions, "replicas": replicas,
                            "kind": "ConfigMap create, one answer event each"})
    finally:
        for api in apis:
            api.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rates", default="100,1000")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--replicas", type=int, default=1)
    parser.add_argument("--partitions", type=int, default=6)
    args = parser.parse_args()
    asyncio.run(main([int(r) for r in args.rates.split(",")], args.seconds, args.replicas, args.partitions))
