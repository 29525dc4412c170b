"""Resource metrics on real containers: a Docker kubelet samples a pod burning CPU every
second and publishes on `kafkube.metrics`; `kafkube top pods|nodes` and the real kubectl's
`top pods|nodes` (through `serve apiserver`'s metrics.k8s.io) show it well above 100m, and
label selectors pick it by its current labels."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from services.runtime.config import Settings
from tests.integration.kafkit import cli, credentials_dir
from tests.integration.test_apiserver_kubectl import Kubectl, apiserver, kubeconfig_for  # noqa: F401 - the fixture
from tests.integration.test_apiserver_streams import node, running_pod  # noqa: F401 - the fixture

pytestmark = [pytest.mark.kafka, pytest.mark.docker]

BURNING = "'while :; do :; done'"
PODS_PATH = "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods"


@pytest.fixture
def one_second_resolution(monkeypatch: pytest.MonkeyPatch) -> None:
    """Asked before `node`: the kubelet samples every second."""
    monkeypatch.setenv("KAFKUBE_METRICS_RESOLUTION_SECONDS", "1")


def millicores(row: str, column: int) -> int:
    cell = row.split()[column]
    assert re.fullmatch(r"\d+m", cell), row
    return int(cell[:-1])


def row_of(output: str, first: str) -> str | None:
    return next((line.strip() for line in output.splitlines() if line.split()[:1] == [first]), None)


def eventually(read: Callable[[], str], first: str, *, what: str) -> str:
    """The row starting with `first` once its CPU (column 1) is above 100m."""
    deadline, output = time.monotonic() + 120, ""
    while time.monotonic() < deadline:
        output = read()
        if (row := row_of(output, first)) is not None and millicores(row, 1) > 100:
            return row
        time.sleep(1)
    raise AssertionError(f"{what} never showed {first} above 100m:\n{output}")


def test_top_shows_a_pod_burning_cpu(one_second_resolution: None, apiserver: tuple[Kubectl, int],  # noqa: F811
                                     node: str, settings: Settings, tmp_path: Path) -> None:  # noqa: F811
    kubectl, port = apiserver
    running_pod(kubectl, node, "burn", command=BURNING)

    def kafkube_top(*args: str) -> str:
        done = cli(settings, "top", *args)
        return done.stdout if done.returncode == 0 else done.stderr

    row = eventually(lambda: kafkube_top("pods"), "burn", what="kafkube top pods")
    assert re.fullmatch(r"burn\s+\d+m\s+\d+Mi", row), row
    assert kafkube_top("pods", "-A", "--containers").splitlines()[0].split() == [
        "NAMESPACE", "POD", "NAME", "CPU(cores)", "MEMORY(bytes)"]
    nodes = kafkube_top("nodes")
    assert nodes.splitlines()[0].split() == ["NAME", "CPU(cores)", "CPU(%)", "MEMORY(bytes)", "MEMORY(%)"]
    assert re.fullmatch(rf"{node}\s+\d+m\s+\d+%\s+\d+Mi\s+\d+%", row_of(nodes, node) or ""), nodes

    row = eventually(lambda: kubectl("top", "pods", check=False).stdout, "burn", what="kubectl top pods")
    assert re.fullmatch(r"burn\s+\d+m\s+\d+Mi", row), row
    containers = kubectl("top", "pods", "burn", "--containers").stdout
    assert re.fullmatch(r"burn\s+main\s+\d+m\s+\d+Mi", row_of(containers, "burn") or ""), containers
    nodes = kubectl("top", "nodes").stdout
    assert re.fullmatch(rf"{node}\s+\d+m\s+\d+%\s+\d+Mi\s+\d+%", row_of(nodes, node) or ""), nodes

    kubectl("label", "pod", "burn", "tier=hot")  # selectors match the objects' current labels
    kubectl("label", "node", node, "metered=yes")
    assert row_of(kubectl("top", "pods", "-l", "tier=hot").stdout, "burn")
    assert "No resources found in default namespace." in kubectl("top", "pods", "-l", "tier=cold").stderr
    assert [line.split()[0] for line in kubectl("top", "nodes", "-l", "metered=yes").stdout.splitlines()[1:]] == [node]

    served = json.loads(kubectl("get", "--raw", f"{PODS_PATH}/burn").stdout)
    assert (served["kind"], served["metadata"]["name"], served["containers"][0]["name"]) == \
        ("PodMetrics", "burn", "main")
    missing = kubectl("get", "--raw", f"{PODS_PATH}/nobody", check=False)
    assert 'podmetrics.metrics.k8s.io "nobody" not found' in missing.stderr, missing.stderr
    scheduler = Kubectl(kubeconfig_for(settings, tmp_path, port,  # may list pods, not their metrics
                                       token_file=str(credentials_dir() / "tokens" / "scheduler.token")))
    refused = scheduler("top", "pods", check=False)
    assert refused.returncode != 0 and 'User "system:kube-scheduler" cannot list resource "pods" in API group ' \
        '"metrics.k8s.io" in the namespace "default"' in refused.stderr, refused.stderr
    kubectl("delete", "pod", "burn", "--wait=false")
