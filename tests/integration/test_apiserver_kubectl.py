"""The real kubectl (/usr/bin/kubectl, 1.32) against `kafkube serve apiserver` in front of
`kafkube serve api`, on the real broker: discovery, apply (client-side, so strategic merge
patch on the second apply), get with tables, -o json, -l, --field-selector, patch (merge,
json), scale, delete, watches, `auth can-i`, `logs`, the door refusing unauthenticated (401)
and unauthorised (403) callers, and client certificates (`kafkube certs client`: the user and
groups they name, their writes impersonated to the API; one from another CA refused)."""

from __future__ import annotations

import asyncio
import json
import queue
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import orjson
import pytest

from schemas.records import LogLine
from services.runtime.bus import encode, make_producer
from services.runtime.config import Settings
from services.runtime.topics import Topics
from services.cli.tls import apiserver_pki, client_certificate
from tests.integration.kafkit import ServiceProcess, cli, credentials_dir, read_all

pytestmark = pytest.mark.kafka

KUBECTL = shutil.which("kubectl") or "/usr/bin/kubectl"
MANIFESTS = """\
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: default, labels: {app: x}}
data: {mode: fast}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: other, namespace: default, labels: {app: other}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: default, labels: {app: web}}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - {name: main, image: busybox:1.36, command: [sleep, "3600"], ports: [{containerPort: 80}]}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Kubectl:
    def __init__(self, kubeconfig: Path) -> None:
        self.kubeconfig = kubeconfig

    def __call__(self, *args: str, stdin: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([KUBECTL, "--kubeconfig", str(self.kubeconfig), "--request-timeout=20s", *args],
                              input=stdin, capture_output=True, text=True, timeout=60)
        if check:
            assert done.returncode == 0, f"kubectl {' '.join(args)}: {done.stderr}"
        return done

    def json(self, *args: str) -> dict[str, object]:
        return json.loads(self(*args, "-o", "json").stdout)  # type: ignore[no-any-return]


def kubeconfig_for(settings: Settings, tmp_path: Path, port: int, *, token_file: str | None = None) -> Path:
    extra = {"KAFKUBE_TOKEN_FILE": token_file} if token_file else {}
    made = cli(settings, "config", "kubeconfig", "--server", f"https://127.0.0.1:{port}",
               "--certificate-authority", str(credentials_dir() / "ca.crt"), extra_env=extra)
    assert made.returncode == 0, made.stderr
    path = tmp_path / f"kubeconfig-{len(list(tmp_path.glob('kubeconfig-*')))}"
    path.write_text(made.stdout)
    return path


def serve_apiserver(settings: Settings, services: Callable[..., ServiceProcess], tmp_path: Path,
                    monkeypatch: pytest.MonkeyPatch) -> tuple[Kubectl, int, ServiceProcess]:
    """One more `serve apiserver` (a replica) on a free port; kubectl as the session's
    admin, once it serves the default namespace."""
    port = free_port()
    monkeypatch.setenv("KAFKUBE_APISERVER_ADDRESS", f"127.0.0.1:{port}")
    monkeypatch.setenv("KAFKUBE_APISERVER_CERT_FILE", str(credentials_dir() / "apiserver.crt"))
    monkeypatch.setenv("KAFKUBE_APISERVER_KEY_FILE", str(credentials_dir() / "apiserver.key"))
    monkeypatch.setenv("KAFKUBE_APISERVER_CLIENT_CA_FILE", str(credentials_dir() / "ca.crt"))
    server = services("apiserver")
    kubectl = Kubectl(kubeconfig_for(settings, tmp_path, port))
    deadline = time.monotonic() + 180  # the API and the apiserver start slowly on a loaded machine
    while kubectl("get", "namespace", "default", check=False).returncode != 0:
        assert server.alive(), f"the apiserver stopped:\n{server.logs()[-3000:]}"
        assert time.monotonic() < deadline, "the default namespace was not served within 180 s"
        time.sleep(0.5)
    return kubectl, port, server


@pytest.fixture
def apiserver(settings: Settings, services: Callable[..., ServiceProcess], tmp_path: Path,
              monkeypatch: pytest.MonkeyPatch) -> tuple[Kubectl, int]:
    """`serve api` and `serve apiserver` on a free port; kubectl as the session's admin, once
    the apiserver is ready and the API has created the built-in namespaces."""
    services("api")
    kubectl, port, _ = serve_apiserver(settings, services, tmp_path, monkeypatch)
    return kubectl, port


def test_kubectl_reads_and_writes_through_the_apiserver(apiserver: tuple[Kubectl, int], tmp_path: Path) -> None:
    kubectl, _ = apiserver
    assert kubectl("get", "--raw", "/readyz").stdout.strip() == "ok"
    assert "kube-system" in kubectl("get", "ns").stdout
    listed = kubectl("api-resources", "-v=6")
    resources = listed.stdout
    assert "deployments" in resources and "deploy" in resources and "selfsubjectaccessreviews" in resources
    fetched = [line.split("GET ")[1].split("?")[0] for line in listed.stderr.splitlines() if "GET https" in line]
    assert [url.rsplit("/", 1)[1] for url in fetched] == ["api", "apis"], fetched  # aggregated discovery (v2)

    manifest = tmp_path / "m.yaml"
    manifest.write_text(MANIFESTS)
    applied = kubectl("apply", "-f", str(manifest)).stdout
    assert "configmap/settings created" in applied and "deployment.apps/web created" in applied
    table = kubectl("get", "deploy").stdout.splitlines()
    assert table[0].split() == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]  # the server's Table
    assert table[1].split()[:2] == ["web", "0/2"]
    assert "deployment.apps/web" in kubectl("get", "all").stdout  # the `all` category
    deploy = kubectl.json("get", "deploy", "web")
    assert deploy["kind"] == "Deployment" and deploy["spec"]["replicas"] == 2  # type: ignore[index]

    everywhere = kubectl("get", "cm", "-A", "-l", "app=x").stdout.splitlines()
    assert everywhere[0].split() == ["NAMESPACE", "NAME", "DATA", "AGE"] and everywhere[1].split()[:3] == \
        ["default", "settings", "1"]
    assert kubectl("get", "cm", "-l", "app=x", "-o", "name").stdout.split() == ["configmap/settings"]
    assert kubectl("get", "cm", "--field-selector", "metadata.name=other", "-o", "name").stdout.split() == \
        ["configmap/other"]

    # a second client-side apply is a strategic merge patch: the container keeps its ports
    manifest.write_text(MANIFESTS.replace("replicas: 2", "replicas: 3").replace("busybox:1.36", "busybox:1.37"))
    assert "deployment.apps/web configured" in kubectl("apply", "-f", str(manifest)).stdout
    container = kubectl.json("get", "deploy", "web")["spec"]["template"]["spec"]["containers"][0]  # type: ignore[index]
    assert container["image"] == "busybox:1.37" and container["ports"][0]["containerPort"] == 80

    kubectl("patch", "cm", "settings", "--type", "merge", "-p", '{"data":{"extra":"1"}}')
    kubectl("patch", "cm", "settings", "--type", "json", "-p", '[{"op":"replace","path":"/data/mode","value":"slow"}]')
    assert kubectl.json("get", "cm", "settings")["data"] == {"mode": "slow", "extra": "1"}
    kubectl("label", "cm", "settings", "tier=fe")
    assert kubectl("get", "cm", "-l", "tier=fe", "-o", "name").stdout.split() == ["configmap/settings"]
    kubectl("scale", "deploy", "web", "--replicas=1")
    assert kubectl.json("get", "deploy", "web")["spec"]["replicas"] == 1  # type: ignore[index]

    conflict = kubectl("create", "-f", str(manifest), check=False)
    assert conflict.returncode != 0 and "AlreadyExists" in conflict.stderr

    watch = subprocess.Popen([KUBECTL, "--kubeconfig", str(kubectl.kubeconfig), "get", "cm", "--watch",
                              "--output-watch-events"], stdout=subprocess.PIPE, text=True)
    lines = watch_lines(watch)
    seen: list[str] = []
    try:
        read_until(lines, seen, {("ADDED", "settings"), ("ADDED", "other")})  # the watch's initial list
        assert 'configmap "other" deleted' in kubectl("delete", "cm", "other").stdout
        read_until(lines, seen, {("DELETED", "other")})
    finally:
        watch.terminate()
        watch.communicate(timeout=10)
    missing = kubectl("get", "cm", "other", check=False)
    assert missing.returncode != 0 and 'configmaps "other" not found' in missing.stderr


def watch_lines(watch: subprocess.Popen[str]) -> queue.Queue[str]:
    """The lines `watch` prints, as it prints them ("" once it ends), read by a thread."""
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert watch.stdout is not None
        for line in watch.stdout:
            lines.put(line)
        lines.put("")

    threading.Thread(target=pump, daemon=True).start()
    return lines


def read_until(lines: queue.Queue[str], seen: list[str], wanted: set[tuple[str, str]], timeout_s: float = 60) -> None:
    """Take `kubectl get --watch --output-watch-events` lines into `seen` until every
    (event type, name) of `wanted` is among them."""
    deadline = time.monotonic() + timeout_s
    while not wanted <= {tuple(line.split()[:2]) for line in seen}:
        try:
            line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            raise AssertionError(f"no {sorted(wanted)} within {timeout_s:.0f} s: {seen}") from None
        assert line, f"the watch ended before {sorted(wanted)}: {seen}"
        seen.append(line)


async def test_kubectl_logs_reads_kafkube_logs(apiserver: tuple[Kubectl, int], settings: Settings) -> None:
    kubectl, _ = apiserver
    kubectl("create", "-f", "-", stdin='{"apiVersion":"v1","kind":"Pod","metadata":{"name":'
            '"logger","namespace":"default"},"spec":{"containers":[{"name":"main","image":"busybox:1.36"}]}}')
    async with make_producer(settings) as producer:  # as the pod's kubelet writes them
        for n in range(3):
            line = LogLine(namespace="default", pod="logger", container="main", stream="stdout",
                           timestamp=datetime(2026, 1, 1, 0, 0, n, tzinfo=timezone.utc), line=f"line {n}")
            await producer.send_and_wait(Topics(settings.topic_prefix).logs, key=b"default/logger",
                                         value=encode(line))
    assert kubectl("logs", "logger").stdout.splitlines() == ["line 0", "line 1", "line 2"]
    tail = kubectl("logs", "logger", "--tail=1", "--timestamps").stdout.splitlines()
    assert len(tail) == 1 and tail[0].startswith("2026-01-01T00:00:02") and tail[0].endswith(" line 2")
    wrong = kubectl("logs", "logger", "-c", "nope", check=False)
    assert wrong.returncode != 0 and "container nope is not valid for pod logger" in wrong.stderr


def watch_events(kubectl: Kubectl, query: str) -> list[dict[str, Any]]:
    raw = kubectl("get", "--raw", f"/api/v1/namespaces/default/configmaps?watch=1&timeoutSeconds=2&{query}").stdout
    return [json.loads(line) for line in raw.splitlines() if line.strip()]


def test_a_watch_resumes_exactly_from_a_list_or_an_object_and_expires_otherwise(apiserver: tuple[Kubectl, int]) -> None:
    kubectl, _ = apiserver
    kubectl("create", "-f", "-", stdin='{"apiVersion":"v1","kind":"ConfigMap",'
            '"metadata":{"name":"watched","namespace":"default"}}')
    listed = json.loads(kubectl("get", "--raw", "/api/v1/namespaces/default/configmaps").stdout)
    kubectl("label", "cm", "watched", "seen=yes")
    events = watch_events(kubectl, f"resourceVersion={listed['metadata']['resourceVersion']}")
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [("MODIFIED", "watched")]
    assert events[0]["object"]["metadata"]["labels"] == {"seen": "yes"}
    created = listed["items"][0]["metadata"]["resourceVersion"]  # an object's: the position after its change
    since_created = watch_events(kubectl, f"resourceVersion={created}")
    assert [(e["type"], e["object"]["metadata"].get("labels")) for e in since_created] == [("MODIFIED", {"seen": "yes"})]
    for foreign in (created.partition(".")[0], created.replace("configmaps", "secrets"), "1.2"):
        expired = watch_events(kubectl, f"resourceVersion={foreign}")
        assert [(e["type"], e["object"]["code"], e["object"]["reason"]) for e in expired] == [("ERROR", 410, "Expired")]
    initial = watch_events(kubectl, "sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true")
    assert [e["type"] for e in initial] == ["ADDED", "BOOKMARK"]
    assert initial[1]["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}


async def test_the_door_refuses_strangers_and_rbac_refuses_the_unauthorised(
        apiserver: tuple[Kubectl, int], settings: Settings, tmp_path: Path) -> None:
    kubectl, port = apiserver
    stranger = tmp_path / "stranger"
    stranger.write_text(kubectl.kubeconfig.read_text().replace("token: ", "token: wrong-"))
    refused = Kubectl(stranger)("get", "pods", check=False)
    assert refused.returncode != 0 and "Unauthorized" in refused.stderr

    scheduler = Kubectl(kubeconfig_for(settings, tmp_path, port, token_file=str(credentials_dir() / "tokens" /
                                                                                "scheduler.token")))
    assert scheduler("get", "services").returncode == 0  # the scheduler may list Services
    read = scheduler("get", "secrets", check=False)
    assert read.returncode != 0 and \
        'User "system:kube-scheduler" cannot list resource "secrets" in API group "" in the namespace "default"' \
        in read.stderr
    assert kubectl("auth", "can-i", "create", "pods").stdout.strip() == "yes"  # a protobuf review
    assert scheduler("auth", "can-i", "list", "pods", "-n", "kube-system").stdout.strip() == "yes"
    denied = scheduler("auth", "can-i", "create", "configmaps", check=False)
    assert denied.returncode == 1 and denied.stdout.strip() == "no"
    secret = scheduler("create", "secret", "generic", "s", "--from-literal=password=hunter2", check=False)
    assert secret.returncode != 0 and 'cannot create resource "secrets"' in secret.stderr and \
        "hunter2" not in secret.stderr, secret.stderr  # sealed for the API, refused by its RBAC as the caller
    write = scheduler("create", "-f", "-", check=False,  # refused by the API's own RBAC
                      stdin='{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"nope","namespace":"default"}}')
    assert write.returncode != 0 and 'cannot create resource "configmaps"' in write.stderr, write.stderr

    expected = {("list", "pods", "unauthenticated", "(unknown token)", "apiserver"),  # audited at the door
                ("list", "services", "allow", "system:kube-scheduler", "apiserver"),
                ("list", "secrets", "forbid", "system:kube-scheduler", "apiserver"),
                ("create", "configmaps", "forbid", "system:kube-scheduler", "apiserver")}  # by the API, once
    deadline = time.monotonic() + 30
    while not expected <= set(seen := await audited(settings)):
        assert time.monotonic() < deadline, f"missing audit records: {expected - set(seen)}"
        await asyncio.sleep(0.5)
    assert seen.count(("create", "configmaps", "forbid", "system:kube-scheduler", "apiserver")) == 1


async def audited(settings: Settings) -> list[tuple[str, str, str, str, str]]:
    """(verb, resource, decision, user, writer) of every audit record so far."""
    records = [orjson.loads(r.value) for r in await read_all(settings, Topics(settings.topic_prefix).audit)]
    return [(a["verb"], a["objectRef"].get("resource") or "", a["decision"], a["user"]["username"], a["writer"])
            for a in records]


CERT_ROLE = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: cm-reader, namespace: default}
rules:
- {apiGroups: [""], resources: [configmaps], verbs: [get, list, create]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: cm-readers, namespace: default}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: cm-reader}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: Group, name: readers}
"""


