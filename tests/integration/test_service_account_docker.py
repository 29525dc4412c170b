"""End to end on the real Docker Engine: a busybox pod reads its ServiceAccount token
volume (the kubelet asked the API process for the token over the bus, opened it with
its node key and mounted it read-only), and a pod with automountServiceAccountToken:
false has none. Uses the API + Docker kubelet fixture of test_kubelet_docker."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from services.runtime.config import Settings
from tests.integration.test_kubelet_docker import Node, apply, log_lines, node, status_of  # noqa: F401 (fixture)
from tests.integration.test_kubelet_hollow import eventually

pytestmark = [pytest.mark.kafka, pytest.mark.docker]
IMAGE = "kafkube/busybox:1.0"
SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"


async def test_a_pod_reads_its_service_account_token_volume(settings: Settings, node: Node,  # noqa: F811
                                                            tmp_path: Path) -> None:
    script = (f"echo ns=$(cat {SA_DIR}/namespace); echo token-bytes=$(wc -c < {SA_DIR}/token); "
              f"echo ca-bytes=$(wc -c < {SA_DIR}/ca.crt); echo mode=$(stat -c %a:%u {SA_DIR}/token); "
              f"touch {SA_DIR}/x 2>/dev/null && echo writable || echo read-only")
    apply(settings, tmp_path, f"""\
        apiVersion: v1
        kind: Pod
        metadata: {{name: reader}}
        spec:
          nodeName: {node.name}
          restartPolicy: Never
          terminationGracePeriodSeconds: 1
          containers:
          - {{name: c, image: {IMAGE}, command: [sh, -c, '{script}']}}
        ---
        apiVersion: v1
        kind: Pod
        metadata: {{name: no-token}}
        spec:
          nodeName: {node.name}
          restartPolicy: Never
          automountServiceAccountToken: false
          terminationGracePeriodSeconds: 1
          containers:
          - {{name: c, image: {IMAGE}, command: [sh, -c, 'ls {SA_DIR} 2>/dev/null && echo mounted || echo absent']}}
        """)

    async def finished(name: str) -> Any:
        status = await status_of(settings, name)
        return status if status and status.get("phase") in ("Succeeded", "Failed") else None

    for name in ("reader", "no-token"):
        status = await eventually(lambda: finished(name), timeout=180, what=f"pod {name} finished")
        assert status["phase"] == "Succeeded", status

    async def lines_of(name: str, last: str) -> Any:
        lines = await log_lines(settings, name)
        return lines if any(line.startswith(last) for line in lines) else None

    lines = await eventually(lambda: lines_of("reader", "read-only"), what="the reader's output")
    assert "ns=default" in lines
    token_lines = {line for line in lines if line.startswith("token-bytes=")}  # logs are at-least-once
    assert len(token_lines) == 1 and int(token_lines.pop().split("=")[1]) > 100, lines
    assert "ca-bytes=0" in lines and "mode=644:0" in lines and "read-only" in lines
    assert await eventually(lambda: lines_of("no-token", "absent"), what="no-token's output")
