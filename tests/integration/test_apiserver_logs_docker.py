"""`kubectl logs` and `kubectl logs --previous` through `kafkube serve apiserver`, of a real
container that failed once and was restarted by its Docker kubelet: the current run's
output, the previous run's, and the kubelet's refusal of `--previous` for a container that
never restarted. Every line on `kafkube.logs` carries the run that wrote it."""

from __future__ import annotations

import time

import pytest

from tests.integration.test_apiserver_kubectl import Kubectl, apiserver  # noqa: F401 - the fixture
from tests.integration.test_apiserver_streams import POD, node, running_pod  # noqa: F401 - the fixture

pytestmark = [pytest.mark.kafka, pytest.mark.docker]

FAILS_ONCE = "'n=$(ls /tmp/runs | wc -l); touch /tmp/runs/$n; echo run-$n; [ $n -ge 1 ] || exit 1; exec sleep 3600'"


def restarted_once(kubectl: Kubectl, name: str) -> None:
    deadline = time.monotonic() + 120
    path = "jsonpath={.status.containerStatuses[0].restartCount}/{.status.phase}"
    while kubectl("get", "pod", name, "-o", path, check=False).stdout != "1/Running":
        assert time.monotonic() < deadline, kubectl("get", "pod", name, "-o", "yaml").stdout
        time.sleep(0.5)


def lines_of(kubectl: Kubectl, *args: str) -> list[str]:
    deadline = time.monotonic() + 30  # the kubelet ships lines as the container writes them
    while not (found := kubectl("logs", *args).stdout.splitlines()):
        assert time.monotonic() < deadline, f"no logs for {args}"
        time.sleep(0.5)
    return found


def test_logs_of_the_current_and_the_previous_run(apiserver: tuple[Kubectl, int], node: str) -> None:
    kubectl, _ = apiserver
    kubectl("create", "-f", "-", stdin=POD.format(name="flaky", node=node, command=FAILS_ONCE).replace(
        "  containers:", "  volumes: [{name: runs, emptyDir: {}}]\n  containers:").replace(
        "    command:", "    volumeMounts: [{name: runs, mountPath: /tmp/runs}]\n    command:"))
    restarted_once(kubectl, "flaky")
    assert lines_of(kubectl, "flaky") == ["run-1"]
    assert lines_of(kubectl, "flaky", "--previous") == ["run-0"]

    running_pod(kubectl, node, "steady")
    never = kubectl("logs", "steady", "--previous", check=False)
    assert never.returncode == 1
    assert 'previous terminated container "main" in pod "steady" not found' in never.stderr, never.stderr
