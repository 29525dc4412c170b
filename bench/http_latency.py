"""Benchmark 3b: API write latency through the HTTP API, as kubectl meets it: a ConfigMap
POSTed to `serve apiserver` (HTTPS, the admin's bearer token) until its 201 with the object
as stored, at steady offered loads (default 10 and 100 writes/s, open loop: a write is not
held back by a slow one before it).

    .venv/bin/python -m bench.http_latency [--rates 10,100] [--seconds 20] [--partitions 6]

The path: the apiserver's WriteRequest on kafkube.requests, the API's transaction, its
answer on kafkube.events, then the apiserver's store holding the answered version. Each row
also gives the mean of every stage of that path over the rate's writes, from the two
services' /metrics (`apiserver_write_stage_duration_seconds`: request, answer, stored;
`kafkube_transaction_stage_duration_seconds` of api-writer: waited, process, produce,
offsets, commit). `answer` runs from the request's acknowledgement and so holds the last
part of `waited` (which starts at the request's timestamp), the four transaction stages,
the markers and the apiserver's fetch of the answer.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import ssl
import time

import aiohttp

from bench.common import Service, free_address, fresh_settings, percentile, report, secure_cluster
from bench.stages import APISERVER, stage_means, stage_totals, transaction_columns

READY_S = 180.0


def _serve_apiserver_env(address: str) -> None:
    """The apiserver of this run at `address`, with the run's serving certificate."""
    credentials = secure_cluster()
    os.environ.update(KAFKUBE_APISERVER_ADDRESS=address,
                      KAFKUBE_APISERVER_CERT_FILE=str(credentials / "apiserver.crt"),
                      KAFKUBE_APISERVER_KEY_FILE=str(credentials / "apiserver.key"),
                      KAFKUBE_APISERVER_CLIENT_CA_FILE=str(credentials / "ca.crt"))


def _session() -> aiohttp.ClientSession:
    credentials = secure_cluster()
    token = (credentials / "tokens" / "admin.token").read_text().strip()
    tls = ssl.create_default_context(cafile=str(credentials / "ca.crt"))
    return aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"},
                                 connector=aiohttp.TCPConnector(ssl=tls, limit=0))


async def _ready(session: aiohttp.ClientSession, base: str) -> None:
    deadline = time.monotonic() + READY_S
    while True:
        try:
            async with session.get(f"{base}/api/v1/namespaces/default") as answer:
                if answer.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        if time.monotonic() > deadline:
            raise SystemExit(f"the apiserver did not serve the default namespace within {READY_S:.0f} s")
        await asyncio.sleep(0.5)


COLUMNS = {**{f"{stage}_ms": (APISERVER, "", stage) for stage in ("request", "answer", "stored")},
           **transaction_columns("api-writer")}


async def _create(session: aiohttp.ClientSession, base: str, name: str, latencies: list[float],
                  failures: list[str]) -> None:
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"n": name}}
    start = time.monotonic()
    async with session.post(f"{base}/api/v1/namespaces/default/configmaps", json=body) as answer:
        stored = await answer.json()
    if answer.status != 201 or stored.get("data") != body["data"]:
        failures.append(f"{name}: {answer.status} {str(stored)[:200]}")
        return
    latencies.append((time.monotonic() - start) * 1000)


async def run_rate(session: aiohttp.ClientSession, base: str, rate: int, seconds: float,
                   prefix: str, metrics: list[str]) -> dict[str, object]:
    before = await stage_totals(metrics)
    latencies: list[float] = []
    failures: list[str] = []
    total = int(rate * seconds)
    writes = []
    start = time.monotonic()
    for i in range(total):
        if (delay := start + i / rate - time.monotonic()) > 0:
            await asyncio.sleep(delay)
        writes.append(asyncio.create_task(_create(session, base, f"{prefix}-{i}", latencies, failures)))
    offered = total / (time.monotonic() - start)
    await asyncio.gather(*writes)
    if failures:
        raise SystemExit(f"{len(failures)} writes failed, e.g. {failures[0]}")
    return {"target_writes_per_s": rate, "offered_writes_per_s": round(offered), "answered": len(latencies),
            "p50_ms": percentile(latencies, 50), "p90_ms": percentile(latencies, 90),
            "p99_ms": percentile(latencies, 99), "max_ms": max(latencies, default=float("nan")),
            **stage_means(before, await stage_totals(metrics), COLUMNS)}


async def main(rates: list[int], seconds: float, partitions: int) -> None:
    settings = await fresh_settings(partitions)
    apiserver = free_address()
    _serve_apiserver_env(apiserver)
    base = f"https://{apiserver}"
    metrics = [free_address() for _ in range(2)]
    services = [Service(settings, name, "--log-level", "WARNING", extra_env={"KAFKUBE_METRICS_ADDRESS": address})
                for name, address in zip(("api", "apiserver"), metrics)]
    try:
        async with _session() as session:
            await _ready(session, base)
            await run_rate(session, base, 20, 3, "warm", metrics)  # partitions owned, connections, caches warm
            rows = [await run_rate(session, base, rate, seconds, f"r{rate}", metrics) for rate in rates]
        report("http_latency" + (f"_{partitions}_partitions" if partitions != 6 else ""), rows,
               {"seconds": seconds, "partitions": partitions,
                "kind": "ConfigMap POST through serve apiserver (HTTPS, bearer token) until its 201"})
    finally:
        for service in services:
            service.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rates", default="10,100")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--partitions", type=int, default=6)
    args = parser.parse_args()
    asyncio.run(main([int(r) for r in args.rates.split(",")], args.seconds, args.partitions))
