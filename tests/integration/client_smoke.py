"""The official Python client's round trip against any Kafkube apiserver, given a
kubeconfig: create a ConfigMap, see it through a watch started from a list's
resourceVersion, delete it. Run by scripts/compose-smoke.sh (`python -m
tests.integration.client_smoke KUBECONFIG`, against `docker compose up`) and by
tests/integration/test_kafka_acls.py (the apiserver as `make up` runs it)."""

from __future__ import annotations

import sys
from typing import Any

from kubernetes import client, config, watch


def round_trip(kubeconfig: str, name: str = "client-smoke") -> None:
    core: Any = client.CoreV1Api(config.new_client_from_config(config_file=kubeconfig))
    listed = core.list_namespaced_config_map("default", label_selector=f"smoke={name}")
    core.create_namespaced_config_map("default", client.V1ConfigMap(
        metadata=client.V1ObjectMeta(name=name, labels={"smoke": name}), data={"k": "1"}))
    stream = watch.Watch().stream(core.list_namespaced_config_map, "default", label_selector=f"smoke={name}",
                                  resource_version=listed.metadata.resource_version, timeout_seconds=30)
    seen = next(iter(stream))
    assert (seen["type"], seen["object"].metadata.name) == ("ADDED", name), seen
    core.delete_namespaced_config_map(name, "default")


if __name__ == "__main__":
    round_trip(sys.argv[1])
