"""A CronJob that fires twice, on real Docker containers: `* * * * *` with the
controller's test-only clock running 60 times faster (KAFKUBE_CRONJOB_TIME_SCALE=60:
a scheduled minute every real second), concurrencyPolicy Forbid. Two of its Jobs run
busybox to completion; the CronJob's status names its last schedule and success, the
history limit keeps the finished Jobs at two; deleting it takes its Jobs and pods."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from services.runtime.config import Settings
from tests.integration.kafkit import ServiceProcess, cli, docker_kubelet, wait_for

pytestmark = [pytest.mark.kafka, pytest.mark.docker]

MANIFEST = textwrap.dedent("""\
    apiVersion: batch/v1
    kind: CronJob
    metadata: {name: tick}
    spec:
      schedule: "* * * * *"
      concurrencyPolicy: Forbid
      successfulJobsHistoryLimit: 2
      jobTemplate:
        spec:
          template:
            spec:
              restartPolicy: Never
              terminationGracePeriodSeconds: 1
              containers:
              - name: main
                image: kafkube/busybox:1.0
                command: [sh, -c, 'echo tick']
    """)


@pytest.fixture
def node(docker_ready: None, settings: Settings, services: Callable[..., ServiceProcess], tmp_path: Path,
         monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    with docker_kubelet(services, monkeypatch, {"KAFKUBE_KUBELET_ROOT": str(tmp_path / "kubelet"),
                                                "KAFKUBE_CRONJOB_TIME_SCALE": "60"}, "cj") as name:
        yield name


def items(settings: Settings, plural: str) -> list[dict[str, Any]]:
    out = cli(settings, "get", plural, "-o", "json")
    listed = json.loads(out.stdout) if out.returncode == 0 and out.stdout.strip() else {}
    return list(listed.get("items", [listed])) if listed else []  # one object is printed alone


async def test_a_cronjob_fires_twice(settings: Settings, node: str, tmp_path: Path) -> None:
    path = tmp_path / "cronjob.yaml"
    path.write_text(MANIFEST)
    applied = cli(settings, "apply", "-f", str(path))
    assert applied.stdout.strip() == "cronjob.batch/tick created", applied.stderr
    completed: set[str] = set()

    async def two_runs_completed() -> bool:
        for job in items(settings, "jobs"):
            owner = (job["metadata"].get("ownerReferences") or [{}])[0]
            done = any(c["type"] == "Complete" and c["status"] == "True"
                       for c in (job.get("status") or {}).get("conditions") or [])
            if owner.get("kind") == "CronJob" and owner.get("name") == "tick" and done:
                assert job["metadata"]["name"].startswith("tick-")
                assert "batch.kubernetes.io/cronjob-scheduled-timestamp" in job["metadata"]["annotations"]
                completed.add(job["metadata"]["name"])
        return len(completed) >= 2

    await wait_for("two runs completed", two_runs_completed, timeout=180)
    [cj] = items(settings, "cronjobs")
    assert cj["status"]["lastScheduleTime"] and cj["status"]["lastSuccessfulTime"]
    table = cli(settings, "get", "cronjobs").stdout.splitlines()
    assert table[0].split() == ["NAME", "SCHEDULE", "TIMEZONE", "SUSPEND", "ACTIVE", "LAST", "SCHEDULE", "AGE"]
    assert table[1].split()[:7] == ["tick", "*", "*", "*", "*", "*", "<none>"]

    async def history_kept() -> bool:
        finished = [j for j in items(settings, "jobs")
                    if any(c["type"] == "Complete" and c["status"] == "True"
                           for c in (j.get("status") or {}).get("conditions") or [])]
        return len(finished) <= 2
    await wait_for("at most 2 finished Jobs kept", history_kept, timeout=60)

    assert cli(settings, "delete", "cronjob", "tick").returncode == 0

    async def all_gone() -> bool:
        return not items(settings, "jobs") and not items(settings, "pods")
    await wait_for("the CronJob's Jobs and pods garbage-collected", all_gone, timeout=120)
