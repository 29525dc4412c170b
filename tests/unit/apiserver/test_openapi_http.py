"""The OpenAPI documents over HTTP (ETag, 304, immutable by hash, 406 for protobuf only) and
field validation around a write handler (Strict refuses, Warn adds Warning headers)."""

from __future__ import annotations

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from services.apiserver import fieldvalidation, openapi, openapi_http
from services.apiserver.paths import parse

DEPLOYMENTS = "/apis/apps/v1/namespaces/default/deployments"
TYPO = b'{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"},"spec":{"replica":1}}'


async def _written(_request: web.Request) -> web.Response:
    return web.json_response({"written": True}, status=201)


async def _write(request: web.Request) -> web.StreamResponse:
    return await fieldvalidation.validated(request, parse(request.path), lambda: _written(request))


def _app() -> web.Application:
    app = web.Application()
    app.router.add_get("/openapi/v2", openapi_http.v2)
    app.router.add_get("/openapi/v3", openapi_http.v3_index)
    app.router.add_get("/openapi/v3/{group_version:.+}", openapi_http.v3)
    app.router.add_route("*", "/apis/{tail:.+}", _write)
    return app


async def test_documents_are_served_with_their_hash() -> None:
    async with TestClient(TestServer(_app())) as client:
        index = await (await client.get("/openapi/v3")).json()
        url = index["paths"]["apis/apps/v1"]["serverRelativeURL"]
        served = await client.get(url)
        digest = openapi.v3_documents()["apis/apps/v1"].hash
        assert served.status == 200 and served.headers["ETag"] == f'"{digest}"'
        assert served.headers["Cache-Control"] == openapi_http.IMMUTABLE
        assert (await served.json())["openapi"] == "3.0.0"
        unhashed = await client.get("/openapi/v3/apis/apps/v1")
        assert unhashed.headers["Cache-Control"] == openapi_http.REVALIDATE
        again = await client.get("/openapi/v3/apis/apps/v1", headers={"If-None-Match": f'"{digest}"'})
        assert again.status == 304
        assert (await client.get("/openapi/v3/apis/nothing/v1")).status == 404
        swagger = await client.get("/openapi/v2", headers={"Accept": "application/json"})
        assert (await swagger.json())["swagger"] == "2.0"
        protobuf = await client.get("/openapi/v2", headers={
            "Accept": "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"})
        assert protobuf.status == 406 and (await protobuf.json())["reason"] == "NotAcceptable"


async def test_field_validation_refuses_warns_or_ignores() -> None:
    async with TestClient(TestServer(_app())) as client:
        strict = await client.post(f"{DEPLOYMENTS}?fieldValidation=Strict", data=TYPO,
                                   headers={"Content-Type": "application/json"})
        assert strict.status == 400
        assert (await strict.json())["message"] == ('Deployment in version "v1" cannot be handled as a Deployment: '
                                                    'strict decoding error: unknown field "spec.replica"')
        warned = await client.post(DEPLOYMENTS, data=TYPO, headers={"Content-Type": "application/json"})
        assert warned.status == 201 and warned.headers.getall("Warning") == ['299 - "unknown field \\"spec.replica\\""']
        ignored = await client.put(f"{DEPLOYMENTS}/web?fieldValidation=Ignore", data=TYPO)
        assert ignored.status == 201 and "Warning" not in ignored.headers
        patched = await client.patch(f"{DEPLOYMENTS}/web?fieldValidation=Strict", data=b'{"spec":{"replica":2}}',
                                     headers={"Content-Type": "application/merge-patch+json"})
        assert patched.status == 422 and (await patched.json())["message"] == (
            ' "" is invalid: patch: Invalid value: "map[spec:map[replica:2]]": strict decoding error: '
            'unknown field "spec.replica"')
        json_patch = await client.patch(f"{DEPLOYMENTS}/web?fieldValidation=Strict",
                                        data=b'[{"op":"add","path":"/spec/replica","value":2}]',
                                        headers={"Content-Type": "application/json-patch+json"})
        assert json_patch.status == 201  # not checked
        wrong = await client.post(f"{DEPLOYMENTS}?fieldValidation=strict", data=TYPO)
        assert wrong.status == 400 and "fieldValidation must be one of" in (await wrong.json())["message"]
        assert (await client.delete(f"{DEPLOYMENTS}/web?fieldValidation=bogus")).status == 201  # not a write body
