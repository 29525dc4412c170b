"""Kafka's own access control (docs/kafka-acls.md), on a dedicated secure broker.

`scripts/kafka.sh start-secure` in a state directory of this module's own (so the shared
test broker is untouched; stopped in `finally`): SASL_PLAINTEXT with SCRAM-SHA-512, a
principal per component, StandardAuthorizer with nothing allowed by default and the ACLs
of services/runtime/kafka_auth.py for this module's topic prefix. Then, with aiokafka:
the user principal cannot write desired state (the broker refuses it), can write
manifests; the apiserver principal cannot write desired state either; a wrong password
fails at bootstrap; the API principal writes desired state. Last, a real `kafkube serve
api`, apiserver, scheduler and hollow kubelet, each as its own principal (as `make up` runs
them), deploy a pod the user applied with the CLI, and kubectl reads it and writes a
ConfigMap through the apiserver.

Without Java or Maven it is skipped, except under CI=true, where it fails.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError, TopicAuthorizationFailedError

from schemas.meta import ObjectMeta
from schemas.metrics import ContainerMetrics, PodMetrics, Usage
from services.cli.config import set_kafka_login
from services.cli.credentials import init_credentials
from services.cli.keys import init_keys, node_file
from services.ingress.tls import self_signed
from services.runtime.bus import encode, ensure_topics, make_producer, wait_for_kafka
from services.runtime.config import Settings
from services.runtime.errors import KafkaUnavailable
from services.runtime.kafka_auth import (API, APISERVER, CONTROLLERS, DASHBOARD, INGRESS, KUBELET, SCHEDULER, USER,
                                         client_options)
from services.runtime.topics import Topics
from tests.availability import under_ci, unavailable
from tests.integration.client_smoke import round_trip
from tests.integration.test_apiserver_kubectl import Kubectl, free_port

pytestmark = [pytest.mark.kafka]

ROOT = Path(__file__).resolve().parents[2]
KAFKA_SH = ROOT / "scripts" / "kafka.sh"
KAFKUBE = str(Path(sys.executable).with_name("kafkube"))


@dataclass(frozen=True)
class SecureBroker:
    bootstrap: str
    credentials: Path  # <principal>.password
    prefix: str
    state: Path

    def password(self, principal: str) -> str:
        return (self.credentials / f"{principal}.password").read_text().strip()

    def settings(self, principal: str, *, password: str | None = None) -> Settings:
        return Settings(bootstrap_servers=self.bootstrap, topic_prefix=self.prefix, partitions=3,
                        instance="acl-test", connect_timeout_s=20, security_protocol="SASL_PLAINTEXT",
                        kafka_username=principal, kafka_password=password or self.password(principal))

    def env(self, principal: str) -> dict[str, str]:
        """A `kafkube` child's Kafka settings as `principal` (the password from its file)."""
        return {"KAFKA_BOOTSTRAP_SERVERS": self.bootstrap, "KAFKUBE_TOPIC_PREFIX": self.prefix,
                "KAFKUBE_PARTITIONS": "3", "KAFKUBE_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
                "KAFKUBE_KAFKA_USERNAME": principal,
                "KAFKUBE_KAFKA_PASSWORD_FILE": str(self.credentials / f"{principal}.password")}


@pytest.fixture(scope="module")
def secure_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecureBroker]:
    cache = Path(os.environ.get("KAFKUBE_CACHE") or Path.home() / ".cache" / "kafkube")
    fetched = (cache / "kafka-4.1.1" / "tools" / ".complete").exists()
    if not under_ci() and (shutil.which("java") is None or (shutil.which("mvn") is None and not fetched)):
        unavailable("the secure broker needs Java 17 and Maven (scripts/kafka.sh installs them under CI)")
    state = tmp_path_factory.mktemp("kafka-secure")
    prefix = f"acl{secrets.token_hex(3)}."
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAFKUBE_") or k == "KAFKUBE_CACHE"}
    env.pop("KAFKA_BOOTSTRAP_SERVERS", None)
    env.update(KAFKUBE_KAFKA_STATE=str(state / "broker"), KAFKUBE_TOPIC_PREFIX=prefix,
               KAFKUBE_PYTHON=sys.executable)
    try:
        proc = subprocess.run(["bash", str(KAFKA_SH), "start-secure"], env=env, capture_output=True, text=True,
                              timeout=900, stdin=subprocess.DEVNULL)
        assert proc.returncode == 0, f"kafka.sh start-secure failed:\n{proc.stderr[-4000:]}"
        out = dict(line.split("=", 1) for line in proc.stdout.splitlines() if "=" in line)
        yield SecureBroker(out["KAFKA_BOOTSTRAP_SERVERS"], Path(out["KAFKUBE_KAFKA_CREDENTIALS"]), prefix,
                           state / "broker")
    finally:
        subprocess.run(["bash", str(KAFKA_SH), "stop"], env=env, capture_output=True, timeout=120,
                       stdin=subprocess.DEVNULL)


