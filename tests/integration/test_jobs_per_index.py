"""The Job's per-index failures and success policy on the real broker with a hollow kubelet
fleet (hollow `exit` images end at once with their tag as exit code): an Indexed Job whose
every pod exits 3 under backoffLimitPerIndex 0 fails each index once (failedIndexes, the
Job Failed with FailedIndexes, one pod per index, never a retry); an Indexed Job whose
successPolicy asks for one succeeded index completes with reason SuccessPolicy."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from services.runtime.config import Settings
from tests.integration.kafkit import ServiceProcess, cli, get_json, wait_for
from tests.integration.test_jobs import condition

pytestmark = [pytest.mark.kafka]


def indexed(name: str, image: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
            "spec": {"completionMode": "Indexed", **spec, "template": {"spec": {
                "restartPolicy": "Never", "containers": [{"name": "main", "image": image}]}}}}


async def test_failed_indexes_and_a_success_policy(settings: Settings, services: Callable[..., ServiceProcess],
                                                   tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKUBE_KUBELET_ROOT", str(tmp_path / "kubelet"))
    monkeypatch.setenv("KAFKUBE_HEARTBEAT_SECONDS", "2")
    services("api")
    services("scheduler")
    services("controllers")
    services("kubelet", "--nodes", "2", "--node-prefix", f"pi{secrets.token_hex(2)}-", "--runtime", "hollow")
    docs = [indexed("perindex", "hollow/exit:3", completions=3, parallelism=3, backoffLimitPerIndex=0),
            indexed("early", "hollow/exit:0", completions=4, parallelism=1,
                    successPolicy={"rules": [{"succeededCount": 1}]})]
    path = tmp_path / "jobs.yaml"
    path.write_text("---\n".join(json.dumps(d) + "\n" for d in docs))
    applied = cli(settings, "apply", "-f", str(path), "--timeout", "120")  # the API may still be starting
    assert applied.returncode == 0, applied.stderr

    async def finished(name: str, type_: str) -> Any:
        job = get_json(settings, "job", name)
        return job if condition(job, type_) else None

    failed = await wait_for("perindex Failed", lambda: finished("perindex", "Failed"), timeout=120)
    status = failed["status"]
    assert condition(failed, "Failed")["reason"] == "FailedIndexes"  # type: ignore[index]
    assert status["failedIndexes"] == "0-2" and status["failed"] == 3 and status.get("succeeded", 0) == 0
    assert failed["spec"]["backoffLimit"] == 2**31 - 1  # the default beside backoffLimitPerIndex

    done = await wait_for("early Complete", lambda: finished("early", "Complete"), timeout=120)
    complete = condition(done, "Complete")
    assert complete is not None and (complete["reason"], complete["message"]) == ("SuccessPolicy",
                                                                                  "Matched rules at index 0")
    assert done["status"]["succeeded"] >= 1 and done["status"]["completedIndexes"].startswith("0")

    pods = (get_json(settings, "pods") or {}).get("items", [])
    per_index = [p for p in pods if p["metadata"]["labels"].get("batch.kubernetes.io/job-name") == "perindex"]
    indexes = sorted(p["metadata"]["annotations"]["batch.kubernetes.io/job-completion-index"] for p in per_index)
    assert indexes == ["0", "1", "2"]  # one pod per index: a failed index is never retried
    assert {p["metadata"]["annotations"]["batch.kubernetes.io/job-index-failure-count"] for p in per_index} == {"0"}
