"""An Indexed Job on real Docker containers, end to end: `kafkube apply` of 3
completions with parallelism 2, busybox printing its JOB_COMPLETION_INDEX; the Job
controller creates the pods (index annotation, env from it, finalizer), the kubelet
runs them to Succeeded, the controller counts them and the Job is Complete."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from services.runtime.config import Settings
from tests.integration.kafkit import ServiceProcess, cli, docker_kubelet, get_json, wait_for

pytestmark = [pytest.mark.kafka, pytest.mark.docker]

MANIFEST = textwrap.dedent("""\
    apiVersion: batch/v1
    kind: Job
    metadata: {name: count}
    spec:
      completions: 3
      parallelism: 2
      completionMode: Indexed
      template:
        spec:
          restartPolicy: Never
          terminationGracePeriodSeconds: 1
          containers:
          - name: main
            image: kafkube/busybox:1.0
            command: [sh, -c, 'echo $JOB_COMPLETION_INDEX; exit 0']
    """)


@pytest.fixture
def node(docker_ready: None, settings: Settings, services: Callable[..., ServiceProcess], tmp_path: Path,
         monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    with docker_kubelet(services, monkeypatch, {"KAFKUBE_KUBELET_ROOT": str(tmp_path / "kubelet")}, "jd") as name:
        yield name



async def test_an_indexed_job_completes(settings: Settings, node: str, tmp_path: Path) -> None:
    path = tmp_path / "job.yaml"
    path.write_text(MANIFEST)
    applied = cli(settings, "apply", "-f", str(path))
    assert applied.stdout.strip() == "job.batch/count created", applied.stderr

    async def complete() -> dict[str, Any] | None:
        job = get_json(settings, "job", "count")
        conditions = ((job or {}).get("status") or {}).get("conditions") or []
        return job if any(c["type"] == "Complete" and c["status"] == "True" for c in conditions) else None

    job = await wait_for("the Job Complete", complete, timeout=180)
    status = job["status"]
    assert status["succeeded"] == 3 and status["completedIndexes"] == "0-2", status
    assert status.get("failed", 0) == 0 and status["active"] == 0 and status["completionTime"]

    pods = (get_json(settings, "pods") or {}).get("items", [])
    by_index = {p["metadata"]["annotations"]["batch.kubernetes.io/job-completion-index"]: p for p in pods}
    assert sorted(by_index) == ["0", "1", "2"] and len(pods) == 3
    for index, pod in by_index.items():
        assert pod["status"]["phase"] == "Succeeded"
        assert pod["metadata"]["labels"]["batch.kubernetes.io/job-name"] == "count"
        assert "batch.kubernetes.io/job-tracking" not in (pod["metadata"].get("finalizers") or [])
        logs = cli(settings, "logs", pod["metadata"]["name"])
        # every line is the pod's index (the kubelet's log shipping has been seen, once in
        # several runs, to send the only line of a container that exits at once twice)
        lines = logs.stdout.split()
        assert lines and set(lines) == {index}, logs.stdout + logs.stderr

    table = cli(settings, "get", "jobs").stdout.splitlines()
    assert table[0].split() == ["NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE"]
    assert table[1].split()[:3] == ["count", "Complete", "3/3"]

    deleted = cli(settings, "delete", "job", "count")
    assert deleted.returncode == 0, deleted.stderr

    async def pods_gone() -> bool:
        listed = get_json(settings, "pods")  # None, a list, or one pod printed alone
        return not listed or listed.get("items") == []
    await wait_for("the garbage collector deletes the Job's pods", pods_gone, timeout=90)
