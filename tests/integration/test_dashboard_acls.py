"""The dashboard as its own Kafka principal (`kafkube-dashboard`) on a broker with
authentication and ACLs (scripts/kafka.sh start-secure, as `make up` runs it): its ACLs are
enough to read the state, follow the events and write its users' requests; an admin logs
in, applies a pod through it and sees it in the pods view."""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
import urllib.request
from pathlib import Path

import aiohttp
import pytest

from services.cli.credentials import init_credentials
from services.cli.keys import init_keys
from services.runtime.kafka_auth import API, DASHBOARD
from tests.integration.test_apiserver_kubectl import free_port
from tests.integration.test_kafka_acls import (KAFKUBE, SecureBroker, _diagnose, _wait_for_topics,  # noqa: F401
                                               secure_broker)

pytestmark = [pytest.mark.kafka]
POD = "apiVersion: v1\nkind: Pod\nmetadata: {name: via-dashboard}\nspec:\n  containers: [{name: c, image: busybox}]\n"


@pytest.mark.timeout(900)
def test_the_dashboard_runs_as_its_own_principal(secure_broker: SecureBroker,  # noqa: F811
                                                tmp_path: Path) -> None:
    creds, keys = tmp_path / "cluster", tmp_path / "keys"
    init_credentials(creds, nodes=[], bootstrap_servers=secure_broker.bootstrap, topic_prefix=secure_broker.prefix)
    init_keys(keys, ())
    base = {k: v for k, v in os.environ.items() if not k.startswith(("KAFKUBE_", "KAFKA_"))}
    authn = {"KAFKUBE_TOKEN_AUTH_FILE": str(creds / "tokens.csv"),
             "KAFKUBE_SERVICE_ACCOUNT_KEY_FILE": str(creds / "service-account.key"),
             "KAFKUBE_BUS_KEYS_FILE": str(keys / "control-plane.json"), "KAFKUBE_CONNECT_TIMEOUT": "60"}
    port = free_port()
    children = [("api", {**base, **secure_broker.env(API), **authn,
                         "KAFKUBE_TOKEN_FILE": str(creds / "tokens" / "admin.token")}),
                ("dashboard", {**base, **secure_broker.env(DASHBOARD), **authn,  # no token of its own
                               "KAFKUBE_DASHBOARD_ADDRESS": f"127.0.0.1:{port}"})]
    procs: list[tuple[str, subprocess.Popen[bytes], Path]] = []
    try:
        for name, env in children:
            log = tmp_path / f"{name}.log"
            procs.append((name, subprocess.Popen([KAFKUBE, "serve", name], env=env, stdout=log.open("wb"),
                                                 stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                                 start_new_session=True), log))
            if name == "api":  # it creates the topics the dashboard only checks
                _wait_for_topics(secure_broker, procs)
        asyncio.run(_apply_through(f"http://127.0.0.1:{port}", (creds / "tokens" / "admin.token").read_text().strip(),
                                   procs))
        assert "AuthorizationFailed" not in procs[1][2].read_text(errors="replace")
    finally:
        for _name, proc, _log in procs:
            if proc.poll() is None:
                proc.terminate()
        for _name, proc, _log in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


async def _apply_through(url: str, token: str, procs: list[tuple[str, subprocess.Popen[bytes], Path]]) -> None:
    """Once the dashboard answers: a pod applied through it as the admin, then in its pods view."""
    deadline = time.monotonic() + 120
    while True:
        assert procs[1][1].poll() is None, _diagnose("the dashboard stopped", procs)
        assert time.monotonic() < deadline, _diagnose("the dashboard did not answer within 120 s", procs)
        try:
            urllib.request.urlopen(url, timeout=2).close()
            break
        except OSError:
            await asyncio.sleep(0.5)
    async with aiohttp.ClientSession(base_url=url, headers={"Authorization": f"Bearer {token}"}) as admin:
        async with admin.post("/api/actions/apply", json={"manifest": POD}) as applied:
            body = await applied.json()
            assert applied.status == 200 and body["results"][0]["reason"] == "Created", _diagnose(str(body), procs)
        deadline = time.monotonic() + 60
        while True:
            async with admin.get("/api/views/pods") as answer:
                rows = (await answer.json())["items"]["rows"]
            if any(r["name"] == "via-dashboard" for r in rows):
                break
            assert time.monotonic() < deadline, _diagnose(f"the pod is not in the view: {rows}", procs)
            await asyncio.sleep(0.3)
