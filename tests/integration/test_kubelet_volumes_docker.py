"""The kubelet's volumes on real containers: a secret volume lives on a tmpfs (seen from
the host in /proc/self/mounts) with the modes asked and is gone once the pod is deleted;
a symlink to `/` that one container plants in an emptyDir never makes the kubelet bind
the host's root through another container's subPath (CreateContainerConfigError)."""

from __future__ import annotations

import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest

from services.kubelet.tmpfs import read_mounts
from services.runtime.config import Settings
from tests.integration.kafkit import cli
from tests.integration.test_kubelet_docker import IMAGE, Node, apply, container, log_lines, node, status_of
from tests.integration.test_kubelet_hollow import eventually

pytestmark = [pytest.mark.kafka, pytest.mark.docker]
__all__ = ["node"]  # the fixture


def pod_dirs(tmp_path: Path, node: Node) -> list[Path]:
    base = tmp_path / "kubelet" / node.name / "pods"
    return list(base.iterdir()) if base.is_dir() else []


async def test_secret_volume_on_tmpfs_with_modes_and_removed_with_the_pod(settings: Settings, node: Node,
                                                                           tmp_path: Path) -> None:
    apply(settings, tmp_path, f"""\
        apiVersion: v1
        kind: Secret
        metadata: {{name: tmpfs-secret}}
        data: {{password: czNjcmV0, other: b3RoZXI=}}
        ---
        apiVersion: v1
        kind: Pod
        metadata: {{name: keeper}}
        spec:
          nodeName: {node.name}
          terminationGracePeriodSeconds: 1
          volumes:
          - name: sec
            secret:
              secretName: tmpfs-secret
              defaultMode: 0440
              items: [{{key: password, path: password}}, {{key: other, path: deep/other, mode: 0400}}]
          containers:
          - name: reader
            image: {IMAGE}
            command: [sh, -c, 'echo "read $(cat /etc/sec/password)"; exec sleep 3600']
            volumeMounts: [{{name: sec, mountPath: /etc/sec, readOnly: true}}]
        """)

    async def read() -> Any:
        return "read s3cret" in await log_lines(settings, "keeper")

    await eventually(read, timeout=180, what="the reader's secret on kafkube.logs")
    (pod_dir,) = pod_dirs(tmp_path, node)
    volume = pod_dir / "volumes/secret/sec"
    assert (str(volume), "tmpfs") in read_mounts()
    modes = {str(p.relative_to(volume)): stat.S_IMODE(p.stat().st_mode) for p in volume.rglob("*") if p.is_file()}
    assert modes == {"password": 0o440, "deep/other": 0o400}
    token = pod_dir / "volumes/kube-api-access/serviceaccount"
    assert (str(token), "tmpfs") in read_mounts() and (token / "token").read_bytes()

    assert cli(settings, "delete", "pod", "keeper").returncode == 0

    async def gone() -> bool:
        return not pod_dir.exists()

    await eventually(gone, timeout=60, what="the pod's volumes removed")
    assert not any(p.startswith(str(pod_dir)) for p, _ in read_mounts())


async def test_a_planted_symlink_to_root_is_not_followed_by_a_subpath(settings: Settings, node: Node,
                                                                      tmp_path: Path) -> None:
    apply(settings, tmp_path, f"""\
        apiVersion: v1
        kind: Pod
        metadata: {{name: planter}}
        spec:
          nodeName: {node.name}
          terminationGracePeriodSeconds: 1
          volumes: [{{name: shared, emptyDir: {{}}}}]
          initContainers:
          - name: plant
            image: {IMAGE}
            command: [sh, -c, 'ln -s / /shared/escape && mkdir /shared/fine']
            volumeMounts: [{{name: shared, mountPath: /shared}}]
          containers:
          - name: victim
            image: {IMAGE}
            command: [sh, -c, 'ls /host; exec sleep 3600']
            volumeMounts: [{{name: shared, mountPath: /host, subPath: escape}}]
          - name: bystander
            image: {IMAGE}
            command: [sh, -c, 'exec sleep 3600']
            volumeMounts: [{{name: shared, mountPath: /fine, subPath: fine}}]
        """)

    async def refused() -> Any:
        status = await status_of(settings, "planter")
        if not status or not status.get("containerStatuses"):
            return None
        waiting = container(status, "victim")["state"].get("waiting") or {}
        running = "running" in container(status, "bystander")["state"]
        return waiting if waiting.get("reason") == "CreateContainerConfigError" and running else None

    waiting = await eventually(refused, timeout=180, what="victim refused, bystander running")
    assert waiting["message"] == 'failed to prepare subPath for volumeMount "shared" of container "victim"'
    assert node.containers("label=io.kafkube.container=victim") == []
    (pod_dir,) = pod_dirs(tmp_path, node)
    assert (pod_dir / "volumes/empty-dir/shared/escape").is_symlink()
    (bystander,) = node.containers("label=io.kafkube.container=bystander")
    binds = subprocess.run(["docker", "inspect", "-f", "{{json .HostConfig.Binds}}", bystander],
                           capture_output=True, text=True, check=True).stdout
    bound = f"{pod_dir}/volume-subpaths/shared/bystander/0"
    assert f"{bound}:/fine" in binds  # the checked directory, bound by descriptor where no container reaches
    assert bound in [p for p, _ in read_mounts()]
