"""End to end through real pods: a 3-replica Deployment run by the Docker kubelet, its
Service's Endpoints from the kubelet's real pod statuses, and a client pod reaching it
through the proxy by ClusterIP and by the cluster DNS. (The scheduler is not needed: the
pod template names the node.)"""

from __future__ import annotations

import asyncio
import json
import secrets
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from services.kubelet.runtime.docker import DockerRuntime
from services.runtime.config import Settings
from tests.integration.kafkit import ServiceProcess, cli
from tests.integration.test_services import EndpointsWatch, apply, endpoints_watch, proxy_env  # noqa: F401

pytestmark = [pytest.mark.kafka, pytest.mark.docker]


def manifests(node: str) -> list[str]:
    deployment = textwrap.dedent(f"""\
        apiVersion: apps/v1
        kind: Deployment
        metadata: {{name: web}}
        spec:
          replicas: 3
          selector: {{matchLabels: {{app: web}}}}
          template:
            metadata: {{labels: {{app: web}}}}
            spec:
              nodeName: {node}
              containers:
              - name: httpd
                image: kafkube/busybox:1.0
                command: [sh, -c, "mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 8080 -h /www"]
                ports: [{{name: http, containerPort: 8080}}]
                readinessProbe: {{tcpSocket: {{port: 8080}}, periodSeconds: 1}}
        """)
    service = "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  selector: {app: web}\n" \
              "  ports: [{name: http, port: 80, targetPort: http}]\n"
    client = textwrap.dedent(f"""\
        apiVersion: v1
        kind: Pod
        metadata: {{name: client}}
        spec:
          nodeName: {node}
          terminationGracePeriodSeconds: 0
          containers: [{{name: client, image: kafkube/busybox:1.0, command: [sleep, "3600"]}}]
        """)
    return [deployment, service, client]


