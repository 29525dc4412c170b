"""security_context: the pod's and the container's securityContext resolved with Kubernetes'
precedence into ContainerSecurity, and runAsNonRoot verified as upstream's
verifyRunAsNonRoot does, with its messages."""

from __future__ import annotations

from typing import Any

import pytest

from schemas.pod import Container, Pod
from services.kubelet.container_config import ConfigError, container_config
from services.kubelet.runtime.base import ContainerSecurity, ImageUser, SELinuxLabel
from services.kubelet.security_context import (
    SecurityContextError, capability, container_security, fs_group, needs_image_user, pod_sysctls,
)
from tests.unit.kubelet.helpers import pod

WHERE = '(pod: "p_default(u-1)", container: web)'


def build(pod_sc: dict[str, Any] | None, container_sc: dict[str, Any] | None) -> tuple[Pod, Container]:
    spec: dict[str, Any] = {"securityContext": pod_sc} if pod_sc is not None else {}
    container = Container.model_validate({"name": "web", "image": "img",
                                          **({"securityContext": container_sc} if container_sc is not None else {})})
    return pod("web", **spec), container


def security(pod_sc: dict[str, Any] | None, container_sc: dict[str, Any] | None,
             image_user: ImageUser | None = None) -> ContainerSecurity:
    the_pod, container = build(pod_sc, container_sc)
    return container_security(the_pod, container, image_user=image_user)


@pytest.mark.parametrize(("pod_sc", "container_sc", "expected"), [
    (None, None, ContainerSecurity()),
    ({"runAsUser": 1000, "runAsGroup": 3000}, None, ContainerSecurity(run_as_user=1000, run_as_group=3000)),
    ({"runAsUser": 1000, "runAsGroup": 3000}, {"runAsUser": 2000},
     ContainerSecurity(run_as_user=2000, run_as_group=3000)),
    ({"fsGroup": 2000, "supplementalGroups": [4000, 2000, 5000]}, None,
     ContainerSecurity(supplemental_groups=[2000, 4000, 5000])),
    (None, {"readOnlyRootFilesystem": True, "privileged": True},
     ContainerSecurity(read_only_rootfs=True, privileged=True)),
    (None, {"capabilities": {"add": ["net_admin", "CAP_SYS_TIME"], "drop": ["ALL"]}},
     ContainerSecurity(cap_add=["CAP_NET_ADMIN", "CAP_SYS_TIME"], cap_drop=["ALL"])),
    (None, {"allowPrivilegeEscalation": False}, ContainerSecurity(no_new_privs=True)),
    (None, {"allowPrivilegeEscalation": True}, ContainerSecurity(no_new_privs=False)),
    ({"seccompProfile": {"type": "Unconfined"}}, None, ContainerSecurity(seccomp="Unconfined")),
    ({"seccompProfile": {"type": "Unconfined"}}, {"seccompProfile": {"type": "RuntimeDefault"}},
     ContainerSecurity(seccomp="RuntimeDefault")),
    (None, {"seccompProfile": {"type": "Localhost", "localhostProfile": "profiles/./audit.json"}},
     ContainerSecurity(seccomp="Localhost", seccomp_localhost="profiles/audit.json")),
    (None, {"procMount": "Unmasked"}, ContainerSecurity(unmasked_proc=True)),
    (None, {"procMount": "Default"}, ContainerSecurity()),
    ({"seLinuxOptions": {"level": "s0:c1,c2"}}, None, ContainerSecurity(selinux=SELinuxLabel(level="s0:c1,c2"))),
    ({"seLinuxOptions": {"level": "s0:c1,c2"}}, {"seLinuxOptions": {"type": "spc_t"}},
     ContainerSecurity(selinux=SELinuxLabel(type="spc_t"))),
    ({"windowsOptions": {"runAsUserName": "ContainerUser"}}, None, ContainerSecurity()),
    ({"runAsNonRoot": True, "runAsUser": 1000}, None, ContainerSecurity(run_as_user=1000)),
])
def test_effective_settings(pod_sc: dict[str, Any] | None, container_sc: dict[str, Any] | None,
                            expected: ContainerSecurity) -> None:
    assert security(pod_sc, container_sc) == expected