async def _read(settings: Settings, topic: str) -> None:
    """Fetch partition 0 of `topic` from its start (the broker refuses a fetch without READ)."""
    consumer = AIOKafkaConsumer(**client_options(settings), enable_auto_commit=False, auto_offset_reset="earliest",
                                request_timeout_ms=10000)
    await consumer.start()
    try:
        consumer.assign([TopicPartition(topic, 0)])
        await consumer.getmany(timeout_ms=3000)
    finally:
        await consumer.stop()


async def _send(settings: Settings, topic: str, value: bytes | None = b"{}") -> None:
    producer = AIOKafkaProducer(**client_options(settings), enable_idempotence=True, request_timeout_ms=10000)
    await producer.start()
    try:
        await producer.send_and_wait(topic, key=b"default/x", value=value)
    finally:
        await producer.stop()


@pytest.mark.timeout(900)
async def test_the_broker_enforces_each_principals_acls(secure_broker: SecureBroker) -> None:
    topics = Topics(secure_broker.prefix)
    api = secure_broker.settings(API)
    await wait_for_kafka(api)
    await ensure_topics(api, topics.specs())  # the API creates Kafkube's topics

    user = secure_broker.settings(USER)
    with pytest.raises(TopicAuthorizationFailedError):
        await _send(user, topics.desired("pods"))
    await _send(user, topics.manifests)

    kubelet = secure_broker.settings(KUBELET)
    with pytest.raises(TopicAuthorizationFailedError):
        await _send(kubelet, topics.desired("pods"))
    with pytest.raises(TopicAuthorizationFailedError):  # the HTTP API writes requests only
        await _send(secure_broker.settings(APISERVER), topics.desired("pods"))
    with pytest.raises(TopicAuthorizationFailedError):  # another principal's observed topic
        await _send(secure_broker.settings(SCHEDULER), topics.observed("services"))
    ingress = secure_broker.settings(INGRESS)  # the ingress controller: its status and its questions only
    await _send(ingress, topics.observed("ingresses"), None)
    for topic in (topics.observed("services"), topics.desired("secrets"), topics.events):
        with pytest.raises(TopicAuthorizationFailedError):
            await _send(ingress, topic)
    await _read(ingress, topics.desired("ingresses"))  # it reads what its informer follows, nothing else
    for topic in (topics.desired("pods"), topics.observed("pods"), topics.desired("configmaps")):
        with pytest.raises(TopicAuthorizationFailedError):
            await _read(ingress, topic)
    with pytest.raises(TopicAuthorizationFailedError):  # nor may the controllers write the ingresses' status
        await _send(secure_broker.settings(CONTROLLERS), topics.observed("ingresses"))

    # The API is desired state's one writer (a tombstone: no junk for the next test's CLI to read).
    await _send(api, topics.desired("pods"), None)

    wrong = secure_broker.settings(USER, password="not-" + secure_broker.password(USER))
    with pytest.raises(KafkaUnavailable, match="refused the credentials"):
        await wait_for_kafka(wrong)
    producer = make_producer(wrong)
    with pytest.raises(KafkaError):
        await producer.start()
    await producer.stop()


