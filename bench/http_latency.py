"""Benchmark 3b: API write latency through the HTTP API, as kubectl meets it: a ConfigMap
POSTed to `serve apiserver` (HTTPS, the admin's bearer token) until its 201 with the object
as stored, at steady offered loads (default 10 and 100 writes/s, open loop: a write is not
held back by a slow one before it).

    .venv/bin/python -m bench.http_latency [--rates 10,100] [--seconds 20] [--partitions 6]

The path: the apiserver's WriteRequest on kafkube.requests, the API's transaction, its
answer on kafkube.events, then the apiserver's store holding the answered version.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import ssl
import time

import aiohttp

from bench.common import Service, fresh_settings, percentile, report, secure_cluster

READY_S = 180.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _serve_apiserver_env(port: int) -> None:
    """The apiserver of this run on `port`, with the run's serving certificate."""
    credentials = secure_cluster()
    os.environ.update(KAFKUBE_APISERVER_ADDRESS=f"127.0.0.1:{port}",
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
                   prefix: str) -> dict[str, object]:
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
            "p99_ms": percentile(latencies, 99), "max_ms": max(latencies, default=float("nan"))}


async def main(rates: list[int], seconds: float, partitions: int) -> None:
    settings = await fresh_settings(partitions)
    port = _free_port()
    _serve_apiserver_env(port)
    base = f"https://127.0.0.1:{port}"
    services = [Service(settings, "api", "--log-level", "WARNING"),
                Service(settings, "apiserver", "--log-level", "WARNING")]
    try:
        async with _session() as session:
            await _ready(session, base)
            await run_rate(session, base, 20, 3, "warm")  # partitions owned, connections and caches warm
            rows = [await run_rate(session, base, rate, seconds, f"r{rate}") for rate in rates]
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
