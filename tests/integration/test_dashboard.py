"""`kafkube serve dashboard` over HTTP, on the real broker with the API, scheduler,
controllers and a hollow kubelet fleet: login refused with a bad token (401 Status), a
viewer without rights refused a view (403 in kube-apiserver's words) and an action (the
API's Forbidden: actions are decided as the logged-in user), the view stream delivering
a change as it happens, apply and scale through the dashboard, one object's history with
its diff, and the cluster as it stood before the change (the time slider); a pod's log
line streamed from `kafkube.logs`; a rollout restart (kubectl's annotation) and a pod
deleted through the dashboard."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
import urllib.request
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from datetime import datetime, timezone

import aiohttp
import pytest

from schemas.records import LogLine
from services.dashboard.actions import RESTARTED_AT
from services.runtime.bus import encode, make_producer
from services.runtime.config import Settings
from services.runtime.topics import Topics

from tests.integration.kafkit import ServiceProcess, admin_token, credentials_dir
from tests.integration.test_apiserver_kubectl import free_port

pytestmark = pytest.mark.kafka
DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: NAME, namespace: default}
spec:
  replicas: 1
  selector: {matchLabels: {app: NAME}}
  template:
    metadata: {labels: {app: NAME}}
    spec:
      containers: [{name: main, image: busybox:1.36, command: [sleep, "3600"]}]
"""


@dataclass(frozen=True)
class DashboardUnderTest:
    url: str
    process: ServiceProcess


def add_user(name: str) -> str:
    """A user without any binding in the API's token file (re-read on an unknown token)."""
    token = secrets.token_urlsafe(24)
    with (credentials_dir() / "tokens.csv").open("a") as out:
        out.write(f'{token},{name},{name},""\n')
    return token


def deployment(name: str) -> str:
    return DEPLOYMENT.replace("NAME", name)


def service(name: str) -> str:
    """A Service in front of `deployment(name)`'s pods."""
    return f"""{{"apiVersion": "v1", "kind": "Service", "metadata": {{"name": "{name}", "namespace": "default"}},
"spec": {{"selector": {{"app": "{name}"}}, "ports": [{{"port": 80, "targetPort": 8080}}]}}}}"""


@pytest.fixture
def dashboard(services: Callable[..., ServiceProcess], monkeypatch: pytest.MonkeyPatch) -> DashboardUnderTest:
    """The cluster (API, scheduler, controllers, endpoints, hollow nodes n1 and n2) and the dashboard on
    a free port, once it answers."""
    port = free_port()
    monkeypatch.setenv("KAFKUBE_DASHBOARD_ADDRESS", f"127.0.0.1:{port}")
    for name, args in (("api", ()), ("scheduler", ()), ("controllers", ()), ("endpoints", ()),
                       ("kubelet", ("--node", "n1", "--node", "n2", "--runtime", "hollow"))):
        services(name, *args)
    process = services("dashboard")
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        assert process.alive(), f"the dashboard stopped:\n{process.logs()[-3000:]}"
        assert time.monotonic() < deadline, "the dashboard did not answer within 90 s"
        try:
            urllib.request.urlopen(f"{url}/", timeout=2).close()
            break
        except OSError:
            time.sleep(0.3)
    return DashboardUnderTest(url, process)


