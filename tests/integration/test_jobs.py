"""Jobs on the real broker with a hollow kubelet fleet (hollow `exit` images end at
once with their tag as exit code): an Indexed Job of 24 completions survives a SIGKILL
of the controller manager mid-way with exactly one pod per index and exact counts; a
failing Job stops at its backoffLimit (Failed, BackoffLimitExceeded, failed =
backoffLimit + 1), under OnFailure once its pod's restarts reach it; a Job with
ttlSecondsAfterFinished 0 is deleted once Complete.
And kubectl through `serve apiserver`: apply of the examples, the server's Tables of Jobs
and CronJobs, `get all`, a bad schedule refused with the parser's message."""

from __future__ import annotations

import json
import secrets
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from services.runtime.config import Settings
from tests.integration.kafkit import ServiceProcess, cli, wait_for
from tests.integration.test_apiserver_kubectl import Kubectl, apiserver  # noqa: F401 - the fixture

pytestmark = [pytest.mark.kafka]


def manifest(name: str, image: str, restart: str = "Never", **spec: Any) -> str:
    """A Job as JSON (a YAML document too)."""
    return json.dumps({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
                       "spec": {**spec, "template": {"spec": {"restartPolicy": restart, "containers": [
                           {"name": "main", "image": image}]}}}}) + "\n"


def get_json(settings: Settings, *args: str) -> Any:
    out = cli(settings, "get", *args, "-o", "json")
    return json.loads(out.stdout) if out.returncode == 0 and out.stdout.strip() else None


def condition(job: Any, type_: str) -> dict[str, Any] | None:
    for cond in ((job or {}).get("status") or {}).get("conditions") or []:
        if cond["type"] == type_ and cond["status"] == "True":
            return dict(cond)
    return None


