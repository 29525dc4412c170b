"""container_config: env from values, ConfigMaps, Secrets, fields and envFrom, $(VAR)
expansion, resources and mounts; missing required references fail as Kubernetes says."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest

from schemas.pod import Container, Pod
from services.kubelet.container_config import ConfigError, container_config, expand, mounts, projected_volumes
from tests.unit.kubelet.helpers import pod

CONFIGMAPS = {"default/cfg": {"data": {"mode": "fast", "level": "3"}}}
SECRETS = {"default/creds": {"data": {"password": base64.b64encode(b"s3cret").decode()}}}


def build(spec: dict[str, Any], **kw: Any):  # noqa: ANN201
    container = Container.model_validate({"name": "web", "image": "img", **spec})
    return container_config(pod("web"), container, configmaps=kw.get("configmaps", CONFIGMAPS),
                            secrets=kw.get("secrets", SECRETS), volume_paths=kw.get("paths", {}),
                            attempt=2, pod_ip="10.0.0.7", host_ip="192.168.0.2")


def test_env_sources_resolve() -> None:
    config = build({"env": [
        {"name": "PLAIN", "value": "x"},
        {"name": "MODE", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "mode"}}},
        {"name": "PW", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "password"}}},
        {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {"name": "NS", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
        {"name": "UID", "valueFrom": {"fieldRef": {"fieldPath": "metadata.uid"}}},
        {"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
        {"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
    ]})
    assert config.env == {"PLAIN": "x", "MODE": "fast", "PW": "s3cret", "POD": "p", "NS": "default",
                          "UID": "u-1", "IP": "10.0.0.7", "NODE": "n1"}
    assert config.attempt == 2 and config.pod.uid == "u-1"


def test_env_from_with_prefix_then_env_overrides() -> None:
    config = build({"envFrom": [{"configMapRef": {"name": "cfg"}, "prefix": "APP_"},
                                {"secretRef": {"name": "creds"}}],
                    "env": [{"name": "APP_mode", "value": "slow"}]})
    assert config.env == {"APP_mode": "slow", "APP_level": "3", "password": "s3cret"}


def test_var_expansion_in_env_command_and_args() -> None:
    config = build({"env": [{"name": "A", "value": "one"}, {"name": "B", "value": "$(A)-two"},
                            {"name": "C", "value": "$$(A) $(MISSING)"}],
                    "command": ["echo", "$(B)"], "args": ["$(A)", "$$(A)"]})
    assert config.env["B"] == "one-two" and config.env["C"] == "$(A) $(MISSING)"
    assert config.command == ["echo", "one-two"] and config.args == ["one", "$(A)"]
    assert expand("$(X)$(Y)", {"X": "1"}) == "1$(Y)"


@pytest.mark.parametrize(("ref", "message"), [
    ({"configMapKeyRef": {"name": "nope", "key": "k"}}, 'configmap "nope" not found'),
    ({"configMapKeyRef": {"name": "cfg", "key": "k"}}, "couldn't find key k in ConfigMap default/cfg"),
    ({"secretKeyRef": {"name": "nope", "key": "k"}}, 'secret "nope" not found'),
    ({"secretKeyRef": {"name": "creds", "key": "k"}}, "couldn't find key k in Secret default/creds"),
])
def test_missing_required_references_fail(ref: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        build({"env": [{"name": "X", "valueFrom": ref}]})
    assert str(caught.value) == message and caught.value.reason == "CreateContainerConfigError"


def test_optional_references_may_be_missing() -> None:
    config = build({"env": [
        {"name": "X", "valueFrom": {"configMapKeyRef": {"name": "nope", "key": "k", "optional": True}}},
        {"name": "Y", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "k", "optional": True}}}],
        "envFrom": [{"configMapRef": {"name": "nope", "optional": True}}]})
    assert config.env == {}


def test_resources_and_mounts(tmp_path: Path) -> None:
    (tmp_path / "cfg").mkdir()
    config = build({"resources": {"limits": {"memory": "64Mi", "cpu": "500m"}, "requests": {"cpu": "250m"}},
                    "volumeMounts": [{"name": "data", "mountPath": "/data"},
                                     {"name": "cfg", "mountPath": "/etc/x", "readOnly": True,
                                      "subPath": "sub"}]},
                   paths={"data": "/v/data", "cfg": str(tmp_path / "cfg")})
    assert config.memory_limit_bytes == 64 * 1024 * 1024
    assert config.nano_cpus == 500_000_000 and config.cpu_shares == 256
    assert [(m.host_path, m.container_path, m.read_only) for m in config.mounts] == \
        [("/v/data", "/data", False), (str(tmp_path / "cfg/sub"), "/etc/x", True)]
    assert (tmp_path / "cfg/sub").is_dir()  # made by the kubelet, as upstream, not by Docker
    assert build({"resources": {"limits": {"cpu": "1"}}}).cpu_shares == 1024


def test_secret_and_config_map_volumes_are_mounted_read_only() -> None:
    pod = Pod.model_validate({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "a", "uid": "u"},
        "spec": {"volumes": [{"name": "s", "secret": {"secretName": "x"}}, {"name": "c", "configMap": {"name": "y"}},
                             {"name": "p", "projected": {"sources": []}}, {"name": "e", "emptyDir": {}}],
                 "containers": [{"name": "c", "image": "i"}]}})
    assert projected_volumes(pod) == {"s", "c", "p"}
    container = Container.model_validate({"name": "c", "image": "i", "volumeMounts": [
        {"name": n, "mountPath": f"/{n}", "readOnly": False} for n in ("s", "c", "p", "e")]})
    paths = {n: f"/v/{n}" for n in ("s", "c", "p", "e")}
    assert [(m.container_path, m.read_only) for m in mounts(container, paths, projected_volumes(pod))] == \
        [("/s", True), ("/c", True), ("/p", True), ("/e", False)]
