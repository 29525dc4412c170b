"""The real kubectl (1.32) reading the apiserver's OpenAPI documents: `kubectl explain`,
client-side apply, create, replace and edit without `--validate=false` (kubectl relies on the
server's field validation), an unknown field refused under `--validate=strict` and warned
under `--validate=warn`, and a second apply whose container list changed merging by the
containers' names (kubectl builds the strategic patch from its own types)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.integration.test_apiserver_kubectl import Kubectl, apiserver  # noqa: F401 - the fixture

pytestmark = pytest.mark.kafka

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: shop, namespace: default}
spec:
  replicas: 1
  selector: {matchLabels: {app: shop}}
  template:
    metadata: {labels: {app: shop}}
    spec:
      containers:
      - name: web
        image: busybox:1.36
        command: [sleep, "3600"]
        securityContext: {allowPrivilegeEscalation: false}
"""
SIDECAR = """\
      - name: log
        image: busybox:1.36
        command: [sleep, "3600"]
"""


def test_kubectl_explain_reads_the_v3_documents(apiserver: tuple[Kubectl, int]) -> None:  # noqa: F811
    kubectl, _ = apiserver
    replicas = kubectl("explain", "deployment.spec.replicas").stdout
    assert "GROUP:      apps" in replicas and "KIND:       Deployment" in replicas
    assert "FIELD: replicas <integer>" in replicas
    recursive = kubectl("explain", "pods", "--recursive").stdout
    assert "KIND:       Pod" in recursive and "containers\t<[]Container>" in recursive
    assert "securityContext\t<Object>" in recursive and "stdinOnce\t<boolean>" in recursive  # kept, not modelled
    index = json.loads(kubectl("get", "--raw", "/openapi/v3").stdout)
    assert index["paths"]["apis/apps/v1"]["serverRelativeURL"].startswith("/openapi/v3/apis/apps/v1?hash=")
    swagger = json.loads(kubectl("get", "--raw", "/openapi/v2").stdout)
    assert swagger["swagger"] == "2.0" and "/apis/apps/v1/namespaces/{namespace}/deployments" in swagger["paths"]


def test_apply_create_replace_edit_without_validate_false(apiserver: tuple[Kubectl, int],  # noqa: F811
                                                          tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    kubectl, _ = apiserver
    manifest = tmp_path / "shop.yaml"
    manifest.write_text(DEPLOYMENT)
    assert "deployment.apps/shop created" in kubectl("apply", "-f", str(manifest)).stdout

    # the second apply adds a container, the third removes the first: merged by name each time
    manifest.write_text(DEPLOYMENT + SIDECAR)
    configured = kubectl("apply", "-f", str(manifest))
    assert "deployment.apps/shop configured" in configured.stdout
    assert configured.stderr == ""  # no warning: /openapi/v2's 406 to protobuf sends kubectl to its own types
    containers = kubectl.json("get", "deploy", "shop")["spec"]["template"]["spec"]["containers"]  # type: ignore[index]
    assert [c["name"] for c in containers] == ["web", "log"]
    assert containers[0]["securityContext"] == {"allowPrivilegeEscalation": False}
    kubectl("patch", "deploy", "shop", "--type", "json", "-p",
            '[{"op":"add","path":"/spec/template/spec/containers/1/env","value":[{"name":"A","value":"1"}]}]')
    manifest.write_text(DEPLOYMENT.split("      - name: web")[0] + SIDECAR)
    assert "deployment.apps/shop configured" in kubectl("apply", "-f", str(manifest)).stdout
    containers = kubectl.json("get", "deploy", "shop")["spec"]["template"]["spec"]["containers"]  # type: ignore[index]
    assert [(c["name"], c.get("env")) for c in containers] == [("log", [{"name": "A", "value": "1"}])]

    config = '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"plain","namespace":"default"},"data":{"a":"1"}}'
    assert "configmap/plain created" in kubectl("create", "-f", "-", stdin=config).stdout
    kubectl("replace", "-f", "-", stdin=config.replace('"1"', '"2"'))
    assert kubectl.json("get", "cm", "plain")["data"] == {"a": "2"}
    monkeypatch.setenv("KUBE_EDITOR", """sed -i 's/a: "2"/a: "3"/'""")
    assert "configmap/plain edited" in kubectl("edit", "cm", "plain").stdout
    assert kubectl.json("get", "cm", "plain")["data"] == {"a": "3"}


def test_unknown_fields_refused_under_strict_and_warned_under_warn(apiserver: tuple[Kubectl, int],  # noqa: F811
                                                                    tmp_path: Path) -> None:
    kubectl, _ = apiserver
    manifest = tmp_path / "typo.yaml"
    manifest.write_text(DEPLOYMENT.replace("shop", "typo").replace("  replicas: 1", "  replica: 1"))
    refused = kubectl("apply", "-f", str(manifest), check=False)
    assert refused.returncode != 0
    assert 'strict decoding error: unknown field "spec.replica"' in refused.stderr
    assert kubectl("get", "deploy", "typo", check=False).returncode != 0  # not created

    warned = kubectl("apply", "--validate=warn", "-f", str(manifest))
    assert "deployment.apps/typo created" in warned.stdout
    assert 'Warning: unknown field "spec.replica"' in warned.stderr

    # an existing object: the strategic patch of the next apply is refused as a whole
    manifest.write_text(DEPLOYMENT.replace("shop", "typo").replace("image: busybox:1.36", "image: busybox:1.37\n"
                                                                   "        imagePolicy: Always"))
    refused = kubectl("apply", "-f", str(manifest), check=False)
    assert 'unknown field "spec.template.spec.containers[0].imagePolicy"' in refused.stderr
    kept = kubectl.json("get", "deploy", "typo")["spec"]["template"]["spec"]["containers"][0]  # type: ignore[index]
    assert kept["image"] == "busybox:1.36"
