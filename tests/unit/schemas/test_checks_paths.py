"""Path rules (files stay inside their volume) and endpoint address rules, with upstream's
exact field paths and messages."""

from __future__ import annotations

from typing import Any

import pytest

from schemas.checks_paths import check_endpoint_ip, check_pod_paths

BACK = "must not contain '..'"
RELATIVE = "must be a relative path"


def errors(spec: dict[str, Any], prefix: str = "spec") -> list[str]:
    return [str(e) for e in check_pod_paths(spec, prefix)]


def mounting(**mount: Any) -> dict[str, Any]:
    return {"volumes": [{"name": "v", "emptyDir": {}}],
            "containers": [{"name": "c", "image": "i",
                            "volumeMounts": [{"name": "v", "mountPath": "/data", **mount}]}]}


def volume(**source: Any) -> dict[str, Any]:
    return {"volumes": [{"name": "v", **source}], "containers": [{"name": "c", "image": "i"}]}


MOUNT_CASES: list[tuple[str, dict[str, Any], list[str]]] = [
    ("subPath climbing out", {"subPath": "../../../../../../.."},
     [f'spec.containers[0].volumeMounts.subPath: Invalid value: "../../../../../../..": {BACK}']),
    ("subPath absolute", {"subPath": "/etc/shadow"},
     [f'spec.containers[0].volumeMounts.subPath: Invalid value: "/etc/shadow": {RELATIVE}']),
    ("subPath absolute and climbing", {"subPath": "/../x"},
     [f'spec.containers[0].volumeMounts.subPath: Invalid value: "/../x": {RELATIVE}',
      f'spec.containers[0].volumeMounts.subPath: Invalid value: "/../x": {BACK}']),
    ("subPath with .. inside", {"subPath": "baz/../bat"},
     [f'spec.containers[0].volumeMounts.subPath: Invalid value: "baz/../bat": {BACK}']),
    ("subPath ending in ..", {"subPath": "./.."},
     [f'spec.containers[0].volumeMounts.subPath: Invalid value: "./..": {BACK}']),
    ("subPath names that only start with dots", {"subPath": "..baz/.x"}, []),
    ("subPathExpr climbing out", {"subPathExpr": "$(POD_NAME)/.."},
     [f'spec.containers[0].volumeMounts.subPathExpr: Invalid value: "$(POD_NAME)/..": {BACK}']),
    ("subPath and subPathExpr", {"subPath": "a", "subPathExpr": "$(POD_NAME)"},
     ['spec.containers[0].volumeMounts[0].subPathExpr: Invalid value: "$(POD_NAME)": '
      "subPathExpr and subPath are mutually exclusive"]),
    ("a relative mountPath is not a path error", {"mountPath": "data"}, []),
]


@pytest.mark.parametrize(("mount", "expected"), [c[1:] for c in MOUNT_CASES],
                         ids=[c[0] for c in MOUNT_CASES])
def test_volume_mount_paths(mount: dict[str, Any], expected: list[str]) -> None:
    assert errors(mounting(**mount)) == expected


def test_every_container_group_and_the_prefix() -> None:
    spec = {"containers": [{"name": "c", "volumeMounts": [{"name": "v", "subPath": ".."}]}],
            "initContainers": [{"name": "i", "volumeMounts": [{"name": "v", "subPath": "/a"}]}],
            "ephemeralContainers": [{"name": "e", "volumeMounts": [{"name": "v", "subPath": "ok"},
                                                                     {"name": "v", "subPath": "../b"}]}]}
    assert errors(spec, "spec.template.spec") == [
        f'spec.template.spec.containers[0].volumeMounts.subPath: Invalid value: "..": {BACK}',
        f'spec.template.spec.initContainers[0].volumeMounts.subPath: Invalid value: "/a": {RELATIVE}',
        f'spec.template.spec.ephemeralContainers[0].volumeMounts.subPath: Invalid value: "../b": '
        f"{BACK}",
    ]


