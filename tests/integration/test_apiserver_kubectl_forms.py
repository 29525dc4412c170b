"""The real kubectl (1.32) through `kafkube serve apiserver`, for the forms users type every
day: `get` with `-o wide|yaml|jsonpath|custom-columns`, `-l` and `-w` (a change printed as
it happens); `annotate` (and `--overwrite`); `delete --cascade=orphan|foreground` of a
Deployment the controllers own ReplicaSets for; `logs -f` following new lines."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from datetime import datetime, timezone
from typing import IO, Any

import pytest
import yaml

from schemas.records import LogLine
from services.runtime.bus import encode, make_producer
from services.runtime.config import Settings
from services.runtime.topics import Topics
from tests.integration.kafkit import ServiceProcess, eventually
from tests.integration.test_apiserver_kubectl import KUBECTL, MANIFESTS, Kubectl, apiserver  # noqa: F401

pytestmark = pytest.mark.kafka


def popen(kubectl: Kubectl, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([KUBECTL, "--kubeconfig", str(kubectl.kubeconfig), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def next_line(stream: IO[str] | None) -> list[str]:
    assert stream is not None
    return stream.readline().split()


def test_get_output_forms_selectors_watch_and_annotate(apiserver: tuple[Kubectl, int]) -> None:
    kubectl, _ = apiserver
    kubectl("apply", "-f", "-", stdin=MANIFESTS)
    wide = kubectl("get", "deploy", "web", "-o", "wide").stdout.splitlines()
    assert wide[0].split() == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE", "CONTAINERS", "IMAGES", "SELECTOR"]
    assert wide[1].split()[5:] == ["main", "busybox:1.36", "app=web"]
    assert yaml.safe_load(kubectl("get", "cm", "settings", "-o", "yaml").stdout)["data"] == {"mode": "fast"}
    assert kubectl("get", "deploy", "web", "-o", "jsonpath={.spec.replicas}/{.spec.template.spec.containers[0].name}"
                   ).stdout == "2/main"
    columns = kubectl("get", "cm", "-l", "app in (x,other)", "-o",
                      "custom-columns=NAME:.metadata.name,APP:.metadata.labels.app").stdout.splitlines()
    assert [line.split() for line in columns] == [["NAME", "APP"], ["other", "other"], ["settings", "x"]]

    watching = popen(kubectl, "get", "cm", "settings", "-w", "-o", "custom-columns=NAME:.metadata.name,"
                     "NOTE:.metadata.annotations.note")
    try:
        assert next_line(watching.stdout) == ["NAME", "NOTE"]
        assert next_line(watching.stdout) == ["settings", "<none>"]
        assert kubectl("annotate", "cm", "settings", "note=first").stdout.strip() == "configmap/settings annotated"
        assert next_line(watching.stdout) == ["settings", "first"]  # printed as it happened
        again = kubectl("annotate", "cm", "settings", "note=second", check=False)
        assert again.returncode != 0 and "--overwrite is false but found the following declared annotation(s): " \
            "'note' already has a value (first)" in again.stderr, again.stderr
        kubectl("annotate", "cm", "settings", "note=second", "--overwrite")
        assert next_line(watching.stdout) == ["settings", "second"]
    finally:
        watching.terminate()
        watching.wait(timeout=30)


def owned_replicasets(kubectl: Kubectl) -> list[dict[str, Any]]:
    return kubectl.json("get", "rs", "-l", "app=web")["items"]  # type: ignore[return-value]


def test_delete_cascades_as_asked(apiserver: tuple[Kubectl, int], services: Callable[..., ServiceProcess]) -> None:
    kubectl, _ = apiserver
    services("controllers")
    kubectl("apply", "-f", "-", stdin=MANIFESTS)
    eventually(lambda: len(owned_replicasets(kubectl)) == 1, "the Deployment's ReplicaSet was not created")

    kubectl("delete", "deploy", "web", "--cascade=orphan")
    eventually(lambda: kubectl("get", "deploy", "web", check=False).returncode != 0, "the Deployment was not deleted")
    eventually(lambda: not owned_replicasets(kubectl)[0]["metadata"].get("ownerReferences"),
               "the orphaned ReplicaSet still names its owner")
    kubectl("delete", "rs", "-l", "app=web")

    kubectl("apply", "-f", "-", stdin=MANIFESTS)
    eventually(lambda: len(owned_replicasets(kubectl)) == 1, "the second Deployment's ReplicaSet was not created")
    kubectl("delete", "deploy", "web", "--cascade=foreground")
    eventually(lambda: kubectl("get", "deploy", "web", check=False).returncode != 0 and not owned_replicasets(kubectl),
               "foreground deletion left the Deployment or its ReplicaSet behind")


async def test_logs_follow_prints_new_lines(apiserver: tuple[Kubectl, int], settings: Settings) -> None:
    kubectl, _ = apiserver
    kubectl("create", "-f", "-", stdin='{"apiVersion":"v1","kind":"Pod","metadata":{"name":"talker",'
            '"namespace":"default"},"spec":{"containers":[{"name":"main","image":"busybox:1.36"}]}}')
    topic = Topics(settings.topic_prefix).logs
    async with make_producer(settings) as producer:  # as the pod's kubelet writes them

        async def say(n: int) -> None:
            line = LogLine(namespace="default", pod="talker", container="main", stream="stdout",
                           timestamp=datetime(2026, 1, 1, 0, 0, n, tzinfo=timezone.utc), line=f"said {n}")
            await producer.send_and_wait(topic, key=b"default/talker", value=encode(line))

        await say(0)
        following = popen(kubectl, "logs", "-f", "talker")
        try:
            assert next_line(following.stdout) == ["said", "0"]
            await say(1)
            assert next_line(following.stdout) == ["said", "1"]  # followed, not read again
        finally:
            following.terminate()
            following.wait(timeout=30)
