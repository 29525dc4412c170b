"""The reverse proxy (services/ingress/forward.py) on real loopback sockets: round-robin
over a Service's backends, the next backend when one refuses, 404/503/502 of its own,
X-Forwarded-* and hop-by-hop headers, and any Host/path answered without a server error."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.ingress.forward import Forwarder
from services.ingress.routing import build


async def backend(name: str) -> tuple[web.AppRunner, int]:
    async def answer(request: web.Request) -> web.Response:
        seen = {k: v for k, v in request.headers.items() if k.lower().startswith("x-forwarded") or k == "Host"}
        return web.json_response({"name": name, "path": request.path_qs, "headers": seen,
                                  "body": (await request.read()).decode()}, headers={"Connection": "close"})
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", answer)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, runner.addresses[0][1]


def refused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def table(ports: list[int]) -> Any:
    service = {"spec": {"ports": [{"name": "http", "port": 80}]}}
    endpoints = {"subsets": [{"addresses": [{"ip": "127.0.0.1"}], "ports": [{"name": "http", "port": p}]}
                             for p in ports]}
    empty: dict[str, Any] = {"subsets": []}
    ingress = {"metadata": {"namespace": "default", "name": "i"}, "spec": {"rules": [{"host": "web.test", "http": {
        "paths": [{"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "web", "port": {"number": 80}}}},
                  {"path": "/empty", "pathType": "Prefix",
                   "backend": {"service": {"name": "empty", "port": {"number": 80}}}}]}}]}}
    return build([ingress], {"default/web": service, "default/empty": service},
                 {"default/web": endpoints, "default/empty": empty})


@pytest.fixture
async def proxy() -> AsyncIterator[tuple[Forwarder, str, aiohttp.ClientSession]]:
    forwarder = Forwarder(connect_timeout_s=2)
    await forwarder.start()
    runner = web.ServerRunner(web.Server(forwarder.handler("http")))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    async with aiohttp.ClientSession() as session:
        yield forwarder, f"http://127.0.0.1:{runner.addresses[0][1]}", session
    await runner.cleanup()
    await forwarder.close()


async def test_round_robin_failover_and_headers(proxy: tuple[Forwarder, str, aiohttp.ClientSession]) -> None:
    forwarder, url, session = proxy
    (one, p1), (two, p2) = await backend("one"), await backend("two")
    try:
        forwarder.table = table([p1, p2, refused_port()])
        names = []
        for _ in range(6):
            async with session.post(f"{url}/a/b?q=1", data=b"payload", headers={
                    "Host": "Web.Test:8080", "X-Forwarded-For": "10.1.1.1", "Connection": "keep-alive"}) as r:
                assert r.status == 200
                got = await r.json()
                assert "Connection" not in r.headers or r.headers["Connection"] != "close"  # hop-by-hop dropped
            names.append(got["name"])
            assert got["path"] == "/a/b?q=1" and got["body"] == "payload"
            headers = got["headers"]
            assert headers["Host"] == "Web.Test:8080" and headers["X-Forwarded-Host"] == "Web.Test:8080"
            assert headers["X-Forwarded-For"] == "10.1.1.1, 127.0.0.1" and headers["X-Forwarded-Proto"] == "http"
        # the refused backend's turn goes to the next one: every request answered, both backends used
        assert names.count("one") >= 2 and names.count("two") >= 2, names
    finally:
        await one.cleanup()
        await two.cleanup()


async def test_own_answers_404_503_502(proxy: tuple[Forwarder, str, aiohttp.ClientSession]) -> None:
    forwarder, url, session = proxy
    forwarder.table = table([refused_port()])
    for host, path, status in (("other.test", "/", 404), ("web.test", "/empty/x", 503), ("web.test", "/", 502)):
        async with session.get(f"{url}{path}", headers={"Host": host}) as r:
            assert r.status == status, (host, path)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(host=st.text(max_size=30), path=st.text(max_size=30))
def test_any_host_and_path_get_an_answer_not_a_server_error(host: str, path: str) -> None:
    async def once() -> int:
        forwarder = Forwarder()
        forwarder.table = table([])
        runner = web.ServerRunner(web.Server(forwarder.handler("http")))
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", runner.addresses[0][1])
            target = "/" + path.encode("utf-8", "replace").hex()[:40] if path else "/"
            header = host.encode("latin-1", "replace").replace(b"\r", b"").replace(b"\n", b"")
            writer.write(b"GET " + target.encode() + b" HTTP/1.1\r\nHost: " + header + b"\r\nConnection: close\r\n\r\n")
            status = int((await reader.readline()).split()[1])
            writer.close()
            return status
        finally:
            await runner.cleanup()
    assert asyncio.run(once()) in (400, 404, 503)  # 400: the HTTP parser refused the header


async def test_a_body_over_one_mebibyte_is_refused(proxy: tuple[Forwarder, str, aiohttp.ClientSession]) -> None:
    forwarder, url, session = proxy
    runner, port = await backend("one")
    try:
        forwarder.table = table([port])
        async with session.post(f"{url}/", data=b"x" * (1024 * 1024 + 1), headers={"Host": "web.test"}) as r:
            assert r.status == 413
        async with session.post(f"{url}/", data=b"x" * 1024, headers={"Host": "web.test"}) as r:
            assert r.status == 200
    finally:
        await runner.cleanup()
