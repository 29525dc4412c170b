"""Service networking against the real broker (and, for the proxy, the real Docker Engine):
the endpoints controller from hand-written observed pod statuses, and the userspace proxy
+ cluster DNS in front of real busybox httpd containers started through DockerRuntime.
The kubelet is not used: pod statuses are published here as the kubelet would."""

from __future__ import annotations

import asyncio
import json
import secrets
import subprocess
import textwrap
import time
import urllib.request
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from schemas.records import Observed, ObservedMeta
from services.kubelet.runtime.base import ContainerConfig, ContainerInfo, PodRef, SandboxConfig
from services.kubelet.runtime.docker import DockerRuntime
from services.runtime.hostnet import node_address
from services.runtime.podnet import pod_dns_config
from services.runtime.bus import encode, make_producer
from services.runtime.config import Settings
from services.runtime.informer import Informer
from services.runtime.topics import Topics
from tests.integration.kafkit import ServiceProcess, cli, desired, signed_as

pytestmark = pytest.mark.kafka


def pod_manifest(name: str, *, labels: str = "{app: web}") -> str:
    return textwrap.dedent(f"""\
        apiVersion: v1
        kind: Pod
        metadata: {{name: {name}, labels: {labels}}}
        spec:
          containers:
          - name: web
            image: kafkube/busybox:1.0
            ports: [{{name: http, containerPort: 8080}}]
        """)


def service_manifest(*, type_: str = "ClusterIP") -> str:
    return textwrap.dedent(f"""\
        apiVersion: v1
        kind: Service
        metadata: {{name: web}}
        spec:
          type: {type_}
          selector: {{app: web}}
          ports: [{{name: http, port: 80, targetPort: http}}]
        """)


def apply(settings: Settings, tmp_path: Path, *docs: str) -> None:
    path = tmp_path / f"m-{secrets.token_hex(3)}.yaml"
    path.write_text("---\n".join(docs))
    result = cli(settings, "apply", "-f", str(path))
    assert result.returncode == 0, result.stdout + result.stderr


async def set_pod_status(settings: Settings, name: str, uid: str, ip: str, *, ready: bool) -> None:
    status = {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}],
              "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}
    record = Observed(apiVersion="v1", kind="Pod", writer="kubelet", status=status,
                      metadata=ObservedMeta(name=name, namespace="default", uid=uid))
    topic, key, value = Topics(settings.topic_prefix).observed("pods"), f"default/{name}", encode(record)
    async with make_producer(settings) as producer:  # the pods are unbound: their status is the scheduler's
        await producer.send_and_wait(topic, key=key.encode(), value=value,
                                     headers=signed_as(settings, "system:kube-scheduler", topic, key, value))


class EndpointsWatch:
    """A follow-mode view of kafkube.observed.endpoints, to wait on."""

    def __init__(self, settings: Settings) -> None:
        self.topic = Topics(settings.topic_prefix).observed("endpoints")
        self.view: Informer[Any] = Informer(settings, [self.topic], name="test-endpoints")

    def ips(self, key: str = "default/web") -> tuple[list[str], list[str]] | None:
        record = self.view.get(self.topic, key)
        if record is None:
            return None
        subsets = record["status"]["subsets"]
        return ([a["ip"] for s in subsets for a in s.get("addresses") or []],
                [a["ip"] for s in subsets for a in s.get("notReadyAddresses") or []])

    async def until(self, check: Callable[[], bool], timeout: float = 60.0) -> float:
        start = time.monotonic()
        while not check():
            assert time.monotonic() - start < timeout, f"timed out; endpoints now {self.ips()}"
            await asyncio.sleep(0.05)
        return time.monotonic() - start


@pytest.fixture
async def endpoints_watch(settings: Settings) -> AsyncIterator[EndpointsWatch]:
    watch = EndpointsWatch(settings)
    async with watch.view:
        await watch.view.wait_synced()
        yield watch


async def pod_uids(settings: Settings) -> dict[str, str]:
    return {k.split("/", 1)[1]: v["metadata"]["uid"] for k, v in (await desired(settings, "pods")).items()}


async def test_endpoints_follow_readiness_and_service_deletion(
        settings: Settings, services: Callable[..., ServiceProcess], endpoints_watch: EndpointsWatch,
        tmp_path: Path) -> None:
    services("api")
    services("endpoints")
    services("endpoints")  # a second replica shares the Services by partition
    apply(settings, tmp_path, service_manifest(), pod_manifest("a"), pod_manifest("b"),
          pod_manifest("other", labels="{app: db}"))
    uids = await pod_uids(settings)
    await set_pod_status(settings, "a", uids["a"], "172.31.0.2", ready=True)
    await set_pod_status(settings, "b", uids["b"], "172.31.0.3", ready=False)
    await set_pod_status(settings, "other", uids["other"], "172.31.0.4", ready=True)
    await endpoints_watch.until(lambda: endpoints_watch.ips() == (["172.31.0.2"], ["172.31.0.3"]), 60)
    record = endpoints_watch.view.get(endpoints_watch.topic, "default/web")
    assert record is not None
    assert record["writer"] == "endpoints-controller"
    assert record["status"]["subsets"][0]["ports"] == [{"name": "http", "port": 8080, "protocol": "TCP"}]
    assert record["status"]["subsets"][0]["addresses"][0]["targetRef"]["uid"] == uids["a"]

    await set_pod_status(settings, "b", uids["b"], "172.31.0.3", ready=True)
    # how soon is for the benchmarks: here, that it happens (a loaded machine may take long)
    await endpoints_watch.until(lambda: endpoints_watch.ips() == (["172.31.0.2", "172.31.0.3"], []), 60)

    result = cli(settings, "get", "svc,endpoints")
    assert result.stdout.splitlines()[0].split() == ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"]
    assert result.stdout.splitlines()[1].split()[:5][-1] == "80/TCP"

    assert cli(settings, "delete", "svc", "web").returncode == 0
    await endpoints_watch.until(lambda: endpoints_watch.ips() is None)


