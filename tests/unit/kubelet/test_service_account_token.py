"""The kubelet's ServiceAccount token: the TokenRequest it sends, renewal at 80% of the
lifetime (the old token kept while a renewal fails), the projected files (token,
namespace, ca.crt; 0644) and their read-only mount in every container."""

from __future__ import annotations

import asyncio
import stat
from pathlib import Path

import pytest

from schemas.pod import Pod
from services.kubelet.container_config import (SERVICE_ACCOUNT_MOUNT, SERVICE_ACCOUNT_VOLUME, container_config,
                                               mounts)
from services.kubelet.tokens import IssuedToken, TokenClient, TokenError, TokenManager, wants_token
from services.kubelet.volumes import VolumeManager
from services.runtime.config import Settings
from services.runtime.sealing import Recipient


def a_pod(**spec: object) -> Pod:
    return Pod.model_validate({"apiVersion": "v1", "kind": "Pod",
                               "metadata": {"name": "web", "namespace": "team-a", "uid": "pod-uid"},
                               "spec": {"containers": [{"name": "c", "image": "i"}], **spec}})


async def never(_request: object) -> None:
    raise AssertionError("not sent in this test")


def test_the_token_request_is_bound_to_the_pod_and_names_the_node_key() -> None:
    client = TokenClient(Settings(), "n1", never, node_key=("o-1", b"k" * 32))
    request = client.request_for(a_pod(serviceAccountName="robot"), None)
    assert (request.kind, request.api_version, request.key) == ("TokenRequest", "authentication.k8s.io/v1",
                                                                "team-a/robot")
    body = request.body or {}
    assert body["spec"]["boundObjectRef"] == {"apiVersion": "v1", "kind": "Pod", "name": "web", "uid": "pod-uid"}
    assert body["spec"]["expirationSeconds"] == 3600
    assert body["metadata"]["annotations"] == {"kafkube.io/sealing-key-id": "o-1"}
    recipient = Recipient()
    unkeyed = TokenClient(Settings(), "n1", never, node_key=None).request_for(a_pod(), recipient)
    assert unkeyed.name == "default"
    assert (unkeyed.body or {})["metadata"]["annotations"] == {"kafkube.io/token-recipient": recipient.public_b64}


def test_automount_false_gets_no_token() -> None:
    assert wants_token(a_pod()) and wants_token(a_pod(automountServiceAccountToken=True))
    assert not wants_token(a_pod(automountServiceAccountToken=False))


class FakeClient:
    def __init__(self) -> None:
        self.answers: list[IssuedToken | TokenError] = []
        self.asked = 0

    async def request(self, _pod: Pod) -> IssuedToken:
        self.asked += 1
        answer = self.answers.pop(0)
        if isinstance(answer, TokenError):
            raise answer
        return answer


def test_tokens_are_renewed_at_80_percent_and_kept_while_renewal_fails() -> None:
    now = [1000.0]
    fake = FakeClient()
    manager = TokenManager(fake, clock=lambda: now[0])  # type: ignore[arg-type]
    fake.answers = [IssuedToken("t1", 1000.0, 2000.0)]
    pod = a_pod()
    assert asyncio.run(manager.token_for(pod)) == "t1"
    now[0] = 1799.0
    assert asyncio.run(manager.token_for(pod)) == "t1" and fake.asked == 1
    now[0] = 1800.0
    fake.answers = [TokenError("the API is away")]
    assert asyncio.run(manager.token_for(pod)) == "t1" and fake.asked == 2  # still valid: kept
    fake.answers = [IssuedToken("t2", 1800.0, 2800.0)]
    assert asyncio.run(manager.token_for(pod)) == "t2" and fake.asked == 3
    now[0] = 2900.0
    fake.answers = [TokenError("refused")]
    with pytest.raises(TokenError):
        asyncio.run(manager.token_for(pod))  # expired and no new one: the mount fails
    manager.forget("pod-uid")
    fake.answers = [IssuedToken("t3", 2900.0, 3900.0)]
    assert asyncio.run(manager.token_for(pod)) == "t3"


def test_the_token_files_are_projected_0644(tmp_path: Path) -> None:
    manager = VolumeManager(tmp_path, "n1")
    paths = manager.prepare(a_pod(), configmaps={}, secrets={}, token="tok-1")
    target = Path(paths[SERVICE_ACCOUNT_VOLUME])
    files = {p.name: p.read_bytes() for p in target.iterdir()}
    assert files == {"token": b"tok-1", "namespace": b"team-a", "ca.crt": b""}
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o644 for p in target.iterdir())
    manager.prepare(a_pod(), configmaps={}, secrets={}, token="tok-2")  # renewed: replaced in place
    assert (target / "token").read_bytes() == b"tok-2"
    assert SERVICE_ACCOUNT_VOLUME not in manager.prepare(a_pod(), configmaps={}, secrets={})


def test_every_container_mounts_the_token_read_only_unless_it_mounts_that_path_itself() -> None:
    pod = a_pod(volumes=[{"name": "own", "emptyDir": {}}])
    config = container_config(pod, pod.spec.containers[0], configmaps={}, secrets={},  # type: ignore[union-attr,index]
                              volume_paths={SERVICE_ACCOUNT_VOLUME: "/host/sa"}, attempt=0)
    (mount,) = config.mounts
    assert (mount.host_path, mount.container_path, mount.read_only) == ("/host/sa", SERVICE_ACCOUNT_MOUNT, True)
    own = Pod.model_validate({**pod.model_dump(by_alias=True, exclude_none=True), "spec": {
        "volumes": [{"name": "own", "emptyDir": {}}],
        "containers": [{"name": "c", "image": "i", "volumeMounts": [{"name": "own", "mountPath": SERVICE_ACCOUNT_MOUNT}]}]}})
    container = own.spec.containers[0]  # type: ignore[union-attr,index]
    assert [m.host_path for m in mounts(container, {"own": "/host/own", SERVICE_ACCOUNT_VOLUME: "/host/sa"})] == \
        ["/host/own"]
    assert mounts(container, {"own": "/host/own"})[0].container_path == SERVICE_ACCOUNT_MOUNT