VOLUME_CASES: list[tuple[str, dict[str, Any], list[str]]] = [
    ("secret item to an absolute path",
     {"secret": {"secretName": "s", "items": [{"key": "k", "path": "/root/.ssh/authorized_keys"}]}},
     [f'spec.volumes[0].secret.items[0].path: Invalid value: "/root/.ssh/authorized_keys": '
      f"{RELATIVE}"]),
    ("configMap item climbing out",
     {"configMap": {"name": "m", "items": [{"key": "a", "path": "ok"}, {"key": "k", "path": "../.."}]}},
     [f'spec.volumes[0].configMap.items[1].path: Invalid value: "../..": {BACK}']),
    ("item into the atomic writer's ..data",
     {"configMap": {"name": "m", "items": [{"key": "k", "path": "..data"}]}},
     ['spec.volumes[0].configMap.items[0].path: Invalid value: "..data": '
      "must not start with '..'"]),
    ("item with an empty path", {"secret": {"secretName": "s", "items": [{"key": "k", "path": ""}]}},
     ["spec.volumes[0].secret.items[0].path: Required value"]),
    ("downwardAPI file climbing out",
     {"downwardAPI": {"items": [{"path": "../x", "fieldRef": {"fieldPath": "metadata.name"}}]}},
     [f'spec.volumes[0].downwardAPI.path: Invalid value: "../x": {BACK}']),
    ("projected sources", {"projected": {"sources": [
        {"secret": {"name": "s", "items": [{"key": "k", "path": "/abs"}]}},
        {"configMap": {"name": "m", "items": [{"key": "k", "path": "a/../../b"}]}},
        {"downwardAPI": {"items": [{"path": "..x"}]}},
        {"serviceAccountToken": {"path": "/token"}},
        {"clusterTrustBundle": {"name": "b", "path": "../ca.pem"}},
        {"podCertificate": {"keyPath": "/key", "credentialBundlePath": "ok"}},
    ]}}, [
        f'spec.volumes[0].projected.sources[0].secret.items[0].path: Invalid value: "/abs": {RELATIVE}',
        f'spec.volumes[0].projected.sources[1].configMap.items[0].path: Invalid value: "a/../../b": '
        f"{BACK}",
        'spec.volumes[0].projected.sources[2].downwardAPI.path: Invalid value: "..x": '
        "must not start with '..'",
        f'spec.volumes[0].projected.path: Invalid value: "/token": {RELATIVE}',
        f'spec.volumes[0].projected.sources[4].clusterTrustBundle.path: Invalid value: "../ca.pem": '
        f"{BACK}",
        f'spec.volumes[0].projected.sources[5].podCertificate.keyPath: Invalid value: "/key": '
        f"{RELATIVE}",
    ]),
    ("hostPath may be absolute but not climb", {"hostPath": {"path": "/var/../etc"}},
     [f'spec.volumes[0].hostPath.path: Invalid value: "/var/../etc": {BACK}']),
    ("hostPath root", {"hostPath": {"path": "/"}}, []),
    ("gitRepo directory", {"gitRepo": {"repository": "r", "directory": ".."}},
     [f'spec.volumes[0].gitRepo.directory: Invalid value: "..": {BACK}']),
    ("good items", {"secret": {"secretName": "s", "items": [{"key": "k", "path": "a/b.txt"}]}}, []),
]


@pytest.mark.parametrize(("source", "expected"), [c[1:] for c in VOLUME_CASES],
                         ids=[c[0] for c in VOLUME_CASES])
def test_volume_paths(source: dict[str, Any], expected: list[str]) -> None:
    assert errors(volume(**source)) == expected


LOOPBACK = "may not be in the loopback range (127.0.0.0/8, ::1/128)"
LINK_LOCAL = "may not be in the link-local range (169.254.0.0/16, fe80::/10)"
LL_MULTICAST = "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)"
IP_CASES: list[tuple[str, list[str]]] = [
    ("127.0.0.1", [LOOPBACK]),
    ("127.1.2.3", [LOOPBACK]),
    ("127.000.000.001", [LOOPBACK]),
    ("::1", [LOOPBACK]),
    ("::ffff:127.0.0.1", [LOOPBACK]),
    ("169.254.169.254", [LINK_LOCAL]),
    ("fe80::1", [LINK_LOCAL]),
    ("febf::1", [LINK_LOCAL]),
    ("224.0.0.251", [LL_MULTICAST]),
    ("ff02::1", [LL_MULTICAST]),
    ("0.0.0.0", ["may not be unspecified (0.0.0.0)"]),
    ("::", ["may not be unspecified (::)"]),
    ("not-an-ip", ["must be a valid IP address"]),
    ("fe80::1%eth0", ["must be a valid IP address"]),
    ("1.2.3.256", ["must be a valid IP address"]),
    ("10.0.0.1", []),
    ("010.000.000.001", []),
    ("2001:db8::1", []),
    ("fec0::1", []),
    ("239.1.1.1", []),
]


@pytest.mark.parametrize(("ip", "messages"), IP_CASES, ids=[c[0] for c in IP_CASES])
def test_endpoint_ip(ip: str, messages: list[str]) -> None:
    path = "subsets[0].addresses[0].ip"
    assert [str(e) for e in check_endpoint_ip(ip, path)] == [
        f'{path}: Invalid value: "{ip}": {m}' for m in messages]