@pytest.mark.timeout(900)
def test_serve_runs_each_component_as_its_own_principal(
        secure_broker: SecureBroker, tmp_path: Path) -> None:
    creds, keys = tmp_path / "cluster", tmp_path / "keys"
    admin_config = init_credentials(creds, nodes=["n1"], bootstrap_servers=secure_broker.bootstrap,
                                    topic_prefix=secure_broker.prefix)
    init_keys(keys, ("n1",))
    set_kafka_login(admin_config, security_protocol="SASL_PLAINTEXT", username=USER,
                    password_file=str(secure_broker.credentials / f"{USER}.password"))
    base = {k: v for k, v in os.environ.items() if not k.startswith(("KAFKUBE_", "KAFKA_"))}
    base["KAFKUBE_CONNECT_TIMEOUT"] = "60"

    def env(principal: str, token: str | None, keyfile: Path, **extra: str) -> dict[str, str]:
        token_file = str(creds / "tokens" / f"{token}.token") if token else ""
        return {**base, **secure_broker.env(principal), "KAFKUBE_TOKEN_FILE": token_file,
                "KAFKUBE_BUS_KEYS_FILE": str(keyfile), **extra}

    control = keys / "control-plane.json"
    port, ingress_port = free_port(), free_port()
    ports = {name: free_port() for name in ("controllers", "ingress", "dashboard")}  # /readyz; the dashboard
    services = [
        ("api", ["serve", "api"], env(API, "admin", control, KAFKUBE_TOKEN_AUTH_FILE=str(creds / "tokens.csv"),
                                  KAFKUBE_SERVICE_ACCOUNT_KEY_FILE=str(creds / "service-account.key"))),
        ("apiserver", ["serve", "apiserver"], env(  # its token impersonates certificate callers only
            APISERVER, "apiserver", control, KAFKUBE_TOKEN_AUTH_FILE=str(creds / "tokens.csv"),
            KAFKUBE_SERVICE_ACCOUNT_KEY_FILE=str(creds / "service-account.key"),
            KAFKUBE_APISERVER_ADDRESS=f"127.0.0.1:{port}", KAFKUBE_APISERVER_CERT_FILE=str(creds / "apiserver.crt"),
            KAFKUBE_APISERVER_KEY_FILE=str(creds / "apiserver.key"),
            KAFKUBE_APISERVER_CLIENT_CA_FILE=str(creds / "ca.crt"))),
        ("scheduler", ["serve", "scheduler"], env(SCHEDULER, "scheduler", control)),
        ("kubelet", ["serve", "kubelet", "--node", "n1", "--runtime", "hollow"],
         env(KUBELET, "node-n1", node_file(keys, "n1"))),
        ("ingress", ["serve", "ingress"], env(  # as make up runs it
            INGRESS, "ingress", control, KAFKUBE_INGRESS_HTTP_ADDRESS=f"127.0.0.1:{ingress_port}",
            KAFKUBE_INGRESS_HTTPS_ADDRESS="off", KAFKUBE_INGRESS_STATUS_ADDRESS="192.0.2.20",
            KAFKUBE_METRICS_ADDRESS=f"127.0.0.1:{ports['ingress']}")),
        ("controllers", ["serve", "controllers"], env(  # the HPA syncs every second
            CONTROLLERS, "controller-manager", control, KAFKUBE_HPA_SYNC_PERIOD="1",
            KAFKUBE_METRICS_ADDRESS=f"127.0.0.1:{ports['controllers']}")),
        ("dashboard", ["serve", "dashboard"], env(  # no token of its own: its users log in with theirs
            DASHBOARD, None, control, KAFKUBE_TOKEN_AUTH_FILE=str(creds / "tokens.csv"),
            KAFKUBE_SERVICE_ACCOUNT_KEY_FILE=str(creds / "service-account.key"),
            KAFKUBE_DASHBOARD_ADDRESS=f"127.0.0.1:{ports['dashboard']}")),
    ]
    procs: list[tuple[str, subprocess.Popen[bytes], Path]] = []
    try:
        for name, args, child_env in services:
            log = tmp_path / f"{name}.log"
            procs.append((name, subprocess.Popen([KAFKUBE, *args], env=child_env, stdout=log.open("wb"),
                                                 stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                                 start_new_session=True), log))
            if name == "api":  # it creates the topics the others only check
                _wait_for_topics(secure_broker, procs)
        manifest = tmp_path / "pod.yaml"
        manifest.write_text("apiVersion: v1\nkind: Pod\nmetadata:\n  name: acl-pod\nspec:\n  containers:\n"
                            "  - name: c\n    image: kafkube/busybox:1.0\n    command: [sleep, '3600']\n")
        cli_env = {**base, "KAFKUBE_CONFIG": str(admin_config)}
        applied = subprocess.run([KAFKUBE, "apply", "-f", str(manifest)], env=cli_env, capture_output=True,
                                 text=True, timeout=120, stdin=subprocess.DEVNULL)
        assert applied.returncode == 0, _diagnose(f"kafkube apply failed: {applied.stdout}{applied.stderr}", procs)
        deadline, phase, seen = time.monotonic() + 120, None, ""
        while time.monotonic() < deadline:
            got = subprocess.run([KAFKUBE, "get", "pod", "acl-pod", "-o", "json"], env=cli_env, capture_output=True,
                                 text=True, timeout=60, stdin=subprocess.DEVNULL)
            seen = f"kafkube get (exit {got.returncode}): {got.stdout[-1500:]}{got.stderr[-1500:]}"
            if got.returncode == 0:
                pod = json.loads(got.stdout)
                phase = (pod.get("status") or {}).get("phase")
                if phase == "Running" and (pod.get("spec") or {}).get("nodeName") == "n1":
                    break
            time.sleep(1)
        assert phase == "Running", _diagnose(f"the pod is {phase}, not Running on n1; {seen}", procs)
        kubectl = _kubectl_through_the_apiserver(cli_env, port, tmp_path, procs)
        _ingress_through_kubectl(kubectl, ingress_port, tmp_path, procs)
        for name in ("controllers", "ingress"):
            _wait_ready(name, ports[name], procs)
        asyncio.run(_scale_in_the_dashboard(f"http://127.0.0.1:{ports['dashboard']}", creds, kubectl, procs))
        _hpa_status_from_a_sample(secure_broker, kubectl, procs)
        refused = [f"{name}: {line}" for name, _, log in procs
                   for line in log.read_text(errors="replace").splitlines()
                   if "AuthorizationFailed" in line or "Not authorized" in line]  # aiokafka's own warning
        assert not refused, _diagnose("Kafka refused a service:\n" + "\n".join(refused[:20]), procs)
    finally:
        for _name, proc, _log in procs:
            if proc.poll() is None:
                proc.terminate()
        for _name, proc, _log in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