async def logged_in(url: str, token: str) -> aiohttp.ClientSession:
    session = aiohttp.ClientSession(base_url=url, cookie_jar=aiohttp.CookieJar(unsafe=True))
    async with session.post("/api/login", json={"token": token}) as answer:
        assert answer.status == 200, await answer.text()
        cookie = answer.headers["Set-Cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    return session


async def eventually(what: str, check: Callable[[], Any], *, timeout_s: float = 90) -> Any:
    deadline = time.monotonic() + timeout_s
    while not (found := await check()):
        assert time.monotonic() < deadline, f"{what} within {timeout_s:.0f} s"
        await asyncio.sleep(0.3)
    return found


async def view(session: aiohttp.ClientSession, name: str, **query: Any) -> dict[str, Any]:
    async with session.get(f"/api/views/{name}", params={k: str(v) for k, v in query.items()}) as answer:
        assert answer.status == 200, await answer.text()
        return await answer.json()  # type: ignore[no-any-return]


async def act(session: aiohttp.ClientSession, action: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    async with session.post(f"/api/actions/{action}", json=body) as answer:
        return answer.status, await answer.json()


async def views_of(stream: aiohttp.StreamReader) -> AsyncIterator[dict[str, Any]]:
    """The `view` events of a server-sent event stream."""
    event = ""
    async for raw in stream:
        line = raw.decode().rstrip("\n")
        if line.startswith("event: "):
            event = line.removeprefix("event: ")
        elif line.startswith("data: ") and event == "view":
            yield json.loads(line.removeprefix("data: "))


async def test_dashboard_over_http(dashboard: DashboardUnderTest, settings: Settings) -> None:
    async with aiohttp.ClientSession(base_url=dashboard.url) as anonymous:
        async with anonymous.post("/api/login", json={"token": "not-a-token"}) as refused:
            assert refused.status == 401
            assert (await refused.json())["reason"] == "Unauthorized" and "Set-Cookie" not in refused.headers
        async with anonymous.get("/api/views/pods") as refused:
            assert refused.status == 401 and (await refused.json())["code"] == 401
        async with anonymous.post("/api/login", data="token=x") as refused:
            assert refused.status == 415 and (await refused.json())["reason"] == "UnsupportedMediaType"  # no form
        async with anonymous.get("/") as page:
            assert page.status == 200 and "default-src 'self'" in page.headers["Content-Security-Policy"]

    nobody = f"viewer-{secrets.token_hex(3)}"
    viewer = await logged_in(dashboard.url, add_user(nobody))
    admin = await logged_in(dashboard.url, admin_token())
    try:
        async with viewer.get("/api/views/pods") as forbidden:
            assert forbidden.status == 403
            status = await forbidden.json()
            assert status["reason"] == "Forbidden" and status["message"] == (
                f'pods is forbidden: User "{nobody}" cannot list resource "pods" in API group "" at the cluster scope')

        nodes = await eventually("two nodes Ready", lambda: _ready_nodes(admin))
        assert {n["name"] for n in nodes} == {"n1", "n2"} and all(n["cpu_capacity_m"] > 0 for n in nodes)

        name = f"web-{secrets.token_hex(3)}"
        async with admin.get("/api/stream/workloads") as stream:
            assert stream.headers["Content-Type"] == "text/event-stream"
            views = views_of(stream.content)
            first = await anext(views)
            assert all(d["name"] != name for d in first["items"])
            code, applied = await act(admin, "apply", {"manifest": deployment(name)})
            assert code == 200 and applied["results"][0]["reason"] == "Created", applied
            before_scale = int(time.time() * 1000)

            async def pushed() -> dict[str, Any]:
                async for pushed_view in views:
                    for d in pushed_view["items"]:
                        if d["name"] == name and d["available"] == 1:
                            return d  # type: ignore[no-any-return]
                raise AssertionError("the stream ended")
            rolled = await asyncio.wait_for(pushed(), 90)
            assert rolled["replica_sets"] and rolled["replica_sets"][0]["pods"][0]["phase"] == "Running"

        code, refused_scale = await act(viewer, "scale", {"namespace": "default", "name": name, "replicas": 3})
        assert code == 403 and refused_scale["reason"] == "Forbidden" and nobody in refused_scale["message"]
        code, bad = await act(admin, "scale", {"namespace": "default", "name": name, "replicas": -1})
        assert code == 422 and bad["message"] == "replicas: Input should be greater than or equal to 0"

        before_scale = max(before_scale, int(time.time() * 1000))
        await asyncio.sleep(0.01)
        code, scaled = await act(admin, "scale", {"namespace": "default", "name": name, "replicas": 3})
        assert code == 200 and scaled["results"][0]["reason"] == "Updated", scaled

        async def three_available() -> bool:
            return any(d["name"] == name and d["available"] == 3 for d in (await view(admin, "workloads"))["items"])
        await eventually("3 available replicas", three_available)

        past = await view(admin, "workloads", at=before_scale)
        assert [d["replicas"] for d in past["items"] if d["name"] == name] == [1]
        async with admin.get("/api/history/deployments", params={"namespace": "default", "name": name}) as found:
            versions = (await found.json())["versions"]
        changes = [c for v in versions for c in v["changes"] if c["path"] == "spec.replicas"]
        assert {"path": "spec.replicas", "before": 1, "after": 3} in changes

        pod = next(p for p in (await view(admin, "pods", q=name))["items"]["rows"] if p["phase"] == "Running")
        await _logs_stream(admin, settings, pod["name"])

        code, deleted = await act(admin, "delete-pod", {"namespace": "default", "name": pod["name"]})
        assert code == 200 and deleted["results"][0]["reason"] == "Deleted", deleted

        async def gone() -> bool:
            return all(p["name"] != pod["name"] for p in (await view(admin, "pods", q=name))["items"]["rows"])
        await eventually(f"pod {pod['name']} gone", gone)

        # after the delete: the restart's rollout replaces every pod, so it would race it
        code, restarted = await act(admin, "restart", {"namespace": "default", "name": name})
        assert code == 200 and restarted["results"][0]["reason"] == "Updated", restarted

        async def restart_in_history() -> bool:
            """The history is the dashboard's own read of the log, so it shows the write a moment later."""
            async with admin.get("/api/history/deployments", params={"namespace": "default", "name": name}) as found:
                latest = (await found.json())["versions"][-1]["object"]
            return RESTARTED_AT in (latest["spec"]["template"]["metadata"].get("annotations") or {})
        await eventually("the restart in the deployment's history", restart_in_history)
    finally:
        await viewer.close()
        await admin.close()


async def _logs_stream(session: aiohttp.ClientSession, settings: Settings, pod: str) -> None:
    """A line written to kafkube.logs (as a kubelet writes them) arrives on the pod's log stream."""
    text = f"hello from {pod}"
    line = LogLine(namespace="default", pod=pod, container="main", stream="stdout",
                   timestamp=datetime.now(timezone.utc), line=text)
    async with make_producer(settings) as producer:
        await producer.send_and_wait(Topics(settings.topic_prefix).logs, key=f"default/{pod}".encode(),
                                     value=encode(line))
    async with session.get("/api/logs", params={"namespace": "default", "pod": pod}) as stream:
        assert stream.status == 200, await stream.text()

        async def lines_until_mine() -> list[str]:
            seen: list[str] = []
            async for raw in stream.content:
                if raw.startswith(b"data: "):
                    seen.append(str(json.loads(raw.removeprefix(b"data: "))))
                    if seen[-1].endswith(text):
                        return seen
            raise AssertionError(f"the log stream ended: {seen}")
        seen = await asyncio.wait_for(lines_until_mine(), 60)
        assert any(s.endswith("hollow container main started") for s in seen)  # the hollow kubelet's own line


async def _ready_nodes(session: aiohttp.ClientSession) -> list[dict[str, Any]] | None:
    nodes = (await view(session, "nodes"))["items"]
    return nodes if len(nodes) == 2 and all(n["ready"] == "True" for n in nodes) else None