@pytest.mark.parametrize(("pod_sc", "container_sc", "image_user", "message"), [
    ({"runAsNonRoot": True}, None, ImageUser(),
     f"container has runAsNonRoot and image will run as root {WHERE}"),
    ({"runAsNonRoot": True}, None, ImageUser(uid=0),
     f"container has runAsNonRoot and image will run as root {WHERE}"),
    (None, {"runAsNonRoot": True}, ImageUser(username="nobody"),
     f"container has runAsNonRoot and image has non-numeric user (nobody), cannot verify user is non-root {WHERE}"),
    ({"runAsNonRoot": True, "runAsUser": 0}, None, None,
     f"container's runAsUser breaks non-root policy {WHERE}"),
    ({"runAsNonRoot": True}, {"runAsUser": 0}, ImageUser(uid=1000),
     f"container's runAsUser breaks non-root policy {WHERE}"),
    ({"runAsNonRoot": True}, None, ImageUser(uid=2**31),
     "container has runAsNonRoot and image has an invalid user id (2147483648). (Must be 1-(2147483647)): "
     f"must be between 0 and 2147483647, inclusive {WHERE}"),
    (None, {"seccompProfile": {"type": "Localhost"}}, None,
     "localhostProfile must be set if seccompProfile type is Localhost."),
    (None, {"seccompProfile": {"type": "Localhost", "localhostProfile": "../etc/passwd"}}, None,
     "seccomp profile \"../etc/passwd\" must be a relative path inside the kubelet's seccomp directory "
     "(no absolute path, no '..')"),
    (None, {"runAsUser": "1000"}, None,
     "invalid securityContext of container web: runAsUser: Input should be a valid integer"),
])
def test_refusals(pod_sc: dict[str, Any] | None, container_sc: dict[str, Any] | None,
                  image_user: ImageUser | None, message: str) -> None:
    with pytest.raises(SecurityContextError) as caught:
        security(pod_sc, container_sc, image_user)
    assert str(caught.value) == message


@pytest.mark.parametrize(("pod_sc", "container_sc", "image_user"), [
    ({"runAsNonRoot": True}, None, ImageUser(uid=1000)),
    ({"runAsNonRoot": True}, {"runAsNonRoot": False}, ImageUser()),  # the container's own field wins
    ({"runAsNonRoot": True}, {"runAsUser": 65534}, ImageUser()),
    ({"runAsNonRoot": False}, None, ImageUser()),
])
def test_non_root_accepted(pod_sc: dict[str, Any] | None, container_sc: dict[str, Any] | None,
                           image_user: ImageUser) -> None:
    security(pod_sc, container_sc, image_user)


@pytest.mark.parametrize(("pod_sc", "container_sc", "needed"), [
    (None, None, False),
    ({"runAsNonRoot": True}, None, True),
    ({"runAsNonRoot": True, "runAsUser": 5}, None, False),
    ({"runAsGroup": 5}, None, True),
    (None, {"runAsGroup": 5, "runAsUser": 7}, False),
    (None, {"runAsUser": "bad"}, False),  # container_security reports it
])
def test_image_user_asked_only_when_needed(pod_sc: dict[str, Any] | None, container_sc: dict[str, Any] | None,
                                           needed: bool) -> None:
    assert needs_image_user(*build(pod_sc, container_sc)) is needed


@pytest.mark.parametrize(("image_user", "username"), [
    (ImageUser(uid=1000), "1000"), (ImageUser(username="app"), "app"), (ImageUser(), "0"),
])
def test_group_without_user_keeps_the_images_user(image_user: ImageUser, username: str) -> None:
    result = security({"runAsGroup": 3000}, None, image_user)
    assert (result.run_as_user, result.run_as_username, result.run_as_group) == (None, username, 3000)


@pytest.mark.parametrize(("name", "normal"), [
    ("NET_RAW", "CAP_NET_RAW"), ("cap_chown", "CAP_CHOWN"), ("CAP_SYS_ADMIN", "CAP_SYS_ADMIN"), ("all", "ALL"),
])
def test_capability_names(name: str, normal: str) -> None:
    assert capability(name) == normal


def test_pod_only_fields() -> None:
    the_pod = pod("web", securityContext={"fsGroup": 2000, "fsGroupChangePolicy": "OnRootMismatch",
                                          "sysctls": [{"name": "net.ipv4.ip_local_port_range", "value": "1024 65000"},
                                                      {"name": "kernel.shm_rmid_forced", "value": "1"}]})
    assert fs_group(the_pod) == 2000
    assert pod_sysctls(the_pod) == {"net.ipv4.ip_local_port_range": "1024 65000", "kernel.shm_rmid_forced": "1"}
    assert fs_group(pod("web")) is None and pod_sysctls(pod("web")) == {}
    assert pod_sysctls(pod("web", securityContext={"sysctls": "bad"})) == {}


def test_container_config_carries_the_settings_and_refuses_as_config_error() -> None:
    the_pod, container = build({"runAsUser": 1000, "fsGroup": 2000}, {"readOnlyRootFilesystem": True})
    config = container_config(the_pod, container, configmaps={}, secrets={}, volume_paths={}, attempt=0)
    assert config.security == ContainerSecurity(run_as_user=1000, supplemental_groups=[2000], read_only_rootfs=True)
    the_pod, container = build({"runAsNonRoot": True}, None)
    with pytest.raises(ConfigError) as caught:
        container_config(the_pod, container, configmaps={}, secrets={}, volume_paths={}, attempt=0,
                         image_user=ImageUser())
    assert caught.value.reason == "CreateContainerConfigError"
    assert str(caught.value) == f"container has runAsNonRoot and image will run as root {WHERE}"