async def test_client_pod_reaches_a_deployment_through_the_service(
        settings: Settings, services: Callable[..., ServiceProcess], docker_ready: None,
        endpoints_watch: EndpointsWatch, proxy_env: dict[str, str],  # noqa: F811
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    node = f"e2e-{secrets.token_hex(4)}"
    for key, value in {"KAFKUBE_KUBELET_ROOT": str(tmp_path / "kubelet"), "KAFKUBE_RELIST_SECONDS": "0.5",
                       "KAFKUBE_RESYNC_SECONDS": "1"}.items():
        monkeypatch.setenv(key, value)
    for name in ("api", "controllers", "endpoints"):
        services(name)
    services("proxy", "--node", node)
    kubelet = services("kubelet", "--node", node, "--runtime", "docker")
    async with DockerRuntime(node) as runtime:
        try:
            deployment, service, client = manifests(node)
            apply(settings, tmp_path, deployment, service)
            await endpoints_watch.until(lambda: len((endpoints_watch.ips() or ([], []))[0]) == 3, 120)
            apply(settings, tmp_path, client)  # started after the Service: it gets its env
            svc = json.loads(cli(settings, "get", "svc", "web", "-o", "json").stdout)
            ip, dns_ip = svc["spec"]["clusterIP"], proxy_env["KAFKUBE_CLUSTER_DNS_IP"]
            script = (f"nslookup web.default.svc.cluster.local {dns_ip}; echo HOST=$WEB_SERVICE_HOST; "
                      "for name in web web.default web.default.svc.cluster.local; do "
                      "timeout 5 wget -qO- http://$name/ || echo FAIL; done; "
                      f"for i in 1 2 3 4 5 6; do timeout 5 wget -qO- http://{ip}/ || echo FAIL; done")
            output = await _exec_in(runtime, "client", script)
            assert ip in output and f"HOST={ip}" in output, output
            by_name, hosts = output.split()[-9:-6], output.split()[-6:]
            assert "FAIL" not in by_name, f"the pod could not reach the service by name: {output}"
            assert "FAIL" not in hosts and len(set(hosts)) == 3, output
        finally:
            kubelet.stop()  # first, or it would recreate what is removed below
            for container in await runtime.list_managed():
                await runtime.remove(container.id)


async def _exec_in(runtime: DockerRuntime, pod: str, script: str, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while True:
        found = [c for c in await runtime.list_managed()
                 if c.pod.name == pod and c.role == "app" and c.state == "running"]
        if found:
            return (await runtime.exec(found[0].id, ["sh", "-c", script], timeout_s=60)).output
        assert time.monotonic() < deadline, f"pod {pod} never ran"
        await asyncio.sleep(0.5)


async def _hammer(url: str, stop: asyncio.Event, outcomes: list[str]) -> None:
    """GET `url` in a loop from the host (through the proxy) until `stop`; record each
    outcome: "ok <the pod that answered>" or the failure."""
    import urllib.request

    def once() -> str:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                body = response.read().decode().strip()
                return f"ok {body}" if response.status == 200 else f"http {response.status}"
        except Exception as exc:  # every failure counts, whatever it is
            return f"{type(exc).__name__}: {exc}"

    while not stop.is_set():
        outcomes.append(await asyncio.to_thread(once))


async def _more(outcomes: list[str], n: int, timeout: float = 120) -> None:
    """Wait until `n` more requests have had their outcome."""
    deadline, wanted = time.monotonic() + timeout, len(outcomes) + n
    while len(outcomes) < wanted:
        assert time.monotonic() < deadline, f"only {len(outcomes)} requests in {timeout}s: {outcomes[-5:]}"
        await asyncio.sleep(0.1)


async def test_zero_downtime_through_the_service_during_a_rolling_update(
        settings: Settings, services: Callable[..., ServiceProcess], docker_ready: None,
        endpoints_watch: EndpointsWatch, proxy_env: dict[str, str],  # noqa: F811
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    node = f"zd-{secrets.token_hex(4)}"
    for key, value in {"KAFKUBE_KUBELET_ROOT": str(tmp_path / "kubelet"), "KAFKUBE_RELIST_SECONDS": "0.5",
                       "KAFKUBE_RESYNC_SECONDS": "1", "KAFKUBE_CLUSTER_DNS": "off"}.items():
        monkeypatch.setenv(key, value)
    for name in ("api", "controllers", "endpoints"):
        services(name)
    services("proxy", "--node", node)
    kubelet = services("kubelet", "--node", node, "--runtime", "docker")
    deployment, service, _ = manifests(node)
    rolling = deployment.replace("spec:\n  replicas: 3", "spec:\n  replicas: 3\n  minReadySeconds: 1\n"
                                 "  strategy: {rollingUpdate: {maxSurge: 1, maxUnavailable: 0}}")
    async with DockerRuntime(node) as runtime:
        try:
            apply(settings, tmp_path, rolling, service)
            await endpoints_watch.until(lambda: len((endpoints_watch.ips() or ([], []))[0]) == 3, 120)
            ip = json.loads(cli(settings, "get", "svc", "web", "-o", "json").stdout)["spec"]["clusterIP"]
            stop, outcomes = asyncio.Event(), list[str]()
            client = asyncio.create_task(_hammer(f"http://{ip}/", stop, outcomes))
            try:
                await _more(outcomes, 20)  # the client is going before the rollout begins
                apply(settings, tmp_path, rolling.replace("kafkube/busybox:1.0", "kafkube/busybox:1.1"))
                status = await asyncio.to_thread(cli, settings, "rollout", "status", "deployment/web",
                                                 "--timeout", "180", timeout=200)
                assert status.returncode == 0, status.stdout + status.stderr
                await _more(outcomes, 20)  # and still going after it ended
            finally:
                stop.set()
                await client
            failures = [o for o in outcomes if not o.startswith("ok ")]
            # pods are named <replica set>-<suffix>: answers from both mean the requests spanned the rollout
            served_by = {o.split()[1].rsplit("-", 1)[0] for o in outcomes if o.startswith("ok ")}
            print(f"zero-downtime: {len(outcomes)} requests around the rollout, {len(failures)} failed")
            assert failures == [], failures[:5]
            assert len(served_by) == 2, f"answered by the pods of {served_by}: not old and new"
        finally:
            kubelet.stop()
            for container in await runtime.list_managed():
                await runtime.remove(container.id)
