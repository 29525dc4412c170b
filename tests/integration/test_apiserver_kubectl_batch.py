"""kubectl's typed batch/v1 writes through `kafkube serve apiserver` (they send protobuf
bodies, read by services/apiserver/protobuf_typed.py): `kubectl create job NAME --image
-- CMD`, `kubectl create cronjob NAME --image --schedule`, `kubectl create job --from=cronjob/NAME`
(the CronJob's template, its owner reference and the manual-instantiation annotation), and
a Job the server refuses answered in kube-apiserver's words."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.test_apiserver_kubectl import Kubectl, apiserver  # noqa: F401 (fixture)

pytestmark = pytest.mark.kafka
IMAGE = "kafkube/busybox:1.0"


def test_kubectl_creates_jobs_and_cronjobs(apiserver: tuple[Kubectl, int]) -> None:  # noqa: F811
    kubectl, _ = apiserver
    made = kubectl("create", "job", "once", f"--image={IMAGE}", "--", "sh", "-c", "echo hi")
    assert made.stdout.strip() == "job.batch/once created", made.stderr
    job: dict[str, Any] = kubectl.json("get", "job", "once")
    pod = job["spec"]["template"]["spec"]
    assert pod["containers"][0]["command"] == ["sh", "-c", "echo hi"] and pod["containers"][0]["image"] == IMAGE
    assert pod["restartPolicy"] == "Never" and job["spec"]["backoffLimit"] == 6  # the server's defaults

    made = kubectl("create", "cronjob", "tick", f"--image={IMAGE}", "--schedule=*/1 * * * *", "--", "date")
    assert made.stdout.strip() == "cronjob.batch/tick created", made.stderr
    cronjob: dict[str, Any] = kubectl.json("get", "cronjob", "tick")
    assert cronjob["spec"]["schedule"] == "*/1 * * * *" and cronjob["spec"]["concurrencyPolicy"] == "Allow"
    assert cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["command"] == ["date"]

    made = kubectl("create", "job", "manual", "--from=cronjob/tick")
    assert made.stdout.strip() == "job.batch/manual created", made.stderr
    manual: dict[str, Any] = kubectl.json("get", "job", "manual")
    assert manual["metadata"]["annotations"]["cronjob.kubernetes.io/instantiate"] == "manual"
    (owner,) = manual["metadata"]["ownerReferences"]
    assert (owner["kind"], owner["name"], owner["uid"]) == ("CronJob", "tick", cronjob["metadata"]["uid"])
    assert owner.get("controller") is True
    assert manual["spec"]["template"]["spec"]["containers"][0]["command"] == ["date"]

    refused = kubectl("create", "cronjob", "bad", f"--image={IMAGE}", "--schedule=@every 5d", check=False)
    assert refused.returncode != 0
    assert 'spec.schedule: Invalid value: "@every 5d": failed to parse duration @every 5d' in refused.stderr
