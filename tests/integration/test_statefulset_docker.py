"""A StatefulSet on real Docker containers, end to end: three busybox pods behind a
headless Service, created in order by the StatefulSet controller, run by the Docker
kubelet. Each container's hostname is its pod's name; from a pod, the cluster DNS
(served by the proxy from the Endpoints, whose addresses carry the pods' hostnames)
resolves web-0.web.<ns>.svc.cluster.local to web-0's IP; after web-1 is deleted a new
web-1 (another uid) comes back under the same name and DNS name, and finds what the first
web-1 wrote to its claim data-web-1 (the default local-path class, provisioned on the node)."""

from __future__ import annotations

import json
import secrets
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from services.kubelet.runtime.base import LABEL_CONTAINER, LABEL_NAME, LABEL_NODE, LABEL_UID
from services.runtime.config import Settings
from tests.integration.kafkit import FAST_KUBELET, ServiceProcess, cli, publish, wait_for
from tests.integration.test_services import proxy_env  # noqa: F401 - the fixture
from tests.integration.test_statefulsets import View, statefulset

pytestmark = [pytest.mark.kafka, pytest.mark.docker]
DOMAIN = "default.svc.cluster.local"
BOOT = "hostname >> /data/boots && exec sleep 3600"  # each start appends to the ordinal's own claim


def docker_exec(node: str, pod: dict[str, Any], script: str) -> str:
    """`sh -c script` in the pod's container `main` (its uid: not an earlier pod's)."""
    ids = subprocess.run(["docker", "ps", "-q", "--filter", f"label={LABEL_NODE}={node}",
                          "--filter", f"label={LABEL_NAME}={pod['metadata']['name']}",
                          "--filter", f"label={LABEL_UID}={pod['metadata']['uid']}",
                          "--filter", f"label={LABEL_CONTAINER}=main"], capture_output=True, text=True).stdout.split()
    assert ids, f"no running container of {pod['metadata']['name']}"
    done = subprocess.run(["docker", "exec", ids[0], "sh", "-c", script], capture_output=True, text=True, timeout=60)
    return done.stdout + done.stderr


async def test_statefulset_pods_keep_their_names_and_dns_names(
        settings: Settings, services: Callable[..., ServiceProcess], docker_ready: None,
        proxy_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:  # noqa: F811
    node = f"sts-{secrets.token_hex(3)}"
    fast = {**FAST_KUBELET, "KAFKUBE_CLUSTER_DNS": "on"}  # the proxy serves the cluster DNS
    for key, value in {**fast, "KAFKUBE_KUBELET_ROOT": str(tmp_path / "kubelet")}.items():
        monkeypatch.setenv(key, value)
    for name in ("api", "scheduler", "controllers", "endpoints"):
        services(name)
    services("proxy", "--node", node)
    kubelet = services("kubelet", "--node", node, "--runtime", "docker")
    view = View(settings)
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
               "spec": {"clusterIP": "None", "selector": {"app": "web"}, "ports": [{"name": "http", "port": 80}]}}
    sts = statefulset("web", "kafkube/busybox:1.0", 3, volumeClaimTemplates=[{
        "metadata": {"name": "data"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "16Mi"}}}}])
    sts["spec"]["template"]["spec"].update(terminationGracePeriodSeconds=1, containers=[
        {"name": "main", "image": "kafkube/busybox:1.0", "command": ["sh", "-c", BOOT],
         "volumeMounts": [{"name": "data", "mountPath": "/data"}]}])
    try:
        async with view.informer:
            await view.informer.wait_synced()
            await publish(settings, [json.dumps(service).encode(), json.dumps(sts).encode()])

            async def running() -> dict[str, Any] | None:
                pods = view.pods("web")
                ok = view.status("web").get("readyReplicas") == 3 and len(pods) == 3
                return pods if ok and all(view.pod_ip(name) for name in pods) else None
            pods = await wait_for("web 3/3 on Docker", running, timeout=120, interval=0.2)
            assert docker_exec(node, pods["web-0"], "hostname").strip() == "web-0"
            assert f"web-0.web.{DOMAIN}" in docker_exec(node, pods["web-0"], "cat /etc/hosts")  # its FQDN
            dns_ip = proxy_env["KAFKUBE_CLUSTER_DNS_IP"]

            async def resolves(name: str) -> str | None:
                ip = view.pod_ip(name)
                answer = docker_exec(node, view.pods("web")["web-2"], f"nslookup {name}.web.{DOMAIN} {dns_ip}")
                return answer if ip and answer.rstrip().endswith(ip) else None
            await wait_for("web-0's DNS name", lambda: resolves("web-0"), timeout=60, interval=0.5)

            old_uid = pods["web-1"]["metadata"]["uid"]
            assert cli(settings, "delete", "pod", "web-1").returncode == 0

            async def back() -> dict[str, Any] | None:
                pod = view.pods("web").get("web-1")
                ok = pod is not None and pod["metadata"]["uid"] != old_uid and view.ready("web-1")
                return pod if ok and view.status("web").get("readyReplicas") == 3 else None
            reborn = await wait_for("a new web-1", back, timeout=120, interval=0.2)
            assert reborn["spec"]["hostname"] == "web-1"
            assert docker_exec(node, reborn, "hostname").strip() == "web-1"
            assert docker_exec(node, reborn, "cat /data/boots").split() == ["web-1", "web-1"]  # data-web-1 kept
            await wait_for("web-1's DNS name again", lambda: resolves("web-1"), timeout=60, interval=0.5)
    finally:
        kubelet.stop()  # first, or it would recreate what is removed below
        ids = subprocess.run(["docker", "ps", "-aq", "--filter", f"label={LABEL_NODE}={node}"],
                             capture_output=True, text=True).stdout.split()
        if ids:
            subprocess.run(["docker", "rm", "-f", "-v", *ids], capture_output=True)
