"""The real Helm 3 (scripts/helm.sh builds it once into ~/.cache/kafkube) against `kafkube
serve apiserver`, on the real broker: install, upgrade with changed values, history,
rollback and uninstall of a small chart written here (a ConfigMap, a Deployment of
busybox:1.36, a Service), each step checked in Kafkube's store through kubectl. Helm
keeps its releases as Secrets (HELM_DRIVER=secret, labels owner=helm,name=<release>),
so this also drives Secrets through the HTTP API: created, listed by label, replaced,
deleted, their values sealed on the way in and opened on the way out."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.integration.test_apiserver_kubectl import Kubectl, apiserver  # noqa: F401 (fixture)

pytestmark = pytest.mark.kafka
ROOT = Path(__file__).resolve().parents[2]
CHART = {
    "Chart.yaml": "apiVersion: v2\nname: demo\nversion: 0.1.0\nappVersion: '1.0'\n",
    "values.yaml": "greeting: hello\nreplicas: 1\nport: 80\n",
    "templates/configmap.yaml": """\
apiVersion: v1
kind: ConfigMap
metadata: {name: "{{ .Release.Name }}-settings"}
data: {greeting: {{ .Values.greeting | quote }}}
""",
    "templates/deployment.yaml": """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: "{{ .Release.Name }}-web", labels: {app: "{{ .Release.Name }}"}}
spec:
  replicas: {{ .Values.replicas }}
  selector: {matchLabels: {app: "{{ .Release.Name }}"}}
  template:
    metadata: {labels: {app: "{{ .Release.Name }}"}}
    spec:
      containers:
      - name: main
        image: busybox:1.36
        command: [sleep, "3600"]
        env: [{name: GREETING, valueFrom: {configMapKeyRef: {name: "{{ .Release.Name }}-settings", key: greeting}}}]
""",
    "templates/service.yaml": """\
apiVersion: v1
kind: Service
metadata: {name: "{{ .Release.Name }}-web"}
spec:
  selector: {app: "{{ .Release.Name }}"}
  ports: [{port: {{ .Values.port }}, targetPort: 80}]
""",
}


@pytest.fixture(scope="session")
def helm_binary() -> str:
    """scripts/helm.sh's binary: built on the first run of a machine, reused after."""
    built = subprocess.run(["bash", str(ROOT / "scripts" / "helm.sh")], capture_output=True, text=True, timeout=1200)
    assert built.returncode == 0, built.stderr[-3000:]
    return built.stdout.strip().splitlines()[-1]


class Helm:
    def __init__(self, binary: str, kubeconfig: Path, home: Path) -> None:
        self.binary, self.kubeconfig = binary, kubeconfig
        self.env = {**os.environ, "HELM_CACHE_HOME": str(home / "cache"), "HELM_CONFIG_HOME": str(home / "config"),
                    "HELM_DATA_HOME": str(home / "data"), "HELM_DRIVER": "secret"}

    def __call__(self, *args: str) -> str:
        done = subprocess.run([self.binary, "--kubeconfig", str(self.kubeconfig), "--namespace", "default", *args],
                              capture_output=True, text=True, timeout=120, env=self.env)
        assert done.returncode == 0, f"helm {' '.join(args)}: {done.stderr}"
        return done.stdout


def write_chart(directory: Path) -> Path:
    for name, text in CHART.items():
        (directory / name).parent.mkdir(parents=True, exist_ok=True)
        (directory / name).write_text(text)
    return directory


def release_secrets(kubectl: Kubectl) -> list[tuple[str, str]]:
    """(name, status label) of the release's Secrets, and each holds its release."""
    listed: Any = kubectl.json("get", "secrets", "-l", "owner=helm,name=demo")
    for item in listed["items"]:
        assert item["type"] == "helm.sh/release.v1" and item["data"]["release"], item["metadata"]["name"]
    return sorted((i["metadata"]["name"], i["metadata"]["labels"]["status"]) for i in listed["items"])


def state(kubectl: Kubectl) -> tuple[str, int, int]:
    """The ConfigMap's greeting, the Deployment's replicas and the Service's port, as stored."""
    cm: Any = kubectl.json("get", "configmap", "demo-settings")
    deploy: Any = kubectl.json("get", "deployment", "demo-web")
    svc: Any = kubectl.json("get", "service", "demo-web")
    return cm["data"]["greeting"], deploy["spec"]["replicas"], svc["spec"]["ports"][0]["port"]


def test_helm_installs_upgrades_rolls_back_and_uninstalls_a_chart(
        apiserver: tuple[Kubectl, int], helm_binary: str, tmp_path: Path) -> None:  # noqa: F811
    kubectl, _ = apiserver
    helm = Helm(helm_binary, kubectl.kubeconfig, tmp_path / "helm")
    chart = str(write_chart(tmp_path / "demo"))

    assert "STATUS: deployed" in helm("install", "demo", chart)
    assert state(kubectl) == ("hello", 1, 80)
    assert release_secrets(kubectl) == [("sh.helm.release.v1.demo.v1", "deployed")]

    helm("upgrade", "demo", chart, "--set", "greeting=bonjour,replicas=2,port=8080")
    assert state(kubectl) == ("bonjour", 2, 8080)
    assert release_secrets(kubectl) == [("sh.helm.release.v1.demo.v1", "superseded"),
                                        ("sh.helm.release.v1.demo.v2", "deployed")]

    helm("rollback", "demo", "1")
    assert state(kubectl) == ("hello", 1, 80)
    history = json.loads(helm("history", "demo", "-o", "json"))
    assert [(h["revision"], h["status"]) for h in history] == [(1, "superseded"), (2, "superseded"), (3, "deployed")]
    assert history[-1]["description"] == "Rollback to 1"
    assert release_secrets(kubectl)[-1] == ("sh.helm.release.v1.demo.v3", "deployed")

    helm("uninstall", "demo")
    for kind, name in (("configmap", "demo-settings"), ("deployment", "demo-web"), ("service", "demo-web")):
        assert kubectl("get", kind, name, check=False).returncode != 0, f"{kind}/{name} is still there"
    assert release_secrets(kubectl) == []