# ---- the proxy and DNS, on real containers ----------------------------------------------------

HTTPD = "mkdir -p /www && echo {name} > /www/index.html && exec httpd -f -p 8080 -h /www"


async def start_pod(runtime: DockerRuntime, name: str, *, command: str,
                    dns: tuple[list[str], list[str]] = ([], [])) -> ContainerInfo:
    ref = PodRef(namespace="default", name=name, uid=secrets.token_hex(8))
    sandbox = await runtime.run_sandbox(SandboxConfig(pod=ref, hostname=name, dns_servers=dns[0],
                                                      dns_search=dns[1]))
    await runtime.create_and_start(sandbox, ContainerConfig(
        pod=ref, name="main", role="app", image="kafkube/busybox:1.0", command=["sh", "-c", command]))
    return sandbox


async def sh(runtime: DockerRuntime, container: ContainerInfo, script: str) -> str:
    containers = [c for c in await runtime.list_managed() if c.pod.uid == container.pod.uid and c.role == "app"]
    result = await runtime.exec(containers[0].id, ["sh", "-c", script], timeout_s=30)
    return result.output


def fetch_many(url: str, n: int) -> str:
    # busybox's `wget -T` crashes in this image: bound each request with `timeout` instead
    return f"for i in $(seq {n}); do timeout 5 wget -qO- {url} || echo FAIL; done"


@pytest.fixture
def proxy_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """A service range, DNS IP and interface of this test only (env reaches `kafkube serve`)."""
    block = f"10.{100 + secrets.randbelow(100)}.{secrets.randbelow(256)}"
    env = {"KAFKUBE_SERVICE_CIDR": f"{block}.0/24", "KAFKUBE_CLUSTER_DNS_IP": f"{block}.250",
           "KAFKUBE_PROXY_INTERFACE": f"kp{secrets.token_hex(4)}"}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    yield env
    subprocess.run(["ip", "link", "del", env["KAFKUBE_PROXY_INTERFACE"]], capture_output=True)


@pytest.mark.docker
async def test_proxy_and_dns_in_front_of_real_containers(
        settings: Settings, services: Callable[..., ServiceProcess], docker_ready: None,
        endpoints_watch: EndpointsWatch, proxy_env: dict[str, str], tmp_path: Path) -> None:
    services("api")
    services("endpoints")
    proxy = services("proxy", "--node", "n1")
    node = f"svc-test-{secrets.token_hex(4)}"
    async with DockerRuntime(node) as runtime:
        try:
            await _exercise(settings, services, runtime, endpoints_watch, proxy_env, proxy, tmp_path)
        finally:
            for container in await runtime.list_managed():
                await runtime.remove(container.id)


