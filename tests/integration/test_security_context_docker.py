"""securityContext on real Docker containers: what a process inside sees (`id`, a write to
`/`, CapEff and NoNewPrivs in /proc/self/status, an fsGroup-owned emptyDir and 0400 secret, a pod sysctl,
a Localhost seccomp profile), and runAsNonRoot refusing a root image (and a missing
seccomp profile refusing a container) before any container is created. What Pod Security
`baseline` keeps out of the API (Unconfined seccomp, Unmasked /proc) is checked on
DockerRuntime directly. (A privileged container cannot start where the Engine itself runs
without every capability, as on these machines: its mapping has unit tests only.)"""

from __future__ import annotations

import json
import re
import secrets
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from services.kubelet.runtime.base import (
    LABEL_CONTAINER, LABEL_NODE, ContainerConfig, ContainerSecurity, ImageUser, PodRef, SandboxConfig,
)
from services.kubelet.runtime.docker import DockerRuntime
from services.runtime.config import Settings
from tests.integration.test_kubelet_docker import (  # noqa: F401 (fixture)
    Node, apply, container, log_lines, node, pod_events, status_of,
)
from tests.integration.test_kubelet_hollow import eventually

pytestmark = [pytest.mark.kafka, pytest.mark.docker]
IMAGE = "kafkube/busybox:1.0"
CAP_CHOWN, CAP_KILL, CAP_NET_RAW = 0, 5, 13
NO_MKDIR = {"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]}


async def test_users_read_only_root_capabilities_and_no_new_privileges(settings: Settings, node: Node,  # noqa: F811
                                                                        tmp_path: Path) -> None:
    profiles = tmp_path / "kubelet" / "seccomp"  # the node fixture's KAFKUBE_KUBELET_ROOT
    profiles.mkdir(parents=True, exist_ok=True)
    (profiles / "no-mkdir.json").write_text(json.dumps(NO_MKDIR))
    status_line = "grep -E \"^(CapEff|NoNewPrivs)\" /proc/self/status | tr -d \"\\t\" | tr \"\\n\" \" \""
    apply(settings, tmp_path, f"""\
        apiVersion: v1
        kind: Secret
        metadata: {{name: locked-secret}}
        stringData: {{password: only-for-the-group}}
        ---
        apiVersion: v1
        kind: Pod
        metadata: {{name: locked}}
        spec:
          nodeName: {node.name}
          restartPolicy: Never
          terminationGracePeriodSeconds: 1
          securityContext:
            runAsGroup: 3000
            fsGroup: 2000
            supplementalGroups: [4000]
            sysctls: [{{name: net.ipv4.ip_local_port_range, value: "20000 30000"}}]
          volumes:
          - {{name: data, emptyDir: {{}}}}
          - {{name: sec, secret: {{secretName: locked-secret, defaultMode: 0400}}}}
          containers:
          - name: ids
            image: {IMAGE}
            securityContext: {{runAsUser: 1000}}
            volumeMounts: [{{name: data, mountPath: /data}}, {{name: sec, mountPath: /etc/sec}}]
            command: [sh, -c, 'echo "ids $(id -u) $(id -g) groups $(id -G)"; echo "data $(stat -c %g /data) $(touch /data/f && echo writable)"; echo "secret $(cat /etc/sec/password)"; echo "ids-status $({status_line})"; echo sysctl $(cat /proc/sys/net/ipv4/ip_local_port_range)']
          - name: readonly
            image: {IMAGE}
            securityContext: {{readOnlyRootFilesystem: true, runAsUser: 0}}
            command: [sh, -c, 'touch /probe 2>/dev/null && echo rootfs-writable || echo rootfs-read-only']
          - name: caps
            image: {IMAGE}
            securityContext: {{runAsUser: 0, capabilities: {{drop: [NET_RAW, CAP_CHOWN]}}}}
            command: [sh, -c, 'echo "caps-status $({status_line})"']
          - name: nocaps
            image: {IMAGE}
            securityContext: {{runAsUser: 0, allowPrivilegeEscalation: false, capabilities: {{drop: [ALL]}}}}
            command: [sh, -c, 'echo "nocaps-status $({status_line})"']
          - name: filtered
            image: {IMAGE}
            securityContext: {{seccompProfile: {{type: Localhost, localhostProfile: no-mkdir.json}}}}
            command: [sh, -c, 'mkdir /tmp/x 2>/dev/null && echo mkdir-allowed || echo mkdir-denied']
        """)

    async def finished() -> Any:
        status = await status_of(settings, "locked")
        return status if status and status.get("phase") in ("Succeeded", "Failed") else None

    status = await eventually(finished, timeout=180, what="pod locked finished")
    assert status["phase"] == "Succeeded", status

    async def output() -> Any:
        lines = await log_lines(settings, "locked")
        tags = {line.split(" ", 1)[0] for line in lines}
        return lines if {"ids", "data", "secret", "ids-status", "caps-status", "nocaps-status", "sysctl"} <= tags \
            and any(line.startswith("rootfs-") for line in lines) \
            and any(line.startswith("mkdir-") for line in lines) else None

    lines = await eventually(output, timeout=60, what="the containers' output")
    assert "ids 1000 3000 groups 3000 2000 4000" in lines, lines
    assert "data 2000 writable" in lines, lines  # the emptyDir is the fsGroup's, and group-writable
    assert "secret only-for-the-group" in lines, lines  # 0400 becomes 0440, group fsGroup
    assert "rootfs-read-only" in lines and "rootfs-writable" not in lines
    assert "sysctl 20000 30000" in lines, lines  # set on the sandbox, whose network namespace it is
    assert "mkdir-denied" in lines and "mkdir-allowed" not in lines
    ids, caps, nocaps = (_status(lines, tag) for tag in ("ids-status", "caps-status", "nocaps-status"))
    assert caps["NoNewPrivs"] == "0" and nocaps["NoNewPrivs"] == "1" and ids["NoNewPrivs"] == "0"
    effective = int(caps["CapEff"], 16)
    assert not effective & (1 << CAP_NET_RAW) and not effective & (1 << CAP_CHOWN)
    assert effective & (1 << CAP_KILL)  # only the dropped ones are gone
    assert int(nocaps["CapEff"], 16) == 0


async def test_run_as_non_root_refuses_a_root_image(settings: Settings, node: Node,  # noqa: F811
                                                    tmp_path: Path) -> None:
    apply(settings, tmp_path, f"""\
        apiVersion: v1
        kind: Pod
        metadata: {{name: rootless}}
        spec:
          nodeName: {node.name}
          terminationGracePeriodSeconds: 1
          securityContext: {{runAsNonRoot: true}}
          containers:
          - {{name: c, image: {IMAGE}, command: [sleep, '3600']}}
          - {{name: ok, image: {IMAGE}, command: [sleep, '3600'], securityContext: {{runAsUser: 1000}}}}
          - name: unprofiled
            image: {IMAGE}
            command: [sleep, '3600']
            securityContext: {{runAsUser: 1000, seccompProfile: {{type: Localhost, localhostProfile: absent.json}}}}
        """)

    async def refused() -> Any:
        status = await status_of(settings, "rootless")
        if not status or len(status.get("containerStatuses") or []) < 3:
            return None
        waiting = container(status, "c")["state"].get("waiting") or {}
        running = container(status, "ok")["state"].get("running")
        unprofiled = container(status, "unprofiled")["state"].get("waiting") or {}
        return (status, waiting, unprofiled) if waiting.get("reason") == "CreateContainerConfigError" \
            and running and unprofiled.get("message") else None

    status, waiting, unprofiled = await eventually(refused, timeout=180, what="c refused, ok running")
    assert 'cannot load seccomp profile "' in unprofiled["message"] and "absent.json" in unprofiled["message"]
    pattern = (r'container has runAsNonRoot and image will run as root '
               r'\(pod: "rootless_default\([0-9a-f-]+\)", container: c\)')
    assert re.fullmatch(pattern, waiting["message"]), waiting
    assert status["phase"] == "Pending" and container(status, "c")["restartCount"] == 0
    created = subprocess.run(["docker", "ps", "-aq", "--filter", f"label={LABEL_NODE}={node.name}",
                              "--filter", f"label={LABEL_CONTAINER}=c"], capture_output=True, text=True, check=True)
    assert created.stdout.split() == []  # never created, so never started
    events = await pod_events(settings, "rootless")
    failed = [e["message"] for e in events if e["reason"] == "Failed" and "runAsNonRoot" in e["message"]]
    assert failed and all(re.fullmatch("Error: " + pattern, m) for m in failed), failed
    assert "Started container c" not in [e["message"] for e in events]


@pytest.fixture
async def runtime(docker_ready: None) -> AsyncIterator[DockerRuntime]:
    async with DockerRuntime(f"sc-{secrets.token_hex(4)}") as rt:
        try:
            yield rt
        finally:
            for info in await rt.list_managed():
                await rt.remove(info.id)


async def test_unconfined_and_unmasked_reach_docker(runtime: DockerRuntime) -> None:
    assert await runtime.image_user(IMAGE) == ImageUser()  # busybox sets no USER: root
    pod = PodRef(namespace="default", name="p", uid=secrets.token_hex(16))
    sandbox = await runtime.run_sandbox(SandboxConfig(pod=pod, hostname="p"))
    probe = ("grep -E '^(Seccomp|CapEff):' /proc/self/status | tr -d '\\t' | tr '\\n' ' '; "
             "echo masked:$(grep -c ' /proc/timer_list ' /proc/self/mounts) ro:$(grep -c ' /proc/sys ' /proc/self/mounts)")
    seen: dict[str, dict[str, str]] = {}
    for name, security in {"default": ContainerSecurity(),
                           "open": ContainerSecurity(seccomp="Unconfined", unmasked_proc=True)}.items():
        config = ContainerConfig(pod=pod, name=name, role="app", image=IMAGE, command=["sleep", "60"],
                                 security=security)
        info = await runtime.create_and_start(sandbox, config)
        result = await runtime.exec(info.id, ["sh", "-c", probe], timeout_s=10)
        assert result.exit_code == 0, result.output
        seen[name] = dict(item.split(":", 1) for item in result.output.split())
    assert seen["default"]["Seccomp"] == "2" and seen["default"]["masked"] != "0" and seen["default"]["ro"] != "0"
    assert seen["open"]["Seccomp"] == "0" and seen["open"]["masked"] == "0" and seen["open"]["ro"] == "0"
    assert seen["open"]["CapEff"] == seen["default"]["CapEff"]  # Docker's default set either way


def _status(lines: list[str], tag: str) -> dict[str, str]:
    """`<tag> CapEff:00000000a80425fb NoNewPrivs:0` -> {"CapEff": ..., "NoNewPrivs": ...}."""
    line = next(line for line in lines if line.startswith(f"{tag} "))
    return dict(item.split(":", 1) for item in line.split()[1:])
