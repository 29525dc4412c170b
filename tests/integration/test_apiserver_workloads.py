"""The real kubectl (1.32) on workloads through `kafkube serve apiserver`, with the
scheduler, the controllers and hollow kubelets on the real broker: Events from
`kafkube.events` (describe, kubectl events, get events, events.k8s.io/v1, field
selectors, a watch resumed from a list's resourceVersion); `kubectl create token` (a
TokenRequest whose token the apiserver then accepts); `cordon`, `uncordon` and `drain`
(pods/eviction; the scheduler keeps off a cordoned node); `rollout status|history|undo|
restart` and `wait --for=condition=Available`."""

from __future__ import annotations

import base64
import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.integration.kafkit import ServiceProcess, eventually
from tests.integration.test_apiserver_kubectl import KUBECTL, MANIFESTS, Kubectl, apiserver  # noqa: F401 - the fixture

pytestmark = pytest.mark.kafka


def got(kubectl: Kubectl, *args: str) -> Any:
    """`kubectl ... -o json`, parsed."""
    return kubectl.json(*args)


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

    mine = got(kubectl, "get", "events", "--field-selector", f"involvedObject.kind=Pod,involvedObject.name={name},"
                        "type=Normal,reason=Started")["items"]
    assert mine and all(e["involvedObject"]["name"] == name and e["reason"] == "Started" for e in mine)
    refused = kubectl("get", "events", "--field-selector", "spec.nodeName=n1", check=False)
    assert refused.returncode != 0 and 'field label not supported: "spec.nodeName"' in refused.stderr

    newer = got(kubectl, "get", "events.v1.events.k8s.io", "--field-selector", f"regarding.name={name}")
    items = newer["items"]
    assert items and all(e["apiVersion"] == "events.k8s.io/v1" and e["regarding"]["name"] == name
                         and "note" in e for e in items)
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


