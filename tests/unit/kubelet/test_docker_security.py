"""docker_security: ContainerSecurity as Docker Engine fields (User, HostConfig), in the
create bodies docker_config builds; the image's Config.User as an ImageUser."""

from __future__ import annotations

from typing import Any

import pytest

from services.kubelet.runtime.base import (
    ContainerConfig, ContainerInfo, ContainerSecurity, ImageUser, PodRef, SandboxConfig, SELinuxLabel,
)
from services.kubelet.runtime.docker_config import container_body, sandbox_body
from services.kubelet.runtime.docker_parse import image_user
from services.kubelet.runtime.docker_security import docker_user, security_host_config

REF = PodRef(namespace="default", name="p", uid="u-1")


@pytest.mark.parametrize(("security", "user"), [
    (ContainerSecurity(), None),
    (ContainerSecurity(run_as_user=1000), "1000"),
    (ContainerSecurity(run_as_user=1000, run_as_group=3000), "1000:3000"),
    (ContainerSecurity(run_as_username="app", run_as_group=3000), "app:3000"),
    (ContainerSecurity(run_as_group=3000), None),  # no image user known: the image's own
])
def test_user(security: ContainerSecurity, user: str | None) -> None:
    assert docker_user(security) == user


@pytest.mark.parametrize(("security", "host"), [
    (ContainerSecurity(), {}),
    (ContainerSecurity(supplemental_groups=[2000, 4000]), {"GroupAdd": ["2000", "4000"]}),
    (ContainerSecurity(privileged=True, read_only_rootfs=True), {"Privileged": True, "ReadonlyRootfs": True}),
    (ContainerSecurity(cap_add=["CAP_NET_ADMIN"], cap_drop=["ALL"]),
     {"CapAdd": ["CAP_NET_ADMIN"], "CapDrop": ["ALL"]}),
    (ContainerSecurity(no_new_privs=True), {"SecurityOpt": ["no-new-privileges"]}),
    (ContainerSecurity(seccomp="Unconfined"), {"SecurityOpt": ["seccomp=unconfined"]}),
    (ContainerSecurity(unmasked_proc=True), {"MaskedPaths": [], "ReadonlyPaths": []}),
    (ContainerSecurity(selinux=SELinuxLabel(type="spc_t", level="s0:c1,c2")),
     {"SecurityOpt": ["label=type:spc_t", "label=level:s0:c1,c2"]}),
    (ContainerSecurity(no_new_privs=True, seccomp="Unconfined"),
     {"SecurityOpt": ["no-new-privileges", "seccomp=unconfined"]}),
])
def test_host_config(security: ContainerSecurity, host: dict[str, Any]) -> None:
    assert security_host_config(security) == host


def test_localhost_seccomp_carries_the_profile_text() -> None:
    security = ContainerSecurity(seccomp="Localhost", seccomp_localhost="audit.json")
    profile = '{"defaultAction": "SCMP_ACT_LOG"}'
    assert security_host_config(security, seccomp_profile=profile) == {"SecurityOpt": [f"seccomp={profile}"]}
    with pytest.raises(ValueError):
        security_host_config(security)


def test_container_body_merges_security_into_its_host_config() -> None:
    sandbox = ContainerInfo(id="sb", pod=REF, name="POD", role="infra", image="pause", state="running")
    config = ContainerConfig(pod=REF, name="web", role="app", image="img",
                             security=ContainerSecurity(run_as_user=1000, run_as_group=3000, read_only_rootfs=True,
                                                        cap_drop=["CAP_NET_RAW"]))
    body = container_body(sandbox, config, node="n1")
    assert body["User"] == "1000:3000"
    assert body["HostConfig"]["NetworkMode"] == "container:sb"
    assert body["HostConfig"]["ReadonlyRootfs"] is True and body["HostConfig"]["CapDrop"] == ["CAP_NET_RAW"]
    plain = container_body(sandbox, config.model_copy(update={"security": ContainerSecurity()}), node="n1")
    assert "User" not in plain and "CapDrop" not in plain["HostConfig"]


def test_sandbox_gets_the_pods_sysctls() -> None:
    config = SandboxConfig(pod=REF, hostname="p", sysctls={"net.ipv4.ip_unprivileged_port_start": "80"})
    body = sandbox_body(config, node="n1", image="pause", attempt=0)
    assert body["HostConfig"]["Sysctls"] == {"net.ipv4.ip_unprivileged_port_start": "80"}
    assert "Sysctls" not in sandbox_body(SandboxConfig(pod=REF, hostname="p"), node="n1", image="pause",
                                         attempt=0)["HostConfig"]


@pytest.mark.parametrize(("user", "expected"), [
    ("", ImageUser()), (None, ImageUser()), ("1000", ImageUser(uid=1000)), ("1000:50", ImageUser(uid=1000)),
    ("0", ImageUser(uid=0)), ("nobody", ImageUser(username="nobody")), ("app:staff", ImageUser(username="app")),
])
def test_image_user_from_the_image_config(user: str | None, expected: ImageUser) -> None:
    assert image_user({"Config": {"User": user}}) == expected