def certificate_kubeconfig(settings: Settings, tmp_path: Path, port: int, cert: Path, key: Path) -> Path:
    made = cli(settings, "config", "kubeconfig", "--server", f"https://127.0.0.1:{port}", "--certificate-authority",
               str(credentials_dir() / "ca.crt"), "--client-certificate", str(cert), "--client-key", str(key))
    assert made.returncode == 0, made.stderr
    path = tmp_path / f"kubeconfig-{cert.stem}"
    path.write_text(made.stdout)
    return path


def test_a_client_certificate_names_a_user_rbac_authorises(apiserver: tuple[Kubectl, int], settings: Settings,
                                                           tmp_path: Path) -> None:
    kubectl, port = apiserver
    issued = cli(settings, "certs", "client", str(credentials_dir()), "--user", "jane", "--group", "readers",
                 "--out", str(tmp_path / "jane"))
    assert issued.returncode == 0, issued.stderr
    jane = Kubectl(certificate_kubeconfig(settings, tmp_path, port, tmp_path / "jane.crt", tmp_path / "jane.key"))
    kubectl("apply", "--validate=false", "-f", "-", stdin=CERT_ROLE)
    kubectl("create", "-f", "-", "--validate=false", stdin='{"apiVersion":"v1","kind":"ConfigMap","metadata":'
            '{"name":"shared","namespace":"default"},"data":{"k":"v"}}')
    deadline = time.monotonic() + 30
    while (listed := jane("get", "cm", "-o", "name", check=False)).returncode != 0:  # the door's RBAC view follows
        assert time.monotonic() < deadline, listed.stderr
        time.sleep(0.5)
    assert "configmap/shared" in listed.stdout.split()
    assert jane.json("get", "cm", "shared")["data"] == {"k": "v"}
    secrets = jane("get", "secrets", check=False)
    assert secrets.returncode != 0 and 'User "jane" cannot list resource "secrets" in API group "" in the ' \
        'namespace "default"' in secrets.stderr, secrets.stderr
    elsewhere = jane("get", "cm", "-n", "kube-system", check=False)
    assert elsewhere.returncode != 0 and "(Forbidden)" in elsewhere.stderr
    assert jane("auth", "can-i", "list", "configmaps").stdout.strip() == "yes"
    # writes: the apiserver impersonates jane (and her groups) to the API, whose RBAC decides
    jane("create", "-f", "-", stdin='{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"mine",'
         '"namespace":"default"}}')
    assert kubectl("get", "cm", "mine", "-o", "name").stdout.strip() == "configmap/mine"
    refused = jane("delete", "cm", "mine", check=False)
    assert refused.returncode != 0 and 'User "jane" cannot delete resource "configmaps" in API group "" in the ' \
        'namespace "default"' in refused.stderr, refused.stderr


def test_a_certificate_of_another_ca_is_refused(apiserver: tuple[Kubectl, int], settings: Settings,
                                                tmp_path: Path) -> None:
    _, port = apiserver
    other = tmp_path / "other-ca"
    other.mkdir()
    apiserver_pki(other)  # a CA of its own, unknown to the apiserver
    cert, key = client_certificate(other, tmp_path / "mallory", user="kubernetes-admin", groups=("system:masters",))
    mallory = Kubectl(certificate_kubeconfig(settings, tmp_path, port, cert, key))
    refused = mallory("get", "pods", check=False)
    assert refused.returncode != 0 and "kubernetes-admin" not in refused.stdout
    assert any(sign in refused.stderr for sign in ("certificate", "tls", "Unauthorized", "EOF", "reset")), \
        refused.stderr