VIEWER = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: robot-views, namespace: default}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}
subjects:
- {kind: ServiceAccount, name: robot, namespace: default}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: robot, namespace: default}
"""


def test_kubectl_create_token_issues_a_token_the_apiserver_accepts(apiserver: tuple[Kubectl, int],  # noqa: F811
                                                                    tmp_path: Path) -> None:
    kubectl, _ = apiserver
    manifest = tmp_path / "robot.yaml"
    manifest.write_text(VIEWER)
    kubectl("apply", "--validate=false", "-f", str(manifest))
    token = kubectl("create", "token", "robot", "--duration", "20m").stdout.strip()
    claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    assert claims["sub"] == "system:serviceaccount:default:robot"
    assert 1190 <= claims["exp"] - claims["iat"] <= 1210

    as_robot = ["--token", token, "--kubeconfig", str(kubectl.kubeconfig)]
    done = subprocess.run([KUBECTL, *as_robot, "get", "serviceaccounts", "-o", "name"], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0 and "serviceaccount/robot" in done.stdout.split(), done.stderr
    refused = subprocess.run([KUBECTL, *as_robot, "delete", "serviceaccount", "robot"], capture_output=True,
                             text=True, timeout=60)
    assert 'User "system:serviceaccount:default:robot" cannot delete resource "serviceaccounts"' in refused.stderr

    missing = kubectl("create", "token", "nobody", check=False)
    assert missing.returncode != 0 and 'serviceaccounts "nobody" not found' in missing.stderr
    raw = json.loads(kubectl("create", "--raw", "/api/v1/namespaces/default/serviceaccounts/robot/token", "-f", "-",
                             stdin='{"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", '
                                   '"spec": {"expirationSeconds": 900}}').stdout)
    assert raw["kind"] == "TokenRequest" and raw["spec"]["expirationSeconds"] == 900 and raw["status"]["token"]


def test_cordon_and_drain_evict_the_nodes_pods(cluster: Kubectl) -> None:
    kubectl = cluster
    pods = got(kubectl, "get", "pods", "-l", "app=web")["items"]
    node = pods[0]["spec"]["nodeName"]
    other = {"n1": "n2", "n2": "n1"}[node]
    on_node = sorted(p["metadata"]["name"] for p in pods if p["spec"]["nodeName"] == node)
    assert "pods/eviction" in kubectl("get", "--raw", "/api/v1").stdout  # where drain looks for eviction

    assert f"node/{node} cordoned" in kubectl("cordon", node).stdout
    assert got(kubectl, "get", "node", node)["spec"]["unschedulable"] is True
    assert "SchedulingDisabled" in kubectl("get", "node", node).stdout

    drained = kubectl("drain", node, "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=120s").stdout
    for name in on_node:
        assert f"evicting pod default/{name}" in drained and f"pod/{name} evicted" in drained
    assert f"node/{node} drained" in drained

    def replaced_elsewhere() -> bool:
        now = got(kubectl, "get", "pods", "-l", "app=web")["items"]
        return len(now) == 2 and all(p["spec"].get("nodeName") == other and p["status"].get("phase") == "Running"
                                     for p in now)
    eventually(replaced_elsewhere, f"both replicas running on {other}, none on the cordoned {node}")
    for name in on_node:  # the kubelet stopped what was evicted
        assert "Killing" in kubectl("get", "events", "--field-selector", f"involvedObject.name={name}").stdout

    assert f"node/{node} uncordoned" in kubectl("uncordon", node).stdout
    assert not got(kubectl, "get", "node", node)["spec"].get("unschedulable")

    def evict(name: str, body_name: str) -> str:
        body = json.dumps({"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": body_name}})
        done = kubectl("create", "--raw", f"/api/v1/namespaces/default/pods/{name}/eviction", "-f", "-",
                       stdin=body, check=False)
        return done.stdout + done.stderr
    assert 'pods "nope" not found' in evict("nope", "nope")
    assert "name in URL does not match name in Eviction object" in evict("nope", "other")


def test_rollout_status_history_undo_restart_and_wait(cluster: Kubectl) -> None:
    kubectl = cluster
    assert "deployment.apps/web condition met" in \
        kubectl("wait", "--for=condition=Available", "deployment/web", "--timeout=60s").stdout
    first = got(kubectl, "get", "rs", "-l", "app=web")["items"]
    assert [rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"] for rs in first] == ["1"]

    kubectl("set", "image", "deployment/web", "main=busybox:1.37")
    kubectl("annotate", "deployment/web", "kubernetes.io/change-cause=busybox 1.37")  # copied to the new ReplicaSet
    status = kubectl("rollout", "status", "deployment/web", "--timeout=120s").stdout
    assert 'deployment "web" successfully rolled out' in status
    history = [line.split(None, 1) for line in kubectl("rollout", "history", "deployment/web").stdout.splitlines()[2:]
               if line.strip()]
    assert history == [["1", "<none>"], ["2", "busybox 1.37"]]
    assert "busybox:1.37" in kubectl("rollout", "history", "deployment/web", "--revision=2").stdout

    assert "deployment.apps/web rolled back" in kubectl("rollout", "undo", "deployment/web").stdout
    kubectl("rollout", "status", "deployment/web", "--timeout=120s")
    deploy = got(kubectl, "get", "deploy", "web")
    assert deploy["spec"]["template"]["spec"]["containers"][0]["image"] == "busybox:1.36"
    replicasets = got(kubectl, "get", "rs", "-l", "app=web")["items"]
    assert len(replicasets) == 2  # revision 1's ReplicaSet came back as revision 3, no third one
    by_revision = {rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"]: rs for rs in replicasets}
    assert sorted(by_revision) == ["2", "3"]
    assert by_revision["3"]["metadata"]["name"] == first[0]["metadata"]["name"]
    assert by_revision["3"]["spec"]["replicas"] == 2 and by_revision["2"]["spec"]["replicas"] == 0

    assert "deployment.apps/web restarted" in kubectl("rollout", "restart", "deployment/web").stdout
    kubectl("rollout", "status", "deployment/web", "--timeout=120s")
    revisions = [line.split()[0] for line in kubectl("rollout", "history", "deployment/web").stdout.splitlines()[2:]
                 if line.strip()]
    assert revisions == ["2", "3", "4"]
    deploy = got(kubectl, "get", "deploy", "web")
    assert deploy["status"]["observedGeneration"] == deploy["metadata"]["generation"]
    assert {c["type"]: c["status"] for c in deploy["status"]["conditions"]} == \
        {"Available": "True", "Progressing": "True"}