async def _exercise(settings: Settings, services: Callable[..., ServiceProcess], runtime: DockerRuntime,
                    watch: EndpointsWatch, env: dict[str, str], proxy: ServiceProcess, tmp_path: Path) -> None:
    names = ["web-a", "web-b", "web-c"]
    backends = await asyncio.gather(*(start_pod(runtime, n, command=HTTPD.format(name=n)) for n in names))
    client = await start_pod(runtime, "client", command="exec sleep 3600",
                             dns=pod_dns_config("default", env["KAFKUBE_CLUSTER_DNS_IP"], "cluster.local"))
    apply(settings, tmp_path, service_manifest(type_="NodePort"), *(pod_manifest(n) for n in names))
    uids = await pod_uids(settings)
    for name, sandbox in zip(names, backends):
        assert sandbox.ip
        await set_pod_status(settings, name, uids[name], sandbox.ip, ready=True)
    await watch.until(lambda: len((watch.ips() or ([], []))[0]) == 3, 60)
    svc = json.loads(cli(settings, "get", "svc", "web", "-o", "json").stdout)
    cluster_ip, node_port = svc["spec"]["clusterIP"], svc["spec"]["ports"][0]["nodePort"]

    # through the ClusterIP from a container, spread over the three backends
    replies = await _until_served(runtime, client, f"http://{cluster_ip}/", 9)
    assert {r for r in replies} == set(names), replies
    # a NodePort answers on the host's loopback
    body = await asyncio.to_thread(lambda: urllib.request.urlopen(f"http://127.0.0.1:{node_port}/", timeout=5).read())
    assert body.decode().strip() in names
    # ... and on the node's addresses only, never on the wildcard address
    listening = subprocess.run(["ss", "-Htln", f"sport = :{node_port}"], capture_output=True, text=True).stdout
    bound = {line.split()[3].rsplit(":", 1)[0] for line in listening.splitlines()}
    assert "127.0.0.1" in bound and not bound & {"0.0.0.0", "*", "[::]"}, listening
    # DNS: the FQDN resolves to the ClusterIP; the short name works through the search path
    lookup = await sh(runtime, client, "nslookup web.default.svc.cluster.local")
    assert cluster_ip in lookup, lookup
    assert (await sh(runtime, client, fetch_many("http://web/", 1))).strip() in names

    # a backend turned not-ready leaves the endpoints and gets no more traffic
    await set_pod_status(settings, "web-c", uids["web-c"], backends[2].ip or "", ready=False)
    await watch.until(lambda: (watch.ips() or ([], []))[1] == [backends[2].ip], 60)
    ready = {"web-a", "web-b"}
    await _until_served(runtime, client, f"http://{cluster_ip}/", 6, accept=lambda rs: set(rs) == ready)
    replies = (await sh(runtime, client, fetch_many(f"http://{cluster_ip}/", 6))).split()
    assert set(replies) == ready, replies  # and it stays out

    # SIGKILL the proxy: a new one adopts the interface and forwards again
    proxy.kill()
    services("proxy", "--node", "n1")
    replies = await _until_served(runtime, client, f"http://{cluster_ip}/", 4)
    assert set(replies) == ready, replies

    # a deleted Service's ClusterIP leaves the interface
    assert cli(settings, "delete", "svc", "web").returncode == 0
    deadline = time.monotonic() + 60
    while cluster_ip in _addresses(env["KAFKUBE_PROXY_INTERFACE"]):
        assert time.monotonic() < deadline, "the ClusterIP of a deleted Service stayed on the interface"
        await asyncio.sleep(0.2)
    assert env["KAFKUBE_CLUSTER_DNS_IP"] in _addresses(env["KAFKUBE_PROXY_INTERFACE"])


def _addresses(interface: str) -> str:
    return subprocess.run(["ip", "-br", "addr", "show", "dev", interface], capture_output=True, text=True).stdout


async def _until_served(runtime: DockerRuntime, client: ContainerInfo, url: str, n: int, *,
                        accept: Callable[[list[str]], bool] = lambda replies: True,
                        timeout: float = 90.0) -> list[str]:
    """n requests to `url` that all succeed (and satisfy `accept`), retried until `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        replies = (await sh(runtime, client, fetch_many(url, n))).split()
        if "FAIL" not in replies and len(replies) == n and accept(replies):
            return replies
        assert time.monotonic() < deadline, f"{url} not served: {replies}"
        await asyncio.sleep(0.5)


@pytest.mark.docker
async def test_proxy_never_dials_an_endpoints_address_outside_the_pod_network(
        settings: Settings, services: Callable[..., ServiceProcess], docker_ready: None,
        proxy_env: dict[str, str], tmp_path: Path) -> None:
    """A Service without selector whose hand-written Endpoints names the node's own
    addresses (its primary one, outside the pod network, and the Docker bridge's gateway,
    inside it): the proxy listens on the ClusterIP but never connects to them, and says why."""
    dialled: list[int] = []

    async def sentinel(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        dialled.append(1)
        writer.close()

    server = await asyncio.start_server(sentinel, "0.0.0.0", 0)
    port = server.sockets[0].getsockname()[1]
    primary = node_address()
    services("api")
    proxy = services("proxy", "--node", "n1")
    try:
        apply(settings, tmp_path, textwrap.dedent("""\
            apiVersion: v1
            kind: Service
            metadata: {name: sneaky}
            spec: {ports: [{port: 80, targetPort: 8080}]}
            """), textwrap.dedent(f"""\
            apiVersion: v1
            kind: Endpoints
            metadata: {{name: sneaky}}
            subsets: [{{addresses: [{{ip: {primary}}}, {{ip: 172.17.0.1}}], ports: [{{port: {port}}}]}}]
            """))
        svc = json.loads(cli(settings, "get", "svc", "sneaky", "-o", "json").stdout)
        cluster_ip = svc["spec"]["clusterIP"]
        deadline = time.monotonic() + 60
        while proxy.logs().count("proxy.backend_refused") < 2 and time.monotonic() < deadline:
            await asyncio.sleep(0.5)
        refused = [line for line in proxy.logs().splitlines() if "proxy.backend_refused" in line]
        assert len(refused) == 2 and all('"name": "sneaky"' in line for line in refused), proxy.logs()[-2000:]
        assert {ip for ip in (primary, "172.17.0.1") if any(f'"ip": "{ip}"' in line for line in refused)} == \
            {primary, "172.17.0.1"}
        reader, writer = await asyncio.wait_for(asyncio.open_connection(cluster_ip, 80), 10)
        assert await asyncio.wait_for(reader.read(10), 10) == b""  # no backend: closed
        writer.close()
        assert dialled == []
    finally:
        server.close()
