"""The real kubectl (1.32) exec, attach and port-forward through `kafkube serve apiserver`
to a Docker kubelet's streaming endpoint, into real containers: output, stdin, the exit
code carried back, a terminal (-t), attach following a running process, port-forward to
an httpd in a pod and to a port nobody listens on; RBAC `create pods/exec` refused (403);
the kubelet's endpoint refusing a caller without a valid stream ticket."""

from __future__ import annotations

import json
import shlex
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import aiohttp
import pytest

from services.runtime.config import Settings
from tests.integration.kafkit import ServiceProcess, credentials_dir, docker_kubelet
from tests.integration.test_apiserver_kubectl import (  # noqa: F401 - the fixture
    KUBECTL, Kubectl, apiserver, free_port, kubeconfig_for)

pytestmark = [pytest.mark.kafka, pytest.mark.docker]

POD = """\
apiVersion: v1
kind: Pod
metadata: {{name: {name}, namespace: default}}
spec:
  nodeName: {node}
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: kafkube/busybox:1.0
    command: [sh, -c, {command}]
"""
TICKING = """'trap "exit 0" TERM; while :; do echo tick; sleep 1; done'"""
SERVING = """'mkdir -p /www && echo hello-forward > /www/index.html && exec httpd -f -p 8080 -h /www'"""


@pytest.fixture
def node(docker_ready: None, services: Callable[..., ServiceProcess], tmp_path: Path,
         monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """One Docker kubelet with its streaming endpoint on a free port; its containers removed at the end."""
    with docker_kubelet(services, monkeypatch, {"KAFKUBE_KUBELET_ROOT": str(tmp_path / "kubelet"),
                                                "KAFKUBE_KUBELET_PORT": "0"}, "st", control_plane=()) as name:
        yield name


def running_pod(kubectl: Kubectl, node: str, name: str, command: str = TICKING) -> None:
    kubectl("create", "-f", "-", "--validate=false", stdin=POD.format(name=name, node=node, command=command))
    deadline = time.monotonic() + 90
    while kubectl("get", "pod", name, "-o", "jsonpath={.status.phase}", check=False).stdout != "Running":
        assert time.monotonic() < deadline, kubectl("get", "pod", name, "-o", "yaml").stdout
        time.sleep(0.5)


def kubelet_endpoint(kubectl: Kubectl, node: str) -> str:
    status = kubectl.json("get", "node", node)["status"]
    port = status["daemonEndpoints"]["kubeletEndpoint"]["Port"]  # type: ignore[index]
    address = next(a["address"] for a in status["addresses"] if a["type"] == "InternalIP")  # type: ignore[index]
    return f"http://{address}:{port}"


def test_exec_and_attach_through_the_apiserver(apiserver: tuple[Kubectl, int], node: str) -> None:
    kubectl, _ = apiserver
    running_pod(kubectl, node, "shell")

    done = kubectl("exec", "shell", "--", "sh", "-c", "echo hi; echo oops >&2; exit 3", check=False)
    assert (done.returncode, done.stdout) == (3, "hi\n"), done.stderr
    assert "oops" in done.stderr and "command terminated with exit code 3" in done.stderr
    assert kubectl("exec", "shell", "-c", "main", "--", "cat", "/etc/hostname").stdout.strip() == "shell"

    echoed = kubectl("exec", "-i", "shell", "--", "sh", "-c", "tr a-z A-Z; echo end", stdin="hello stdin\n")
    assert echoed.stdout == "HELLO STDIN\nend\n"

    terminal = subprocess.Popen(  # a terminal for kubectl (script(1)), its input held open
        ["script", "-qec", shlex.join([KUBECTL, "--kubeconfig", str(kubectl.kubeconfig), "exec", "-it", "shell", "--",
                                       "sh", "-c", "tty; exit 4"]), "/dev/null"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert terminal.wait(timeout=60) == 4 and terminal.stdout is not None
        assert terminal.stdout.read().startswith("/dev/pts/")  # the command ran on a terminal
    finally:
        terminal.kill()
        terminal.communicate()

    attach = subprocess.Popen([KUBECTL, "--kubeconfig", str(kubectl.kubeconfig), "attach", "shell", "-c", "main"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert attach.stdout is not None
        assert attach.stdout.readline().strip() == "tick"  # the main process's output, as it runs
    finally:
        attach.terminate()
        attach.wait(timeout=30)

    missing = kubectl("exec", "nobody", "--", "true", check=False)
    assert missing.returncode == 1 and 'pods "nobody" not found' in missing.stderr


def test_exec_needs_create_pods_exec(apiserver: tuple[Kubectl, int], settings: Settings, tmp_path: Path,
                                     node: str) -> None:
    kubectl, port = apiserver
    running_pod(kubectl, node, "guarded")
    scheduler = Kubectl(kubeconfig_for(settings, tmp_path, port,
                                       token_file=str(credentials_dir() / "tokens" / "scheduler.token")))
    refused = scheduler("exec", "guarded", "--", "true", check=False)
    assert refused.returncode == 1 and \
        'User "system:kube-scheduler" cannot create resource "pods/exec" in API group "" in the namespace ' \
        '"default"' in refused.stderr, refused.stderr


async def test_the_kubelet_refuses_a_caller_without_a_ticket(apiserver: tuple[Kubectl, int], node: str) -> None:
    kubectl, _ = apiserver
    running_pod(kubectl, node, "private")
    endpoint = kubelet_endpoint(kubectl, node)
    forged = "eyJub2RlIjoieCJ9.0000"
    async with aiohttp.ClientSession() as session:
        for headers in ({}, {"X-Kafkube-Stream-Ticket": forged}):
            async with session.get(f"{endpoint}/exec?command=id", headers=headers) as response:
                assert response.status == 401, await response.text()
                assert "Unauthorized" in await response.text()
    assert json.loads(kubectl("get", "--raw", "/api/v1").stdout)["resources"]  # the apiserver is still fine


def test_port_forward_through_the_apiserver(apiserver: tuple[Kubectl, int], node: str) -> None:
    kubectl, _ = apiserver
    running_pod(kubectl, node, "site", SERVING)
    local, closed = free_port(), free_port()
    forward = subprocess.Popen([KUBECTL, "--kubeconfig", str(kubectl.kubeconfig), "port-forward", "pod/site",
                                f"{local}:8080", f"{closed}:9999"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    try:
        assert forward.stdout is not None
        assert forward.stdout.readline().startswith(f"Forwarding from 127.0.0.1:{local} -> 8080")
        for _ in range(3):  # one SPDY stream pair per connection, all in one session
            with urllib.request.urlopen(f"http://127.0.0.1:{local}/", timeout=30) as response:
                assert response.read() == b"hello-forward\n"
        with socket.create_connection(("127.0.0.1", closed), timeout=30) as nobody:
            assert nobody.recv(100) == b""  # nothing listens on 9999 in the pod: closed at once
        forward.wait(timeout=60)  # kubectl gives up the session after an error, as with kube-apiserver
    finally:
        forward.terminate()
        _, errors = forward.communicate(timeout=30)
    assert "error forwarding port 9999 to pod site" in errors and "connection refused" in errors.lower(), errors
