"""The real kubectl (1.32) on workloads through `kafkube serve apiserver`, with the
scheduler, the controllers and hollow kubelets on the real broker: Events from
`kafkube.events` (describe, kubectl events, get events, events.k8s.io/v1, field
selectors, a watch resumed from a list's resourceVersion)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.integration.kafkit import ServiceProcess
from tests.integration.test_apiserver_kubectl import MANIFESTS, Kubectl, apiserver  # noqa: F401 - the fixture

pytestmark = pytest.mark.kafka


def eventually(check: Callable[[], bool], what: str, *, timeout_s: float = 90) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, f"{what} within {timeout_s:.0f} s"
        time.sleep(0.5)


@pytest.fixture
def cluster(apiserver: tuple[Kubectl, int], services: Callable[..., ServiceProcess],  # noqa: F811
            tmp_path: Path) -> Kubectl:
    """The apiserver, scheduler, controllers, hollow kubelets n1 and n2, and deployment
    `web` (2 replicas) rolled out."""
    kubectl, _ = apiserver
    services("scheduler")
    services("controllers")
    services("kubelet", "--node", "n1", "--node", "n2", "--runtime", "hollow")
    manifest = tmp_path / "web.yaml"
    manifest.write_text(MANIFESTS)
    kubectl("apply", "--validate=false", "-f", str(manifest))
    kubectl("rollout", "status", "deployment/web", "--timeout=120s")
    return kubectl


def test_events_of_kafkube_through_kubectl(cluster: Kubectl) -> None:
    kubectl = cluster
    pod = kubectl("get", "pods", "-l", "app=web", "-o", "name").stdout.split()[0]
    name = pod.removeprefix("pod/")

    def described() -> str:
        return kubectl("describe", pod).stdout.split("\nEvents:")[1]
    eventually(lambda: "Started" in described(), f"the Started event in `kubectl describe {pod}`")
    events = described()
    assert "Scheduled" in events and f"Successfully assigned default/{name} to n" in events
    assert "default-scheduler" in events and "kubelet" in events and "Created container main" in events

    assert "Started container main" in kubectl("events", "--for", pod).stdout
    table = kubectl("get", "events").stdout.splitlines()
    assert table[0].split() == ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    assert any(line.split()[2:4] == ["ScalingReplicaSet", "deployment/web"] for line in table[1:])
    assert not any("Created" in line and "deployment/web" in line for line in table)  # the API's answers are not events

    mine = kubectl.json("get", "events", "--field-selector", f"involvedObject.kind=Pod,involvedObject.name={name},"
                        "type=Normal,reason=Started")["items"]
    assert mine and all(e["involvedObject"]["name"] == name and e["reason"] == "Started" for e in mine)  # type: ignore
    refused = kubectl("get", "events", "--field-selector", "spec.nodeName=n1", check=False)
    assert refused.returncode != 0 and 'field label not supported: "spec.nodeName"' in refused.stderr

    newer = kubectl.json("get", "events.v1.events.k8s.io", "--field-selector", f"regarding.name={name}")
    items = newer["items"]
    assert items and all(e["apiVersion"] == "events.k8s.io/v1" and e["regarding"]["name"] == name  # type: ignore
                         and "note" in e for e in items)  # type: ignore
    assert "events.k8s.io/v1" in kubectl("api-versions").stdout
    refused = kubectl("delete", "events", "--all", check=False)
    assert refused.returncode != 0

    # a watch from a list's resourceVersion sees exactly the events after it
    listed = json.loads(kubectl("get", "--raw", "/api/v1/namespaces/default/events").stdout)
    kubectl("scale", "deployment/web", "--replicas=3")
    eventually(lambda: "from 2 to 3" in kubectl("get", "events", "--field-selector", "reason=ScalingReplicaSet",
                                                "-o", "jsonpath={.items[*].message}").stdout, "the scale-up event")
    rv = listed["metadata"]["resourceVersion"]
    watched = kubectl("get", "--raw", f"/api/v1/namespaces/default/events?watch=1&resourceVersion={rv}"
                      "&timeoutSeconds=3&fieldSelector=reason%3DScalingReplicaSet").stdout
    lines = [json.loads(line) for line in watched.splitlines() if line]
    assert [(e["type"], e["object"]["involvedObject"]["name"]) for e in lines] == [("ADDED", "web")]
    assert lines[0]["object"]["message"].endswith("from 2 to 3")
