"""The dashboard's first paint with 10,000 pods: the real aiohttp app and page over an
in-memory timeline of 10,000 pods (100 Deployments and ReplicaSets, 20 nodes; no broker:
the feed, events and door are in-memory stand-ins, every caller an admin), then headless
Chromium (scripts/chromium.sh) logs in and opens the Pods and Workloads views. Measured:
the server's time to build each view (snapshot, RBAC filter, page, JSON), the JSON's size,
and in the browser the time from navigation start to the first view's rows (a logged-in
user opening the page) and from a click on a tab to its rows (performance.now()).

    .venv/bin/python -m bench.dashboard_first_paint
"""

from __future__ import annotations

import asyncio
import statistics
import time
from typing import Any

import orjson
from aiohttp import web
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from bench.common import report
from schemas.auth import UserInfo
from services.apiserver.auth import Caller
from services.dashboard.app import Dashboard, build_app, view_payload
from services.dashboard.feed import PLURALS
from services.dashboard.sessions import Sessions
from services.dashboard.streams import stream_handlers
from services.dashboard.timeline import Entry, Timeline

PODS, DEPLOYMENTS, NODES = 10_000, 100, 20
ADMIN = Caller(UserInfo(username="bench", groups=("system:masters",)), "bench-token")


class Everything:
    """The door of a cluster where the one token is an admin's."""

    def authenticate(self, header: str | None, _peer: Any) -> Caller | None:
        return ADMIN if header == "Bearer bench-token" else None

    def allowed(self, _caller: Caller, _attrs: Any) -> tuple[bool, str]:
        return True, ""

    def forbidden(self, _caller: Caller, _attrs: Any) -> str | None:
        return None


class Feed:
    def __init__(self, timeline: Timeline) -> None:
        self.timeline = timeline

    async def changed(self, timeout_s: float) -> None:
        await asyncio.sleep(timeout_s)


class Events(Feed):
    class log:  # noqa: N801 - the EventStore's attribute
        @staticmethod
        def events() -> list[dict[str, Any]]:
            return []


def timeline() -> Timeline:
    t = Timeline(PLURALS)
    now = int(time.time() * 1000)
    for n in range(NODES):
        t.add(Entry(now, "nodes", "desired", f"n{n}", {"metadata": {"name": f"n{n}"}}))
        t.add(Entry(now, "nodes", "observed", f"n{n}", {"status": {
            "capacity": {"cpu": "8", "memory": "32Gi", "pods": "1000"},
            "conditions": [{"type": "Ready", "status": "True"}]}}))
    for d in range(DEPLOYMENTS):
        meta = {"name": f"app{d}", "namespace": "default", "uid": f"d{d}", "generation": 1}
        t.add(Entry(now, "deployments", "desired", f"default/app{d}", {"metadata": meta, "spec": {"replicas": 100}}))
        t.add(Entry(now, "replicasets", "desired", f"default/app{d}-rs", {"metadata": {
            "name": f"app{d}-rs", "namespace": "default", "uid": f"rs{d}",
            "ownerReferences": [{"uid": f"d{d}", "controller": True}]}, "spec": {"replicas": 100}}))
    for p in range(PODS):
        key = f"default/app{p % DEPLOYMENTS}-{p:05d}"
        t.add(Entry(now, "pods", "desired", key, {
            "metadata": {"name": key.split("/")[1], "namespace": "default",
                         "ownerReferences": [{"uid": f"rs{p % DEPLOYMENTS}", "controller": True}]},
            "spec": {"nodeName": f"n{p % NODES}", "containers": [{"name": "main", "resources": {
                "requests": {"cpu": "10m", "memory": "16Mi"}}}]}}))
        t.add(Entry(now, "pods", "observed", key, {"status": {"phase": "Running", "containerStatuses": [
            {"ready": True, "restartCount": 0}]}}))
    return t


def server_side(dashboard: Dashboard) -> list[dict[str, Any]]:
    rows = []
    for view in ("pods", "nodes", "workloads"):
        times, size = [], 0
        for _ in range(5):
            start = time.perf_counter()
            size = len(orjson.dumps(view_payload(dashboard, ADMIN, view, {})))
            times.append((time.perf_counter() - start) * 1000)
        rows.append({"measure": f"server: {view} view", "ms (median of 5)": round(statistics.median(times), 1),
                     "json KiB": round(size / 1024, 1)})
    return rows


def in_browser(url: str) -> list[dict[str, Any]]:
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,900"):
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options, service=Service("/usr/bin/chromedriver"))
    rows = []
    try:
        driver.get(url)
        WebDriverWait(driver, 30).until(lambda d: d.find_element(By.ID, "login").is_displayed())
        driver.find_element(By.ID, "token").send_keys("bench-token")
        driver.find_element(By.ID, "login-button").click()
        WebDriverWait(driver, 30).until(lambda d: "n19" in d.find_element(By.ID, "content").text)
        loads = []
        for _ in range(5):  # a logged-in user opens the dashboard: navigation start to the first view's rows
            driver.get(url)
            WebDriverWait(driver, 30).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#nodes tbody tr"))
            loads.append(float(driver.execute_script("return performance.now()")))
        rows.append({"measure": "browser: page load to first view painted", "ms (median of 5)":
                     round(statistics.median(loads), 1), "json KiB": None})
        for view, selector in (("pods", "#pods tbody tr"), ("workloads", "section.deployment")):
            times = []
            for _ in range(5):
                driver.find_element(By.CSS_SELECTOR, '#tabs button[data-view="nodes"]').click()
                WebDriverWait(driver, 30).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#nodes tbody tr"))
                ms = driver.execute_async_script("""
                    const [view, selector, done] = arguments;
                    const start = performance.now();
                    document.querySelector(`#tabs button[data-view="${view}"]`).click();
                    const check = () => document.querySelectorAll(selector).length
                        ? requestAnimationFrame(() => done(performance.now() - start)) : setTimeout(check, 5);
                    check();""", view, selector)
                times.append(float(ms))
            rows.append({"measure": f"browser: click to {view} painted", "ms (median of 5)":
                         round(statistics.median(times), 1), "json KiB": None})
    finally:
        driver.quit()
    return rows


async def main() -> None:
    dashboard = Dashboard(None, Feed(timeline()), Events(timeline()), Everything(), None, Sessions())  # type: ignore[arg-type]
    rows = server_side(dashboard)
    runner = web.AppRunner(build_app(dashboard, stream_handlers(dashboard)), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        rows += await asyncio.to_thread(in_browser, f"http://127.0.0.1:{port}/")
    finally:
        await runner.cleanup()
    report("dashboard_first_paint", rows, {"pods": PODS, "deployments": DEPLOYMENTS, "nodes": NODES})


if __name__ == "__main__":
    asyncio.run(main())
