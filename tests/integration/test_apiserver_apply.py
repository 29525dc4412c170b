"""The real kubectl against `kafkube serve apiserver` and `serve api` on the real broker:
`--dry-run=server` (create, client-side apply, server-side apply, delete, `kubectl diff`: decided by the
API, answered with the would-be object, nothing stored) and server-side apply (managed
fields per manager, a field a manager stops applying removed, a conflict with the
client-side apply's manager, `--force-conflicts`, `--show-managed-fields`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.integration.test_apiserver_kubectl import Kubectl, apiserver  # noqa: F401 (fixture)

pytestmark = pytest.mark.kafka

CONFIG_MAP = """\
apiVersion: v1
kind: ConfigMap
metadata: {name: dry, namespace: default}
data: {mode: fast}
"""
DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: default, labels: {app: web, tier: fe}}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: main
        image: busybox:1.36
        command: [sleep, "3600"]
        env: [{name: MODE, value: fast}]
"""


def written(tmp_path: Path, text: str, name: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def managed(kubectl: Kubectl, *args: str) -> dict[tuple[str, str], dict[str, Any]]:
    """The object's managedFields by (manager, operation)."""
    obj = json.loads(kubectl("get", *args, "-o", "json", "--show-managed-fields").stdout)
    return {(e["manager"], e["operation"]): e for e in obj["metadata"].get("managedFields") or []}


def test_server_dry_runs_are_decided_and_answered_but_store_nothing(apiserver: tuple[Kubectl, int],
                                                                    tmp_path: Path) -> None:
    kubectl, _ = apiserver
    config_map = written(tmp_path, CONFIG_MAP, "cm.yaml")
    would_be = json.loads(kubectl("create", "--dry-run=server", "-f", config_map, "-o", "json").stdout)
    assert would_be["metadata"]["name"] == "dry" and would_be["metadata"]["uid"]
    assert "resourceVersion" not in would_be["metadata"] and would_be["data"] == {"mode": "fast"}
    missing = kubectl("get", "cm", "dry", check=False)
    assert missing.returncode != 0 and 'configmaps "dry" not found' in missing.stderr
    bad = written(tmp_path, CONFIG_MAP.replace("name: dry", "name: Dry"), "bad.yaml")
    invalid = kubectl("create", "--dry-run=server", "-f", bad, check=False)
    assert invalid.returncode != 0 and "is invalid" in invalid.stderr

    deployment = written(tmp_path, DEPLOYMENT, "deploy.yaml")
    assert "deployment.apps/web created (server dry run)" in kubectl("apply", "--dry-run=server", "-f",
                                                                     deployment).stdout
    assert kubectl("get", "deploy", "web", check=False).returncode != 0
    kubectl("apply", "-f", deployment)
    before = kubectl.json("get", "deploy", "web")
    scaled = written(tmp_path, DEPLOYMENT.replace("replicas: 2", "replicas: 5"), "scaled.yaml")
    for apply in (["apply"], ["apply", "--server-side", "--force-conflicts"]):
        shown = json.loads(kubectl(*apply, "--dry-run=server", "-f", scaled, "-o", "json").stdout)
        assert shown["spec"]["replicas"] == 5, apply
        assert shown["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]  # type: ignore[index]
    assert kubectl.json("get", "deploy", "web") == before
    diff = kubectl("diff", "--server-side", "--force-conflicts", "-f", scaled, check=False)
    assert diff.returncode == 1 and "-  replicas: 2" in diff.stdout and "+  replicas: 5" in diff.stdout, diff
    assert kubectl.json("get", "deploy", "web") == before

    deleted = kubectl("delete", "deploy", "web", "--dry-run=server").stdout
    assert 'deployment.apps "web" deleted (server dry run)' in deleted
    assert kubectl.json("get", "deploy", "web") == before


def test_server_side_apply_tracks_managers_removes_dropped_fields_and_answers_conflicts(
        apiserver: tuple[Kubectl, int], tmp_path: Path) -> None:
    kubectl, _ = apiserver
    first = kubectl("apply", "--server-side", "-f", written(tmp_path, DEPLOYMENT, "d.yaml")).stdout
    assert "deployment.apps/web serverside-applied" in first
    [entry] = managed(kubectl, "deploy", "web").values()
    assert (entry["manager"], entry["operation"], entry["apiVersion"], entry["fieldsType"]) == \
        ("kubectl", "Apply", "apps/v1", "FieldsV1")
    container = entry["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"]['k:{"name":"main"}']
    assert container["."] == {} and 'k:{"name":"MODE"}' in container["f:env"]
    assert "managedFields:" in kubectl("get", "deploy", "web", "-o", "yaml", "--show-managed-fields").stdout
    assert "managedFields" not in kubectl("get", "deploy", "web", "-o", "yaml").stdout

    smaller = DEPLOYMENT.replace(", tier: fe", "").replace("        env: [{name: MODE, value: fast}]\n", "")
    kubectl("apply", "--server-side", "-f", written(tmp_path, smaller, "smaller.yaml"))
    obj = kubectl.json("get", "deploy", "web")
    assert obj["metadata"]["labels"] == {"app": "web"}  # type: ignore[index]
    assert "env" not in obj["spec"]["template"]["spec"]["containers"][0]  # type: ignore[index]

    # a client-side apply's fields belong to kubectl-client-side-apply: another manager's change is a conflict
    kubectl("apply", "-f", written(tmp_path, CONFIG_MAP, "cm.yaml"))
    assert set(managed(kubectl, "cm", "dry")) == {("kubectl-client-side-apply", "Update")}
    kubectl("apply", "-f", written(tmp_path, smaller.replace("name: web,", "name: csa,"), "csa.yaml"))
    csa = written(tmp_path, smaller.replace("name: web,", "name: csa,").replace("replicas: 2", "replicas: 3"),
                  "csa3.yaml")
    conflict = kubectl("apply", "--server-side", "--field-manager=deployer", "-f", csa, check=False)
    assert conflict.returncode != 0
    assert 'Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using apps/v1: .spec.replicas' \
        in conflict.stderr
    assert kubectl.json("get", "deploy", "csa")["spec"]["replicas"] == 2  # type: ignore[index]
    kubectl("apply", "--server-side", "--field-manager=deployer", "--force-conflicts", "-f", csa)
    assert kubectl.json("get", "deploy", "csa")["spec"]["replicas"] == 3  # type: ignore[index]
    managers = managed(kubectl, "deploy", "csa")
    assert [m for m, e in managers.items() if "f:replicas" in e["fieldsV1"].get("f:spec", {})] == \
        [("deployer", "Apply")]

    # kubectl's own server-side apply takes over what client-side apply last applied, as upstream, and
    # keeps the last-applied annotation in step
    kubectl("apply", "-f", written(tmp_path, smaller.replace("name: web,", "name: up,"), "up.yaml"))
    up = written(tmp_path, smaller.replace("name: web,", "name: up,").replace("replicas: 2", "replicas: 4"),
                 "up4.yaml")
    kubectl("apply", "--server-side", "-f", up)
    obj = kubectl.json("get", "deploy", "up")
    assert obj["spec"]["replicas"] == 4  # type: ignore[index]
    annotations: dict[str, str] = obj["metadata"]["annotations"]  # type: ignore[index]
    last = json.loads(annotations["kubectl.kubernetes.io/last-applied-configuration"])
    assert last["spec"]["replicas"] == 4

    # an update through the scale subresource takes the field (kubectl scale names no field manager: the
    # User-Agent's "kubectl" is the manager, as upstream)
    kubectl("scale", "deploy", "csa", "--replicas=4")
    scaler = managed(kubectl, "deploy", "csa")[("kubectl", "Update")]
    assert scaler["subresource"] == "scale" and scaler["fieldsV1"] == {"f:spec": {"f:replicas": {}}}
    again = kubectl("apply", "--server-side", "--field-manager=deployer", "-f", csa, check=False)
    assert 'conflict with "kubectl" using apps/v1: .spec.replicas' in again.stderr
    kubectl("label", "deploy", "csa", "extra=1")
    assert ("kubectl-label", "Update") in managed(kubectl, "deploy", "csa")
