"""Pod security on the real broker, through `kafkube apply` and the API process: each
manifest that would give root on a node (a hostPath of `/`, the Docker socket,
hostNetwork) is refused in a namespace at the default level (baseline) with upstream's
message and admitted in a namespace labelled privileged; a subPath escape, a ConfigMap
item path escape and a loopback or metadata-service Endpoints address are refused
everywhere."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from services.runtime.config import Settings
from tests.integration.kafkit import ServiceProcess, cli

pytestmark = pytest.mark.kafka
IMAGE = "kafkube/busybox:1.0"


def apply(settings: Settings, tmp_path: Path, text: str) -> tuple[int, str]:
    path = tmp_path / "m.yaml"
    path.write_text(textwrap.dedent(text))
    result = cli(settings, "apply", "-f", str(path))
    return result.returncode, result.stdout + result.stderr


def pod(name: str, namespace: str, spec: str) -> str:
    return f"""\
        apiVersion: v1
        kind: Pod
        metadata: {{name: {name}, namespace: {namespace}}}
        spec:
          containers: [{{name: c, image: {IMAGE}, volumeMounts: [{{name: v, mountPath: /host}}]}}]
          {spec}
        """


ROOTING = {
    "root": ("volumes: [{name: v, hostPath: {path: /}}]", 'hostPath volumes (volume "v")'),
    "sock": ("volumes: [{name: v, hostPath: {path: /var/run/docker.sock}}]", 'hostPath volumes (volume "v")'),
    "hostnet": ("hostNetwork: true\n          volumes: [{name: v, emptyDir: {}}]", "host namespaces (hostNetwork=true)"),
}


def test_what_roots_a_node_is_refused_at_baseline_and_admitted_where_privileged(
        settings: Settings, services: Callable[..., ServiceProcess], tmp_path: Path) -> None:
    services("api")
    code, out = apply(settings, tmp_path, """\
        apiVersion: v1
        kind: Namespace
        metadata: {name: ops, labels: {pod-security.kubernetes.io/enforce: privileged}}
        """)
    assert code == 0, out
    for name, (spec, detail) in ROOTING.items():
        code, out = apply(settings, tmp_path, pod(name, "default", spec))
        assert code != 0 and f'pods "{name}" is forbidden: violates PodSecurity "baseline:latest": {detail}' in out, out
        code, out = apply(settings, tmp_path, pod(name, "ops", spec))
        assert code == 0 and "created" in out, out

    escapes = {
        "subpath": ("volumes: [{name: v, emptyDir: {}}]", "subPath: ../../../../../../.."),
        "item": ("volumes: [{name: v, configMap: {name: cm, items: [{key: k, path: ../../root/.ssh/authorized_keys}]}}]",
                 ""),
    }
    for name, (spec, sub) in escapes.items():
        text = pod(name, "ops", spec)
        if sub:
            text = text.replace("mountPath: /host}", f"mountPath: /host, {sub}}}")
        code, out = apply(settings, tmp_path, text)
        assert code != 0 and "must not contain '..'" in out, out  # in a privileged namespace too

    for address in ("127.0.0.1", "169.254.169.254"):
        code, out = apply(settings, tmp_path, f"""\
            apiVersion: v1
            kind: Endpoints
            metadata: {{name: relay, namespace: ops}}
            subsets: [{{addresses: [{{ip: "{address}"}}], ports: [{{port: 9092}}]}}]
            """)
        assert code != 0 and address in out and "may not be in the" in out, out

    listed = cli(settings, "get", "pods", "-n", "default", "-o", "name")
    assert listed.stdout.strip() == "", listed.stdout  # nothing refused was stored
