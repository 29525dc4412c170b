"""The official `kubernetes` Python client against `kafkube serve apiserver` on the real
broker: create, read, replace (with a stale resourceVersion refused 409), patch and
delete; lists with label and field selectors; and a watch that goes on from its last
resourceVersion on another replica after its own apiserver was SIGKILLed, with every
change made in between delivered once: none skipped, none repeated (an object leaving the
watch's selector is DELETED)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException

from services.runtime.config import Settings
from tests.integration.kafkit import ServiceProcess
from tests.integration.test_apiserver_kubectl import serve_apiserver

pytestmark = pytest.mark.kafka


def core_api(kubeconfig: Path) -> Any:
    """The client's CoreV1Api (typed Any: its models make every field Optional)."""
    return client.CoreV1Api(config.new_client_from_config(config_file=str(kubeconfig)))


def configmap(name: str, labels: dict[str, str], data: dict[str, str]) -> client.V1ConfigMap:
    return client.V1ConfigMap(metadata=client.V1ObjectMeta(name=name, labels=labels), data=data)


def test_crud_and_selectors_through_the_python_client(settings: Settings, services: Callable[..., ServiceProcess],
                                                     tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    services("api")
    kubectl, _, _ = serve_apiserver(settings, services, tmp_path, monkeypatch)
    core = core_api(kubectl.kubeconfig)
    created = core.create_namespaced_config_map("default", configmap("py", {"app": "py"}, {"k": "1"}))
    assert created.metadata.uid and created.data == {"k": "1"}
    core.create_namespaced_config_map("default", configmap("other", {"app": "other"}, {}))

    read = core.read_namespaced_config_map("py", "default")
    assert read.metadata.resource_version == created.metadata.resource_version
    read.data = {"k": "2"}
    replaced = core.replace_namespaced_config_map("py", "default", read)
    assert replaced.data == {"k": "2"}
    with pytest.raises(ApiException) as stale:
        core.replace_namespaced_config_map("py", "default", read)  # still the first resourceVersion
    assert stale.value.status == 409 and "Conflict" in str(stale.value.body)

    patched = core.patch_namespaced_config_map("py", "default", {"metadata": {"labels": {"tier": "x"}}})
    assert patched.metadata.labels == {"app": "py", "tier": "x"}

    def names(**selectors: str) -> list[str]:
        return sorted(c.metadata.name for c in core.list_namespaced_config_map("default", **selectors).items)

    assert names(label_selector="app=py") == ["py"]
    assert names(label_selector="app in (py,other),tier!=x") == ["other"]
    assert names(field_selector="metadata.name=other") == ["other"]
    first = core.list_namespaced_config_map("default", limit=1)
    assert len(first.items) == 1 and first.metadata.remaining_item_count == 1
    second = core.list_namespaced_config_map("default", limit=1, _continue=first.metadata._continue)
    assert [c.metadata.name for c in first.items + second.items] == ["other", "py"] and not second.metadata._continue

    core.delete_namespaced_config_map("py", "default")
    with pytest.raises(ApiException) as gone:
        core.read_namespaced_config_map("py", "default")
    assert gone.value.status == 404

    for n in range(3):
        core.create_namespaced_config_map("default", configmap(f"batch-{n}", {"batch": "yes"}, {}))
    core.delete_collection_namespaced_config_map("default", label_selector="batch=yes")  # deletecollection
    assert names(label_selector="batch=yes") == [] and names() == ["other"]


def events_until(stream: Iterator[dict[str, Any]], count: int) -> list[tuple[str, str, dict[str, str]]]:
    seen = []
    for event in stream:
        meta = event["object"].metadata
        seen.append((event["type"], meta.name, meta.labels or {}))
        if len(seen) == count:
            break
    return seen


def test_a_watch_goes_on_from_its_last_resource_version_on_another_replica_after_a_kill(
        settings: Settings, services: Callable[..., ServiceProcess], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    services("api")
    kubectl, _, first_server = serve_apiserver(settings, services, tmp_path, monkeypatch)
    core = core_api(kubectl.kubeconfig)
    listed = core.list_namespaced_config_map("default")
    core.create_namespaced_config_map("default", configmap("w1", {"app": "w"}, {}))

    first = watch.Watch()
    seen = events_until(first.stream(core.list_namespaced_config_map, "default", label_selector="app=w",
                                     resource_version=listed.metadata.resource_version, timeout_seconds=20), 1)
    assert seen == [("ADDED", "w1", {"app": "w"})]
    last = first.resource_version  # the client's own bookkeeping: the last event's object
    first.stop()

    other, _, _ = serve_apiserver(settings, services, tmp_path, monkeypatch)  # a second replica
    first_server.kill()
    other_core = core_api(other.kubeconfig)
    other_core.patch_namespaced_config_map("w1", "default", {"metadata": {"labels": {"app": "w", "v": "2"}}})
    other_core.create_namespaced_config_map("default", configmap("w2", {"app": "w"}, {}))
    other_core.delete_namespaced_config_map("w1", "default")
    other_core.patch_namespaced_config_map("w2", "default", {"metadata": {"labels": {"app": "gone"}}})

    resumed = watch.Watch()
    seen = events_until(resumed.stream(other_core.list_namespaced_config_map, "default", label_selector="app=w",
                                       resource_version=last, timeout_seconds=20), 4)
    resumed.stop()
    assert seen == [("MODIFIED", "w1", {"app": "w", "v": "2"}), ("ADDED", "w2", {"app": "w"}),
                    ("DELETED", "w1", {"app": "w", "v": "2"}),
                    ("DELETED", "w2", {"app": "gone"})]  # it left the selector, as kube-apiserver sends it