async def test_jobs_on_a_hollow_fleet(settings: Settings, services: Callable[..., ServiceProcess],
                                      tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKUBE_KUBELET_ROOT", str(tmp_path / "kubelet"))
    monkeypatch.setenv("KAFKUBE_HEARTBEAT_SECONDS", "2")
    services("api")
    services("scheduler")
    controllers = services("controllers")
    services("kubelet", "--nodes", "3", "--node-prefix", f"j{secrets.token_hex(2)}-", "--runtime", "hollow")

    docs = [manifest("many", "hollow/exit:0", completions=24, parallelism=3, completionMode="Indexed"),
            manifest("fails", "hollow/exit:3", completions=1, backoffLimit=2),
            manifest("brief", "hollow/exit:0", ttlSecondsAfterFinished=0),
            manifest("retries", "hollow/exit:3", "OnFailure", backoffLimit=1)]
    path = tmp_path / "jobs.yaml"
    path.write_text("---\n".join(docs))
    applied = cli(settings, "apply", "-f", str(path), "--timeout", "120")  # the API may still be starting
    assert applied.returncode == 0, applied.stdout + applied.stderr

    async def some_done() -> bool:
        return ((get_json(settings, "job", "many") or {}).get("status") or {}).get("succeeded", 0) >= 4
    await wait_for("the first successes of many", some_done, timeout=120, interval=0.2)
    assert controllers.kill() != 0  # SIGKILL mid-Job
    services("controllers")

    async def finished(name: str, type_: str) -> Any:
        job = get_json(settings, "job", name)
        return job if condition(job, type_) else None

    many = await wait_for("many Complete", lambda: finished("many", "Complete"), timeout=180)
    assert many["status"]["succeeded"] == 24 and many["status"]["completedIndexes"] == "0-23"
    assert many["status"].get("failed", 0) == 0 and not many["status"].get("uncountedTerminatedPods")
    pods = [p for p in (get_json(settings, "pods") or {}).get("items", [])
            if p["metadata"]["labels"].get("batch.kubernetes.io/job-name") == "many"]
    indexes = Counter(p["metadata"]["annotations"]["batch.kubernetes.io/job-completion-index"] for p in pods)
    assert indexes == Counter({str(i): 1 for i in range(24)})  # one pod per index: no duplicate

    fails = await wait_for("fails Failed", lambda: finished("fails", "Failed"), timeout=120)
    failed = condition(fails, "Failed")
    assert failed is not None and failed["reason"] == "BackoffLimitExceeded"
    assert failed["message"] == "Job has reached the specified backoff limit"
    assert fails["status"]["failed"] == 3 and fails["status"].get("succeeded", 0) == 0

    retries = await wait_for("retries Failed", lambda: finished("retries", "Failed"), timeout=120)
    assert (condition(retries, "Failed") or {}).get("reason") == "BackoffLimitExceeded"  # a restart under OnFailure

    async def brief_deleted() -> bool:
        return cli(settings, "get", "job", "brief").returncode != 0
    await wait_for("brief deleted after its TTL", brief_deleted, timeout=120)


def test_kubectl_applies_and_lists_jobs_and_cronjobs(apiserver: tuple[Kubectl, int], settings: Settings,
                                                     tmp_path: Path) -> None:
    kubectl, _ = apiserver
    examples = Path(__file__).parents[2] / "examples"
    for name in ("job.yaml", "cronjob.yaml"):
        kubectl("apply", "-f", str(examples / name))
    jobs = kubectl("get", "jobs").stdout.splitlines()
    assert jobs[0].split() == ["NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE"]  # the server's Table
    assert jobs[1].split()[:3] == ["count", "Running", "0/3"]
    cronjobs = kubectl("get", "cj").stdout.splitlines()
    assert cronjobs[0].split() == ["NAME", "SCHEDULE", "TIMEZONE", "SUSPEND", "ACTIVE", "LAST", "SCHEDULE", "AGE"]
    assert cronjobs[1].split()[:6] == ["report", "*/5", "*", "*", "*", "*"]
    everything = kubectl("get", "all").stdout
    assert "job.batch/count" in everything and "cronjob.batch/report" in everything
    job = kubectl.json("get", "job", "count")
    assert job["spec"]["backoffLimit"] == 4 and job["spec"]["completionMode"] == "Indexed"  # type: ignore[index]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({
        "apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "bad"},
        "spec": {"schedule": "61 * * * *", "jobTemplate": {"spec": {"template": {"spec": {
            "restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}}}}}}))
    assert 'The cronjobs "bad" is invalid' in kubectl("apply", "-f", str(bad), check=False).stderr
    refused = cli(settings, "apply", "-f", str(bad))
    assert 'spec.schedule: Invalid value: "61 * * * *": end of range (61) above maximum (59): 61' in refused.stderr, \
        refused.stderr


async def test_a_cronjob_keeps_its_schedule_across_a_controller_manager_kill(
        settings: Settings, services: Callable[..., ServiceProcess], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """`* * * * *` on a clock 60 times faster, shared by both controller managers
    (KAFKUBE_CRONJOB_TIME_ORIGIN): runs go on after a SIGKILL, each scheduled minute
    has at most one Job, and every Job completes."""
    monkeypatch.setenv("KAFKUBE_KUBELET_ROOT", str(tmp_path / "kubelet"))
    monkeypatch.setenv("KAFKUBE_CRONJOB_TIME_SCALE", "60")
    monkeypatch.setenv("KAFKUBE_CRONJOB_TIME_ORIGIN", str(time.time()))
    services("api")
    services("scheduler")
    controllers = services("controllers")
    services("kubelet", "--nodes", "2", "--node-prefix", f"c{secrets.token_hex(2)}-", "--runtime", "hollow")
    path = tmp_path / "cronjob.json"
    path.write_text(json.dumps({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "tick"}, "spec": {
        "schedule": "* * * * *", "successfulJobsHistoryLimit": 100, "jobTemplate": {"spec": {"template": {"spec": {
            "restartPolicy": "Never", "containers": [{"name": "main", "image": "hollow/exit:0"}]}}}}}}))
    assert cli(settings, "apply", "-f", str(path), "--timeout", "120").returncode == 0  # the API may still be starting

    def runs() -> list[dict[str, Any]]:
        listed = get_json(settings, "jobs") or {}
        return [j for j in listed.get("items", [listed] if listed else [])
                if (j["metadata"].get("ownerReferences") or [{}])[0].get("name") == "tick"]

    async def at_least(n: int) -> bool:
        return len(runs()) >= n
    await wait_for("two runs", lambda: at_least(2), timeout=120)
    assert controllers.kill() != 0
    before = len(runs())
    services("controllers")
    await wait_for("three more runs after the restart", lambda: at_least(before + 3), timeout=120)

    async def all_complete() -> list[dict[str, Any]] | None:
        jobs = runs()
        return jobs if all(condition(j, "Complete") for j in jobs) else None
    jobs = await wait_for("every run Complete", all_complete, timeout=120)
    scheduled = [j["metadata"]["annotations"]["batch.kubernetes.io/cronjob-scheduled-timestamp"] for j in jobs]
    assert len(scheduled) == len(set(scheduled))  # one Job per scheduled minute
    assert all(j["metadata"]["name"] == f"tick-{int(datetime.fromisoformat(t).timestamp()) // 60}"
               for j, t in zip(jobs, scheduled))