def _kubectl_through_the_apiserver(cli_env: dict[str, str], port: int, tmp_path: Path,
                                  procs: list[tuple[str, subprocess.Popen[bytes], Path]]) -> Kubectl:
    """kubectl as the admin (`kafkube config kubeconfig`, as `make up` writes it): the pod as
    the apiserver's informers read it, and a ConfigMap written through kafkube.requests."""
    made = subprocess.run([KAFKUBE, "config", "kubeconfig", "--server", f"https://127.0.0.1:{port}"], env=cli_env,
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert made.returncode == 0, made.stderr
    kubectl = Kubectl(tmp_path / "kubeconfig")
    kubectl.kubeconfig.write_text(made.stdout)
    deadline = time.monotonic() + 60
    while (got := kubectl("get", "pod", "acl-pod", "-o", "jsonpath={.status.phase}", check=False)).stdout != "Running":
        assert time.monotonic() < deadline, _diagnose(f"kubectl get pod: {got.stdout}{got.stderr}", procs)
        time.sleep(1)
    kubectl("create", "-f", "-", "--validate=false", stdin='{"apiVersion":"v1","kind":"ConfigMap","metadata":'
            '{"name":"via-apiserver","namespace":"default"},"data":{"k":"v"}}')
    assert kubectl.json("get", "cm", "via-apiserver")["data"] == {"k": "v"}
    round_trip(str(kubectl.kubeconfig))  # the official Python client
    apiserver_log = next(log for name, _, log in procs if name == "apiserver").read_text()
    assert "audit_failed" not in apiserver_log, apiserver_log[-3000:]  # its door's audit records are let in
    return kubectl


def _ingress_through_kubectl(kubectl: Kubectl, port: int, tmp_path: Path,
                             procs: list[tuple[str, subprocess.Popen[bytes], Path]]) -> None:
    """The ingress controller as its own principal: kubectl creates an IngressClass, a TLS
    Secret and an Ingress; the controller reads them (ACLs), asks the API for the Secret
    (a SecretRequest answered on kafkube.events), routes (503: no endpoints behind it) and
    writes the status kubectl then shows."""
    cert, key = self_signed("web.example.com")
    (tmp_path / "tls.crt").write_bytes(cert)
    (tmp_path / "tls.key").write_bytes(key)
    kubectl("create", "secret", "tls", "web-tls", f"--cert={tmp_path / 'tls.crt'}", f"--key={tmp_path / 'tls.key'}")
    group = "networking.k8s.io/v1"
    backend = {"service": {"name": "nothing", "port": {"number": 80}}}
    rule = {"host": "web.example.com", "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": backend}]}}
    kubectl("create", "-f", "-", "--validate=false", stdin=json.dumps({"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": group, "kind": "IngressClass", "metadata": {"name": "kafkube"},
         "spec": {"controller": "kafkube.io/ingress"}},
        {"apiVersion": group, "kind": "Ingress", "metadata": {"name": "web", "namespace": "default"},
         "spec": {"ingressClassName": "kafkube", "rules": [rule],
                  "tls": [{"hosts": ["web.example.com"], "secretName": "web-tls"}]}}]}))
    deadline, ip = time.monotonic() + 60, ""
    while (ip := kubectl("get", "ingress", "web", "-o", "jsonpath={.status.loadBalancer.ingress[0].ip}",
                         check=False).stdout) != "192.0.2.20":
        assert time.monotonic() < deadline, _diagnose(f"no status on the Ingress: {ip!r}", procs)
        time.sleep(1)
    log = next(log for name, _, log in procs if name == "ingress")
    while "ingress.tls_secret_loaded" not in log.read_text():
        assert time.monotonic() < deadline, _diagnose("the ingress controller never loaded its TLS Secret", procs)
        time.sleep(1)
    request = urllib.request.Request(f"http://127.0.0.1:{port}/", headers={"Host": "web.example.com"})
    with pytest.raises(urllib.error.HTTPError) as answer:
        urllib.request.urlopen(request, timeout=10)
    assert answer.value.code == 503  # routed to the Service, which has no endpoint


