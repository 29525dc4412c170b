"""The kubelet's RuntimeClass handling: a pod's class to its handler (services.kubelet.runtime_classes),
Docker's HostConfig.Runtime on the sandbox and the containers, the Engine's "Unknown runtime"
answer as RuntimeHandlerUnsupported, and the sync's FailedCreatePodSandBox events."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aiodocker.exceptions import DockerError

from schemas.pod import Pod
from services.kubelet.cache import ContainerCache
from services.kubelet.logs import LogStreamer
from services.kubelet.probes import ProbeManager
from services.kubelet.runtime.base import ContainerConfig, ContainerInfo, PodRef, SandboxConfig
from services.kubelet.runtime.docker_config import container_body, sandbox_body
from services.kubelet.runtime.docker_errors import failure
from services.kubelet.runtime.errors import RuntimeHandlerUnsupported
from services.kubelet.runtime.hollow import HollowRuntime
from services.kubelet.runtime_classes import RuntimeClassNotFound, runtime_handler
from services.kubelet.sync import PodSyncer, Views, sandbox_config
from services.kubelet.volumes import VolumeManager
from tests.unit.kubelet.helpers import pod
from tests.unit.kubelet.test_sync import FakeEmitter

REF = PodRef(namespace="default", name="p", uid="u-1")
CLASSES = {"crun": {"metadata": {"name": "crun"}, "handler": "crun"},
           "fancy": {"metadata": {"name": "fancy"}, "handler": "nope"}}


def test_the_handler_of_the_pods_class() -> None:
    assert runtime_handler(pod("web"), CLASSES) is None  # no class: the Engine's default runtime
    assert runtime_handler(pod("web", runtimeClassName="crun"), CLASSES) == "crun"
    with pytest.raises(RuntimeClassNotFound, match='runtimeclass.node.k8s.io "gone" not found'):
        runtime_handler(pod("web", runtimeClassName="gone"), CLASSES)


def test_the_sandbox_and_its_containers_run_on_the_handler() -> None:
    config = sandbox_config(pod("web", runtimeClassName="crun"), runtime_handler="crun")
    assert sandbox_body(config, node="n1", image="pause", attempt=0)["HostConfig"]["Runtime"] == "crun"
    assert "Runtime" not in sandbox_body(SandboxConfig(pod=REF, hostname="p"), node="n1", image="pause",
                                         attempt=0)["HostConfig"]
    sandbox = ContainerInfo(id="sb", pod=REF, name="POD", role="infra", image="pause", state="running")
    app = ContainerConfig(pod=REF, name="web", role="app", image="img", runtime_handler="crun")
    assert container_body(sandbox, app, node="n1")["HostConfig"]["Runtime"] == "crun"
    plain = app.model_copy(update={"runtime_handler": None})
    assert "Runtime" not in container_body(sandbox, plain, node="n1")["HostConfig"]


def test_the_engines_unknown_runtime_answer() -> None:
    error = failure(DockerError(400, "Unknown runtime specified nope"), "sandbox of default/p")
    assert isinstance(error, RuntimeHandlerUnsupported) and error.handler == "nope"
    other = failure(DockerError(400, "invalid mount config"), "x")
    assert not isinstance(other, RuntimeHandlerUnsupported)


class EngineWithRuntimes(HollowRuntime):
    """A hollow Engine that, as Docker does, refuses a runtime it has not registered."""

    RUNTIMES = ("runc", "crun")

    async def run_sandbox(self, config: SandboxConfig) -> ContainerInfo:
        if config.runtime_handler and config.runtime_handler not in self.RUNTIMES:
            raise RuntimeHandlerUnsupported(config.runtime_handler,
                                            f"Unknown runtime specified {config.runtime_handler}")
        return await super().run_sandbox(config)


def syncer(pods: dict[str, Pod], tmp_path: Path) -> tuple[PodSyncer, FakeEmitter, HollowRuntime]:
    runtime, emitter = EngineWithRuntimes("n1"), FakeEmitter()
    views = Views(pod=pods.get, pod_known=lambda k: k in pods, configmaps=dict, secrets=dict,
                  runtime_classes=lambda: CLASSES)
    sync = PodSyncer(node="n1", runtime=runtime, cache=ContainerCache(runtime), views=views,
                     volumes=VolumeManager(tmp_path, "n1"),
                     probes=ProbeManager(runtime, emitter, lambda _k: None),  # type: ignore[arg-type]
                     logs=LogStreamer(runtime, emitter),  # type: ignore[arg-type]
                     emitter=emitter, wake_after=lambda _k, _d: None, host_ip="192.168.0.9")  # type: ignore[arg-type]
    return sync, emitter, runtime


@pytest.mark.parametrize(("class_name", "message"), [
    ("fancy", 'Failed to create pod sandbox: RuntimeHandler "nope" not supported'),
    ("gone", 'Failed to create pod sandbox: runtimeclass.node.k8s.io "gone" not found'),
])
async def test_a_pod_whose_runtime_cannot_run_gets_the_event(tmp_path: Path, class_name: str, message: str) -> None:
    pods = {"default/p": pod("web", runtimeClassName=class_name)}
    sync, emitter, runtime = syncer(pods, tmp_path)
    await sync.cache.relist()
    with pytest.raises(Exception):  # the queue retries the sync with back-off
        await sync.sync("default/p")
    assert ("FailedCreatePodSandBox", message) in emitter.events
    assert await runtime.list_managed() == []


async def test_a_pod_on_a_registered_runtime_runs(tmp_path: Path) -> None:
    pods: dict[str, Any] = {"default/p": pod("web", runtimeClassName="crun")}
    sync, emitter, _ = syncer(pods, tmp_path)
    await sync.cache.relist()
    await sync.sync("default/p")
    assert emitter.statuses["default/p"]["phase"] == "Running"
