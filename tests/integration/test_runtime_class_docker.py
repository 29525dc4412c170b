"""RuntimeClasses end to end on real Docker (the Engine's second runtime, crun, registered by
scripts/docker.sh): a pod naming an unknown class is refused by the API in upstream's words
(through the CLI); a busybox pod with runtimeClassName crun runs on crun (the Engine's
HostConfig.Runtime of its containers) with the class's overhead and nodeSelector; a pod whose
class names a handler the Engine lacks gets the kubelet's FailedCreatePodSandBox event."""

from __future__ import annotations

import json
import subprocess
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from services.kubelet.runtime.base import LABEL_NAME, LABEL_NODE
from services.runtime.config import Settings
from tests.integration.kafkit import ServiceProcess, cli, docker_kubelet, get_json, wait_for

pytestmark = [pytest.mark.kafka, pytest.mark.docker]

CLASSES = textwrap.dedent("""\
    apiVersion: node.k8s.io/v1
    kind: RuntimeClass
    metadata: {name: crun}
    handler: crun
    overhead:
      podFixed: {cpu: 10m, memory: 8Mi}
    ---
    apiVersion: node.k8s.io/v1
    kind: RuntimeClass
    metadata: {name: missing}
    handler: not-installed
    """)


def pod(name: str, runtime_class: str) -> str:
    return textwrap.dedent(f"""\
        apiVersion: v1
        kind: Pod
        metadata: {{name: {name}}}
        spec:
          runtimeClassName: {runtime_class}
          terminationGracePeriodSeconds: 1
          containers:
          - name: main
            image: kafkube/busybox:1.0
            command: [sh, -c, 'echo on-crun; sleep 3600']
        """)


@pytest.fixture
def node(docker_ready: None, settings: Settings, services: Callable[..., ServiceProcess], tmp_path: Path,
         monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    engine = json.loads(subprocess.run(["docker", "info", "--format", "{{json .Runtimes}}"],
                                       capture_output=True, text=True, check=True).stdout)
    assert "crun" in engine, "scripts/docker.sh ensure registers the crun runtime"
    with docker_kubelet(services, monkeypatch, {"KAFKUBE_KUBELET_ROOT": str(tmp_path / "kubelet")}, "rc") as name:
        yield name


def apply(settings: Settings, tmp_path: Path, name: str, text: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / f"{name}.yaml"
    path.write_text(text)
    return cli(settings, "apply", "-f", str(path))


def runtimes_of(node: str, pod: str) -> list[str]:
    ids = subprocess.run(["docker", "ps", "-aq", "--filter", f"label={LABEL_NODE}={node}",
                          "--filter", f"label={LABEL_NAME}={pod}"], capture_output=True, text=True).stdout.split()
    if not ids:
        return []
    shown = subprocess.run(["docker", "inspect", "-f", "{{.HostConfig.Runtime}}", *ids],
                           capture_output=True, text=True, check=True)
    return shown.stdout.split()


async def test_pods_on_runtime_classes(settings: Settings, node: str, tmp_path: Path) -> None:
    refused = apply(settings, tmp_path, "unknown", pod("nowhere", "gvisor"))
    assert refused.returncode != 0
    assert 'pods "nowhere" is forbidden: pod rejected: RuntimeClass "gvisor" not found' in refused.stderr

    assert apply(settings, tmp_path, "classes", CLASSES).returncode == 0
    table = cli(settings, "get", "runtimeclasses").stdout.splitlines()
    assert table[0].split() == ["NAME", "HANDLER", "AGE"] and table[1].split()[:2] == ["crun", "crun"]

    assert apply(settings, tmp_path, "crun", pod("on-crun", "crun")).returncode == 0

    async def running() -> dict[str, Any] | None:
        found = get_json(settings, "pod", "on-crun")
        return found if ((found or {}).get("status") or {}).get("phase") == "Running" else None

    running_pod = await wait_for("the crun pod Running", running, timeout=120)
    assert running_pod["spec"]["overhead"] == {"cpu": "10m", "memory": "8Mi"}
    runtimes = runtimes_of(node, "on-crun")
    assert len(runtimes) == 2 and set(runtimes) == {"crun"}, runtimes  # the sandbox and the container

    async def logged() -> bool:
        return "on-crun" in cli(settings, "logs", "on-crun").stdout
    await wait_for("the crun container's output", logged, timeout=60)

    assert apply(settings, tmp_path, "missing", pod("no-handler", "missing")).returncode == 0

    async def failed_event() -> bool:
        return 'Failed to create pod sandbox: RuntimeHandler "not-installed" not supported' in \
            cli(settings, "events").stdout
    await wait_for("the FailedCreatePodSandBox event", failed_event, timeout=90)
    assert runtimes_of(node, "no-handler") == []