SCALED = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: scaled, namespace: default}
spec:
  replicas: 1
  selector: {matchLabels: {app: scaled}}
  template:
    metadata: {labels: {app: scaled}}
    spec:
      containers:
      - {name: app, image: kafkube/busybox:1.0, resources: {requests: {cpu: 100m}}}
"""
HPA = """\
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: scaled}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: scaled}
  minReplicas: 1
  maxReplicas: 3
  metrics:
  - type: Resource
    resource: {name: cpu, target: {type: Utilization, averageUtilization: 50}}
"""


def _wait_ready(name: str, port: int, procs: list[tuple[str, subprocess.Popen[bytes], Path]]) -> None:
    """`/readyz` on the service's KAFKUBE_METRICS_ADDRESS answers 200 (docs/metrics.md)."""
    deadline, last = time.monotonic() + 120, ""
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as answer:
                if answer.status == 200:
                    return
        except urllib.error.HTTPError as error:
            last = f"{error.code}: {error.read().decode(errors='replace')}"
        except OSError as error:
            last = str(error)
        assert time.monotonic() < deadline, _diagnose(f"{name} /readyz: {last}", procs)
        time.sleep(1)


async def _scale_in_the_dashboard(url: str, creds: Path, kubectl: Kubectl,
                                  procs: list[tuple[str, subprocess.Popen[bytes], Path]]) -> None:
    """The admin logs in to the dashboard with a token, applies a Deployment there, sees it
    rolled out (the controllers, scheduler and kubelet at work) and scales it to 2: each
    action a request with the admin's token, written by the kafkube-dashboard principal."""
    token = (creds / "tokens" / "admin.token").read_text().strip()
    deadline = time.monotonic() + 120
    async with aiohttp.ClientSession(base_url=url, cookie_jar=aiohttp.CookieJar(unsafe=True)) as admin:
        async with admin.post("/api/login", json={"token": token}) as answer:
            assert answer.status == 200, _diagnose(f"dashboard login: {await answer.text()}", procs)
        async with admin.post("/api/actions/apply", json={"manifest": SCALED}) as answer:
            body = await answer.json()
            assert answer.status == 200 and body["results"][0]["reason"] == "Created", _diagnose(str(body), procs)

        async def available(replicas: int) -> None:
            rows: list[dict[str, Any]] = []
            while not any(d["name"] == "scaled" and d["available"] == replicas for d in rows):
                assert time.monotonic() < deadline, _diagnose(f"not {replicas} available in {rows}", procs)
                await asyncio.sleep(0.5)
                async with admin.get("/api/views/workloads") as answer:
                    assert answer.status == 200, await answer.text()
                    rows = (await answer.json())["items"]

        await available(1)
        async with admin.post("/api/actions/scale",
                              json={"namespace": "default", "name": "scaled", "replicas": 2}) as answer:
            body = await answer.json()
            assert answer.status == 200 and body["results"][0]["reason"] == "Updated", _diagnose(str(body), procs)
        await available(2)
    assert kubectl("get", "deploy", "scaled", "-o", "jsonpath={.spec.replicas}").stdout == "2"


