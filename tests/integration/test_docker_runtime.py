"""DockerRuntime against the real Docker Engine: pods built from kafkube/busybox:1.0.

Each test uses a random node name and removes every container of that node in `finally`.
"""

from __future__ import annotations

import asyncio
import secrets
import socket
import subprocess
import time
import urllib.request
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from services.kubelet.runtime.base import (
    ContainerConfig,
    ContainerInfo,
    ImageUnavailable,
    Mount,
    PodRef,
    SandboxConfig,
)
from services.kubelet.runtime.docker import DockerRuntime
from services.kubelet.runtime.errors import ContainerNotFound, ContainerNotRunning, ContainerStartFailed
from tests.conftest import REPO_ROOT

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("docker_ready", "images")]

BUSYBOX = "kafkube/busybox:1.0"


@pytest.fixture(scope="session")
def images(docker_ready: None) -> None:
    """kafkube/busybox:1.0 and kafkube/pause:1.0 exist (scripts/images.sh is fast when they do)."""
    proc = subprocess.run(["bash", str(REPO_ROOT / "scripts" / "images.sh")], capture_output=True, text=True,
                          timeout=600, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr[-2000:]


async def _cleanup(runtime: DockerRuntime) -> None:
    for info in await runtime.list_managed():
        await runtime.remove(info.id)


@pytest.fixture
async def runtime() -> AsyncIterator[DockerRuntime]:
    async with DockerRuntime(f"test-{secrets.token_hex(4)}") as rt:
        try:
            yield rt
        finally:
            await _cleanup(rt)


def new_pod(name: str = "pod") -> PodRef:
    return PodRef(namespace="default", name=name, uid=secrets.token_hex(16))


def app(pod: PodRef, name: str, *, command: list[str] | None = None, args: list[str] | None = None,
        **fields: Any) -> ContainerConfig:
    return ContainerConfig(pod=pod, name=name, role="app", image=BUSYBOX, command=command, args=args, **fields)


def sh(script: str) -> list[str]:
    return ["sh", "-c", script]


async def wait_exited(runtime: DockerRuntime, container_id: str, timeout_s: float = 60) -> ContainerInfo:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        info = await runtime.inspect(container_id)
        assert info is not None
        if info.state == "exited":
            return info
        await asyncio.sleep(0.1)
    raise AssertionError(f"{container_id[:12]} still running after {timeout_s}s")


async def exit_code(runtime: DockerRuntime, container_id: str) -> int | None:
    info = await runtime.inspect(container_id)
    assert info is not None, f"{container_id[:12]} is gone"
    return info.exit_code


async def wait_for_line(runtime: DockerRuntime, container_id: str, line: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while line not in [c.line async for c in runtime.logs(container_id, follow=False)]:
        assert time.monotonic() < deadline, f"{container_id[:12]} did not print {line!r} in {timeout_s}s"
        await asyncio.sleep(0.1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def http_get(url: str, timeout_s: float = 60) -> str:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return str(response.read().decode())
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


async def test_pod_containers_share_localhost_mounts_env_and_ports(runtime: DockerRuntime, tmp_path: Path) -> None:
    www = tmp_path / "www"
    www.mkdir()
    (www / "index.html").write_text("hello from kafkube\n")
    pod = new_pod("web")
    host_port = free_port()
    sandbox = await runtime.run_sandbox(SandboxConfig(
        pod=pod, hostname="web-0", dns_servers=["10.96.0.10"], dns_search=["default.svc.cluster.local"],
        port_bindings=[(8080, host_port, "TCP")]))
    assert sandbox.state == "running" and sandbox.ip and sandbox.role == "infra" and sandbox.name == "POD"
    assert (await runtime.run_sandbox(SandboxConfig(pod=pod, hostname="web-0"))).id == sandbox.id

    web_config = app(pod, "web", command=["httpd"], args=["-f", "-p", "8080", "-h", "/www"],
                     mounts=[Mount(host_path=str(www), container_path="/www", read_only=True)])
    web = await runtime.create_and_start(sandbox, web_config)
    assert (await runtime.create_and_start(sandbox, web_config)).id == web.id  # idempotent per attempt
    client = await runtime.create_and_start(sandbox, app(
        pod, "client", command=["sh", "-c"], env={"GREETING": "hi"},
        args=['echo "$GREETING from $(hostname) in $(pwd)"; cat /etc/resolv.conf; '
              'for i in $(seq 300); do wget -qO- http://127.0.0.1:8080/ && exit 0; sleep 0.1; done; exit 1'],
        working_dir="/tmp"))
    done = await wait_exited(runtime, client.id)
    output = [chunk.line async for chunk in runtime.logs(client.id, follow=False)]
    assert done.exit_code == 0, output
    assert output[0] == "hi from web-0 in /tmp"
    assert "nameserver 10.96.0.10" in output and "search default.svc.cluster.local" in output
    assert output[-1] == "hello from kafkube"

    read_only = await runtime.exec(web.id, sh("touch /www/new"), timeout_s=30)
    assert read_only.exit_code != 0 and "Read-only" in read_only.output
    assert await asyncio.to_thread(http_get, f"http://127.0.0.1:{host_port}/") == "hello from kafkube\n"
    assert await asyncio.to_thread(http_get, f"http://{sandbox.ip}:8080/") == "hello from kafkube\n"


async def test_command_replaces_entrypoint_and_cmd_args_replace_cmd(runtime: DockerRuntime) -> None:
    pod = new_pod()
    sandbox = await runtime.run_sandbox(SandboxConfig(pod=pod, hostname="pod"))
    only_command = await runtime.create_and_start(sandbox, app(pod, "a", command=["echo", "command"]))
    only_args = await runtime.create_and_start(sandbox, app(pod, "b", args=["echo", "args"]))
    for container, expected in ((only_command, ["command"]), (only_args, ["args"])):
        await wait_exited(runtime, container.id)
        assert [c.line async for c in runtime.logs(container.id, follow=False)] == expected


async def test_exit_code_and_oom_killed(runtime: DockerRuntime) -> None:
    pod = new_pod()
    sandbox = await runtime.run_sandbox(SandboxConfig(pod=pod, hostname="pod"))
    failing = await runtime.create_and_start(sandbox, app(pod, "fail", command=sh("exit 3")))
    hog = await runtime.create_and_start(sandbox, app(
        pod, "hog", command=sh("head -c 200m /dev/zero | tail"), memory_limit_bytes=50 * 2**20, attempt=2,
        nano_cpus=500_000_000, cpu_shares=512))
    limits = subprocess.run(["docker", "inspect", "-f", "{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}} "
                             "{{.HostConfig.NanoCpus}} {{.HostConfig.CpuShares}} {{.HostConfig.RestartPolicy.Name}}",
                             hog.id], capture_output=True, text=True, check=True).stdout.split()
    assert limits == [str(50 * 2**20), str(50 * 2**20), "500000000", "512", "no"]
    failed, oom = await wait_exited(runtime, failing.id), await wait_exited(runtime, hog.id)
    assert (failed.exit_code, failed.oom_killed) == (3, False)
    assert (oom.exit_code, oom.oom_killed) == (137, True)
    assert oom.attempt == 2 and oom.name == "hog" and oom.pod == pod and oom.image == BUSYBOX
    assert oom.image_id and oom.image_id.startswith("sha256:")
    assert failed.started_at and failed.finished_at and failed.started_at <= failed.finished_at
    assert abs(datetime.now(UTC) - failed.finished_at) < timedelta(minutes=1)


async def test_stop_honours_the_grace_period(runtime: DockerRuntime) -> None:
    pod = new_pod()
    sandbox = await runtime.run_sandbox(SandboxConfig(pod=pod, hostname="pod"))
    stubborn = await runtime.create_and_start(sandbox, app(
        pod, "stubborn", command=sh('trap "" TERM; echo trapped; while :; do sleep 1; done')))
    polite = await runtime.create_and_start(sandbox, app(
        pod, "polite", command=sh("trap 'exit 0' TERM; echo trapped; sleep 1000 & wait")))
    custom = await runtime.create_and_start(sandbox, app(
        pod, "custom", command=sh("trap 'exit 7' USR1; trap '' TERM; echo trapped; sleep 1000 & wait"),
        stop_signal="SIGUSR1"))
    for container in (stubborn, polite, custom):  # each shell has installed its traps
        await wait_for_line(runtime, container.id, "trapped")

    async def timed_stop(container_id: str, grace_s: int) -> float:
        start = time.monotonic()
        await runtime.stop(container_id, grace_s=grace_s)
        return time.monotonic() - start

    slow, quick, signalled = await asyncio.gather(
        timed_stop(stubborn.id, 3), timed_stop(polite.id, 30), timed_stop(custom.id, 30))
    # The exit codes say which signal ended each; the times only bound what load cannot
    # fake: the stubborn one had its full grace, and no stop waited out a 30 s grace.
    assert (await exit_code(runtime, custom.id), await exit_code(runtime, stubborn.id),
            await exit_code(runtime, polite.id)) == (7, 137, 0)
    assert 2.5 <= slow < 25, slow
    assert quick < 25 and signalled < 25, (quick, signalled)
    await runtime.stop(polite.id, grace_s=1)  # already stopped: fine
    await runtime.remove(polite.id)
    await runtime.remove(polite.id)  # already gone: fine
    await runtime.stop(polite.id, grace_s=1)
    assert await runtime.inspect(polite.id) is None


async def test_list_managed_sees_only_its_node_and_survives_a_new_instance(runtime: DockerRuntime) -> None:
    pod = new_pod("mine")
    sandbox = await runtime.run_sandbox(SandboxConfig(pod=pod, hostname="mine"))
    async with DockerRuntime(f"other-{secrets.token_hex(4)}") as other:
        try:
            foreign = await other.run_sandbox(SandboxConfig(pod=new_pod("theirs"), hostname="theirs"))
            assert [i.id for i in await runtime.list_managed()] == [sandbox.id]
            assert [i.id for i in await other.list_managed()] == [foreign.id]
        finally:
            await _cleanup(other)
    await runtime.stop(sandbox.id, grace_s=5)
    async with DockerRuntime(runtime.node) as restarted:
        [adopted] = await restarted.list_managed()
        assert (adopted.id, adopted.pod, adopted.role, adopted.name, adopted.state) == (
            sandbox.id, pod, "infra", "POD", "exited")
        replacement = await restarted.run_sandbox(SandboxConfig(pod=pod, hostname="mine"))
        assert replacement.id != sandbox.id and replacement.attempt == 1 and replacement.state == "running"


async def test_logs_keep_streams_apart_with_timestamps(runtime: DockerRuntime) -> None:
    pod = new_pod()
    sandbox = await runtime.run_sandbox(SandboxConfig(pod=pod, hostname="pod"))
    before = datetime.now(UTC) - timedelta(seconds=2)
    talker = await runtime.create_and_start(sandbox, app(
        pod, "talker", command=sh("echo out1; echo err1 >&2; printf 'no newline'; sleep 0.5; echo; "
                                  "head -c 40000 /dev/zero | tr '\\0' x; echo; sleep 0.5; echo out2")))
    followed = [c async for c in runtime.logs(talker.id, follow=True)]  # ends when the container does
    assert [(c.stream, c.line) for c in followed if c.stream == "stderr"] == [("stderr", "err1")]
    assert [c.line for c in followed if c.stream == "stdout"] == ["out1", "no newline", "x" * 40000, "out2"]
    assert all(before <= c.timestamp <= datetime.now(UTC) for c in followed)
    read = [c async for c in runtime.logs(talker.id, follow=False)]  # both streams, merged by time
    assert sorted(read, key=lambda c: c.line) == sorted(followed, key=lambda c: c.line)
    assert [c.timestamp for c in read] == sorted(c.timestamp for c in read)
    late = next(c for c in followed if c.line == "out2").timestamp - timedelta(milliseconds=100)
    assert [c.line async for c in runtime.logs(talker.id, since=late, follow=False)] == ["out2"]


async def test_ensure_image_follows_the_pull_policy(runtime: DockerRuntime) -> None:
    missing = f"kafkube/missing-{secrets.token_hex(3)}:1.0"
    present_never = await runtime.ensure_image(BUSYBOX, "Never")
    assert (present_never.present, present_never.error) == (True, None)
    never = await runtime.ensure_image(missing, "Never")
    assert not never.present and never.error == f'Container image "{missing}" is not present with pull policy of Never'
    assert (await runtime.ensure_image(BUSYBOX, "IfNotPresent")).present
    for policy in ("IfNotPresent", "Always"):
        status = await runtime.ensure_image(missing, policy)
        assert not status.present and not status.pulled
        assert status.error and status.error.startswith(f'failed to pull image "{missing}": ')
    always = await runtime.ensure_image(BUSYBOX, "Always")  # no registry here: the local image serves
    assert always.present and not always.pulled and always.error and "local image" in always.error


async def test_exec_reports_exit_codes_and_timeouts(runtime: DockerRuntime) -> None:
    pod = new_pod()
    sandbox = await runtime.run_sandbox(SandboxConfig(pod=pod, hostname="pod"))
    box = await runtime.create_and_start(sandbox, app(pod, "box", command=sh("sleep 1000 & wait"), env={"X": "y"}))
    ok = await runtime.exec(box.id, sh("echo $X; echo err >&2"), timeout_s=30)
    assert (ok.exit_code, sorted(ok.output.split())) == (0, ["err", "y"])
    assert (await runtime.exec(box.id, sh("exit 4"), timeout_s=30)).exit_code == 4
    assert (await runtime.exec(box.id, ["no-such-binary"], timeout_s=30)).exit_code in (126, 127)
    slow = await runtime.exec(box.id, ["sleep", "10"], timeout_s=0.5)
    assert slow.exit_code != 0 and "timed out" in slow.output
    await runtime.stop(box.id, grace_s=0)
    with pytest.raises(ContainerNotRunning):
        await runtime.exec(box.id, ["true"], timeout_s=5)


async def test_create_failures_are_typed_and_leave_nothing_behind(runtime: DockerRuntime) -> None:
    pod = new_pod()
    sandbox = await runtime.run_sandbox(SandboxConfig(pod=pod, hostname="pod"))
    with pytest.raises(ContainerStartFailed, match="no such file"):
        await runtime.create_and_start(sandbox, app(pod, "bad", command=["/no/such/binary"]))
    with pytest.raises(ImageUnavailable):
        await runtime.create_and_start(sandbox, app(pod, "img").model_copy(update={"image": "kafkube/absent:0"}))
    await runtime.stop(sandbox.id, grace_s=5)
    with pytest.raises(ContainerNotRunning):
        await runtime.create_and_start(sandbox, app(pod, "late"))
    await runtime.remove(sandbox.id)
    with pytest.raises(ContainerNotFound):
        await runtime.create_and_start(sandbox, app(pod, "later"))
    assert await runtime.list_managed() == []
