"""Every failure answers a `Status`: a body over the limit, aiohttp's own errors, a bug."""

from __future__ import annotations

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from schemas.limits import MAX_REQUEST_BYTES
from services.apiserver.app import errors_as_status


async def _read(request: web.Request) -> web.Response:
    await request.read()
    return web.Response(text="ok")


async def _bug(_request: web.Request) -> web.Response:
    raise KeyError("oops")


async def test_failures_are_statuses() -> None:
    app = web.Application(middlewares=[errors_as_status], client_max_size=MAX_REQUEST_BYTES)
    app.router.add_post("/read", _read)
    app.router.add_get("/bug", _bug)
    async with TestClient(TestServer(app)) as client:
        big = await client.post("/read", data=b"x" * (MAX_REQUEST_BYTES + 1))
        assert big.status == 413
        assert (await big.json())["reason"] == "RequestEntityTooLarge"
        bug = await client.get("/bug")
        assert bug.status == 500 and (await bug.json())["reason"] == "InternalError"
        missing = await client.get("/nowhere")
        assert missing.status == 404 and (await missing.json())["kind"] == "Status"
        assert (await client.post("/read", data=b"{}")).status == 200