def _hpa_status_from_a_sample(broker: SecureBroker, kubectl: Kubectl,
                              procs: list[tuple[str, subprocess.Popen[bytes], Path]]) -> None:
    """An HPA on the Deployment gets its status from samples published on kafkube.metrics
    as the kubelets publish them (principal kafkube-kubelet): 50m of 100m requested is 50 %,
    read by the controllers' metrics follower as kafkube-controllers."""
    kubectl("apply", "-f", "-", stdin=HPA)

    async def publish(pods: list[str]) -> None:
        settings, now = broker.settings(KUBELET), datetime.now(timezone.utc)
        async with make_producer(settings) as producer:
            for name in pods:
                sample = PodMetrics(metadata=ObjectMeta(name=name, namespace="default"), timestamp=now, window="1s",
                                    containers=[ContainerMetrics(name="app", usage=Usage(cpu="50m", memory="1Mi"))])
                await producer.send_and_wait(Topics(broker.prefix).metrics, key=f"default/{name}".encode(),
                                             value=encode(sample))

    deadline = time.monotonic() + 90
    while True:
        pods: Any = kubectl.json("get", "pods", "-l", "app=scaled")["items"]
        asyncio.run(publish([p["metadata"]["name"] for p in pods]))
        status: Any = kubectl.json("get", "hpa", "scaled").get("status") or {}
        current = [((m.get("resource") or {}).get("current") or {}).get("averageUtilization")
                   for m in status.get("currentMetrics") or []]  # [{type: ""}] while it has no sample
        if current == [50]:
            return
        assert time.monotonic() < deadline, _diagnose(f"the HPA's status: {status}", procs)
        time.sleep(1)


def _wait_for_topics(broker: SecureBroker, procs: list[tuple[str, subprocess.Popen[bytes], Path]]) -> None:
    async def exist() -> bool:
        from services.runtime.bus import make_admin

        admin = make_admin(broker.settings(USER))
        await admin.start()
        try:
            return len(set(await admin.list_topics())) >= len(Topics(broker.prefix).specs())
        finally:
            await admin.close()

    deadline = time.monotonic() + 90
    while not asyncio.run(exist()):
        assert time.monotonic() < deadline and procs[0][1].poll() is None, _diagnose("the API created no topics", procs)
        time.sleep(1)


def _diagnose(what: str, procs: list[tuple[str, subprocess.Popen[bytes], Path]]) -> str:
    logs = "\n".join(f"----- {name} (exit {proc.poll()}) -----\n{log.read_text(errors='replace')[-3000:]}"
                     for name, proc, log in procs)
    return f"{what}\n{logs}"
