"""Pod Security Standards: each check passes and fails at its levels with upstream's exact text,
results come out in upstream's order, pod- and container-level settings combine as upstream,
and namespace labels resolve to a policy as upstream's PolicyToEvaluate does."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from schemas.podsecurity import (
    LATEST,
    LevelVersion,
    Version,
    Violation,
    evaluate,
    forbidden_detail,
    namespace_policy,
    parse_version,
    pod_template,
    violation_message,
    warning_message,
)

Spec = dict[str, Any]
SAFE_CONTAINER_SC = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}


def ctr(name: str = "c", **sc: Any) -> dict[str, Any]:
    """A container that passes restricted, with ``sc`` merged into its securityContext."""
    return {"name": name, "image": "nginx", "securityContext": {**SAFE_CONTAINER_SC, **sc}}


def pod(*, sc: dict[str, Any] | None = None, containers: list[Any] | None = None,
        **spec: Any) -> Spec:
    """A pod spec that passes restricted, with the given changes."""
    pod_sc = {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
    return {"securityContext": {**pod_sc, **(sc or {})},
            "containers": containers if containers is not None else [ctr()], **spec}


def detail(level: Any, spec: Spec, version: str = "latest", meta: Any = None) -> str | None:
    found = evaluate(level, version, meta or {}, spec)
    return forbidden_detail(found) if found else None


def test_the_safe_pod_passes_every_level() -> None:
    for level in ("privileged", "baseline", "restricted"):
        assert evaluate(level, LATEST, {}, pod()) == []


# (id, spec, metadata, baseline detail, restricted detail); None means the level allows it.
APPARMOR_KEY = "container.apparmor.security.beta.kubernetes.io/c"
BASELINE_CASES: list[tuple[str, Spec, dict[str, Any], str | None, str | None]] = [
    ("host namespaces", pod(hostNetwork=True, hostPID=True, hostIPC=True), {},
     "host namespaces (hostNetwork=true, hostPID=true, hostIPC=true)", "same"),
    ("host namespaces false", pod(hostNetwork=False, hostPID=False), {}, None, None),
    ("privileged", pod(containers=[ctr(privileged=True)]), {},
     'privileged (container "c" must not set securityContext.privileged=true)', "same"),
    ("privileged false", pod(containers=[ctr(privileged=False)]), {}, None, None),
    ("privileged init and ephemeral",
     pod(initContainers=[ctr("i", privileged=True)], containers=[ctr()],
         ephemeralContainers=[ctr("debug", privileged=True)]), {},
     'privileged (containers "i", "debug" must not set securityContext.privileged=true)', "same"),
    ("non-default capabilities",
     pod(containers=[ctr(capabilities={"drop": ["ALL"], "add": ["SYS_ADMIN", "NET_RAW", "CHOWN"]})]),
     {}, 'non-default capabilities (container "c" must not include "NET_RAW", "SYS_ADMIN" '
         'in securityContext.capabilities.add)',
     'unrestricted capabilities (container "c" must not include "CHOWN", "NET_RAW", "SYS_ADMIN" '
     'in securityContext.capabilities.add)'),
    ("default capability", pod(containers=[ctr(capabilities={"drop": ["ALL"], "add": ["CHOWN"]})]),
     {}, None, 'unrestricted capabilities (container "c" must not include "CHOWN" in '
               'securityContext.capabilities.add)'),
    ("NET_BIND_SERVICE",
     pod(containers=[ctr(capabilities={"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]})]), {},
     None, None),
    ("hostPath", pod(volumes=[{"name": "root", "hostPath": {"path": "/"}}]), {},
     'hostPath volumes (volume "root")',
     'restricted volume types (volume "root" uses restricted volume type "hostPath")'),
    ("two hostPaths", pod(volumes=[{"name": "a", "hostPath": {"path": "/a"}},
                                   {"name": "b", "hostPath": {"path": "/b"}}]), {},
     'hostPath volumes (volumes "a", "b")',
     'restricted volume types (volumes "a", "b" use restricted volume type "hostPath")'),
    ("hostPort", pod(containers=[{**ctr(), "ports": [{"containerPort": 80, "hostPort": 8080},
                                                     {"containerPort": 81, "hostPort": 80}]}]),
     {}, 'hostPort (container "c" uses hostPorts 80, 8080)', "same"),
    ("hostPort 0", pod(containers=[{**ctr(), "ports": [{"containerPort": 80, "hostPort": 0}]}]),
     {}, None, None),
    ("probe and lifecycle hosts",
     pod(containers=[{**ctr(), "livenessProbe": {"httpGet": {"port": 80, "host": "10.0.0.1"}},
                      "lifecycle": {"preStop": {"tcpSocket": {"port": 1, "host": "evil"}}}}]),
     {}, 'probe or lifecycle host (container "c" uses probe or lifecycle hosts "10.0.0.1", '
         '"evil")', "same"),
    ("probe without host",
     pod(containers=[{**ctr(), "readinessProbe": {"httpGet": {"port": 80, "host": ""}}}]), {},
     None, None),
    ("AppArmor pod", pod(sc={"appArmorProfile": {"type": "Unconfined"}}), {},
     'forbidden AppArmor profile (pod must not set AppArmor profile type to "Unconfined")',
     "same"),
    ("AppArmor allowed", pod(sc={"appArmorProfile": {"type": "RuntimeDefault"}},
                             containers=[ctr(appArmorProfile={"type": "Localhost",
                                                              "localhostProfile": "p"})]),
     {"annotations": {APPARMOR_KEY: "localhost/p"}}, None, None),
    ("AppArmor annotation", pod(), {"annotations": {APPARMOR_KEY: "unconfined"}},
     'forbidden AppArmor profile (annotation must not set AppArmor profile type to '
     f'"{APPARMOR_KEY}="unconfined"")', "same"),
    ("AppArmor everywhere", pod(sc={"appArmorProfile": {"type": "Unconfined"}},
                                containers=[ctr(appArmorProfile={"type": "Unconfined"})]),
     {"annotations": {APPARMOR_KEY: "unconfined"}},
     'forbidden AppArmor profiles (pod and container "c" and annotation must not set AppArmor '
     f'profile type to "Unconfined", "{APPARMOR_KEY}="unconfined"")', "same"),
    ("SELinux container", pod(containers=[ctr(seLinuxOptions={"type": "spc_t", "user": "root"})]),
     {}, 'seLinuxOptions (container "c" set forbidden securityContext.seLinuxOptions: '
         'type "spc_t"; user may not be set)', "same"),
    ("SELinux pod role", pod(sc={"seLinuxOptions": {"role": "sysadm_r"}}), {},
     "seLinuxOptions (pod set forbidden securityContext.seLinuxOptions: role may not be set)",
     "same"),
    ("SELinux allowed", pod(sc={"seLinuxOptions": {"type": "container_t", "level": "s0:c1"}}), {},
     None, None),
    ("procMount", pod(containers=[ctr(procMount="Unmasked")]), {},
     'procMount (container "c" must not set securityContext.procMount to "Unmasked")', "same"),
    ("procMount in a user namespace", pod(containers=[ctr(procMount="Unmasked")], hostUsers=False),
     {}, None, 'procMount (container "c" must not set securityContext.procMount to "Unmasked")'),
    ("procMount Default", pod(containers=[ctr(procMount="Default")]), {}, None, None),
    ("seccomp pod", pod(sc={"seccompProfile": {"type": "Unconfined"}}), {},
     'seccompProfile (pod must not set securityContext.seccompProfile.type to "Unconfined")',
     "same"),
    ("seccomp pod and container",
     pod(sc={"seccompProfile": {"type": "Unconfined"}},
         containers=[ctr(seccompProfile={"type": "Unconfined"}), ctr("d")]), {},
     'seccompProfile (pod and container "c" must not set securityContext.seccompProfile.type '
     'to "Unconfined")', "same"),
    ("seccomp annotation ignored at latest", pod(),
     {"annotations": {"seccomp.security.alpha.kubernetes.io/pod": "unconfined"}}, None, None),
    ("sysctls", pod(sc={"sysctls": [{"name": "kernel.msgmax", "value": "1"},
                                    {"name": "net.ipv4.tcp_rmem", "value": "1 2 3"}]}), {},
     "forbidden sysctls (kernel.msgmax)", "same"),
    ("hostProcess", pod(sc={"windowsOptions": {"hostProcess": True}},
                        containers=[ctr(windowsOptions={"hostProcess": True})]), {},
     'hostProcess (pod and container "c" must not set '
     'securityContext.windowsOptions.hostProcess=true)', "same"),
]


@pytest.mark.parametrize(("spec", "meta", "baseline", "restricted"),
                         [c[1:] for c in BASELINE_CASES], ids=[c[0] for c in BASELINE_CASES])
def test_baseline_checks(spec: Spec, meta: dict[str, Any], baseline: str | None,
                         restricted: str | None) -> None:
    assert detail("baseline", spec, meta=meta) == baseline
    assert detail("restricted", spec, meta=meta) == (baseline if restricted == "same" else restricted)
    assert detail("privileged", spec, meta=meta) is None


NO_APE = {"name": "c", "image": "nginx", "securityContext": {"capabilities": {"drop": ["ALL"]}}}
RESTRICTED_CASES: list[tuple[str, Spec, str | None]] = [
    ("allowPrivilegeEscalation unset", pod(containers=[NO_APE]),
     'allowPrivilegeEscalation != false (container "c" must set '
     "securityContext.allowPrivilegeEscalation=false)"),
    ("allowPrivilegeEscalation true", pod(containers=[ctr(allowPrivilegeEscalation=True)]),
     'allowPrivilegeEscalation != false (container "c" must set '
     "securityContext.allowPrivilegeEscalation=false)"),
    ("no drop ALL", pod(containers=[ctr(capabilities={"drop": ["NET_RAW"]})]),
     'unrestricted capabilities (container "c" must set securityContext.capabilities.drop=["ALL"])'),
    ("no drop ALL, and an add", pod(containers=[ctr(capabilities={"add": ["KILL"]})]),
     'unrestricted capabilities (container "c" must set securityContext.capabilities.drop=["ALL"]; '
     'container "c" must not include "KILL" in securityContext.capabilities.add)'),
    ("nfs volume", pod(volumes=[{"name": "data", "nfs": {"server": "s", "path": "/"}}]),
     'restricted volume types (volume "data" uses restricted volume type "nfs")'),
    ("volume of no known type", pod(volumes=[{"name": "x"}, {"name": "y", "gitRepo": {}}]),
     'restricted volume types (volumes "x", "y" use restricted volume types "gitRepo", "unknown")'),
    ("allowed volumes", pod(volumes=[
        {"name": "a", "configMap": {"name": "m"}}, {"name": "b", "secret": {"secretName": "s"}},
        {"name": "c", "emptyDir": {}}, {"name": "d", "persistentVolumeClaim": {"claimName": "p"}},
        {"name": "e", "projected": {"sources": []}}, {"name": "f", "csi": {"driver": "x"}},
        {"name": "g", "ephemeral": {}}, {"name": "h", "image": {"reference": "r"}},
        {"name": "i", "downwardAPI": {}}]), None),
    ("runAsNonRoot false on the pod", pod(sc={"runAsNonRoot": False}),
     "runAsNonRoot != true (pod must not set securityContext.runAsNonRoot=false)"),
    ("runAsNonRoot nowhere", pod(sc={"runAsNonRoot": None}, containers=[ctr(), ctr("d")]),
     'runAsNonRoot != true (pod or containers "c", "d" must set securityContext.runAsNonRoot=true)'),
    ("runAsUser 0", pod(sc={"runAsUser": 0}, containers=[ctr(runAsUser=0), ctr("d", runAsUser=5)]),
     'runAsUser=0 (pod and container "c" must not set runAsUser=0)'),
    ("runAsUser 1000", pod(sc={"runAsUser": 1000}), None),
    ("runAsNonRoot and runAsUser relaxed in a user namespace",
     pod(sc={"runAsNonRoot": False, "runAsUser": 0}, hostUsers=False), None),
    ("seccomp nowhere", pod(sc={"seccompProfile": None}),
     'seccompProfile (pod or container "c" must set securityContext.seccompProfile.type to '
     '"RuntimeDefault" or "Localhost")'),
    ("windows pods skip seccomp, capabilities and allowPrivilegeEscalation",
     pod(sc={"seccompProfile": None}, containers=[{"name": "c", "image": "i"}],
         os={"name": "windows"}), None),
]


@pytest.mark.parametrize(("spec", "restricted"), [c[1:] for c in RESTRICTED_CASES],
                         ids=[c[0] for c in RESTRICTED_CASES])
def test_restricted_checks(spec: Spec, restricted: str | None) -> None:
    assert detail("baseline", spec) is None
    assert detail("restricted", spec) == restricted


# (id, pod-level securityContext, container-level securityContext, restricted detail)
PRECEDENCE: list[tuple[str, dict[str, Any], dict[str, Any], str | None]] = [
    ("runAsNonRoot on the pod covers containers", {"runAsNonRoot": True}, {}, None),
    ("runAsNonRoot on the container is enough", {"runAsNonRoot": None}, {"runAsNonRoot": True}, None),
    ("a container's false beats the pod's true", {"runAsNonRoot": True}, {"runAsNonRoot": False},
     'runAsNonRoot != true (container "c" must not set securityContext.runAsNonRoot=false)'),
    ("a container's true does not excuse the pod's false", {"runAsNonRoot": False},
     {"runAsNonRoot": True},
     "runAsNonRoot != true (pod must not set securityContext.runAsNonRoot=false)"),
    ("seccomp on the container is enough", {"seccompProfile": None},
     {"seccompProfile": {"type": "Localhost", "localhostProfile": "p.json"}}, None),
    ("a container's Unconfined beats the pod's RuntimeDefault",
     {"seccompProfile": {"type": "RuntimeDefault"}}, {"seccompProfile": {"type": "Unconfined"}},
     'seccompProfile (container "c" must not set securityContext.seccompProfile.type to '
     '"Unconfined")'),
    ("a pod's runAsUser 0 is refused even when the container overrides it",
     {"runAsUser": 0}, {"runAsUser": 1000}, "runAsUser=0 (pod must not set runAsUser=0)"),
]


@pytest.mark.parametrize(("pod_sc", "container_sc", "expected"), [c[1:] for c in PRECEDENCE],
                         ids=[c[0] for c in PRECEDENCE])
def test_pod_and_container_security_context(pod_sc: dict[str, Any], container_sc: dict[str, Any],
                                            expected: str | None) -> None:
    assert detail("restricted", pod(sc=pod_sc, containers=[ctr(**container_sc)])) == expected


# (id, spec, version, level, detail): checks that change with the policy version
VERSIONED: list[tuple[str, Spec, str, str, str | None]] = [
    ("probe hosts are checked from v1.34",
     pod(containers=[{**ctr(), "startupProbe": {"tcpSocket": {"port": 1, "host": "h"}}}]),
     "v1.33", "baseline", None),
    ("container_engine_t is allowed from v1.31",
     pod(sc={"seLinuxOptions": {"type": "container_engine_t"}}), "v1.30", "baseline",
     'seLinuxOptions (pod set forbidden securityContext.seLinuxOptions: type "container_engine_t")'),
    ("container_engine_t at v1.31", pod(sc={"seLinuxOptions": {"type": "container_engine_t"}}),
     "v1.31", "baseline", None),
    ("tcp_rmem is allowed from v1.32", pod(sc={"sysctls": [{"name": "net.ipv4.tcp_rmem"}]}),
     "v1.31", "baseline", "forbidden sysctls (net.ipv4.tcp_rmem)"),
    ("procMount is relaxed for user namespaces from v1.35",
     pod(containers=[ctr(procMount="Unmasked")], hostUsers=False), "v1.34", "baseline",
     'procMount (container "c" must not set securityContext.procMount to "Unmasked")'),
    ("runAsNonRoot is relaxed for user namespaces from v1.35",
     pod(sc={"runAsNonRoot": False}, hostUsers=False), "v1.34", "restricted",
     "runAsNonRoot != true (pod must not set securityContext.runAsNonRoot=false)"),
    ("runAsUser is checked from v1.23", pod(sc={"runAsUser": 0}), "v1.22", "restricted", None),
    ("windows is exempt from v1.25", pod(containers=[{"name": "c", "image": "i"}],
                                         os={"name": "windows"}), "v1.24", "restricted",
     'allowPrivilegeEscalation != false (container "c" must set '
     'securityContext.allowPrivilegeEscalation=false), unrestricted capabilities (container "c" '
     'must set securityContext.capabilities.drop=["ALL"])'),
    ("seccomp annotations before v1.19", pod(sc={"seccompProfile": {"type": "Unconfined"}}),
     "v1.18", "baseline", None),
    ("a version past the newest check is latest", pod(hostPID=True), "v1.99", "baseline",
     "host namespaces (hostPID=true)"),
    ("an unreadable version is latest", pod(hostPID=True), "1.25", "baseline",
     "host namespaces (hostPID=true)"),
]


@pytest.mark.parametrize(("spec", "version", "level", "expected"), [c[1:] for c in VERSIONED],
                         ids=[c[0] for c in VERSIONED])
def test_version_gating(spec: Spec, version: str, level: str, expected: str | None) -> None:
    assert detail(level, spec, version) == expected


def test_seccomp_annotations_before_v1_19() -> None:
    meta = {"annotations": {"seccomp.security.alpha.kubernetes.io/pod": "unconfined",
                            "container.seccomp.security.alpha.kubernetes.io/c": "localhost/p",
                            "container.seccomp.security.alpha.kubernetes.io/d": "x"}}
    spec = pod(containers=[ctr(), ctr("d")])
    assert detail("baseline", spec, "v1.18", meta) == (
        'seccompProfile (forbidden annotations container.seccomp.security.alpha.kubernetes.io/d='
        '"x", seccomp.security.alpha.kubernetes.io/pod="unconfined")')


def test_message_with_several_violations() -> None:
    spec = {"hostNetwork": True, "volumes": [{"name": "root", "hostPath": {"path": "/"}}],
            "containers": [{"name": "c", "image": "nginx"}]}
    found = evaluate("baseline", "latest", {}, spec)
    assert violation_message("baseline", "latest", found) == (
        'violates PodSecurity "baseline:latest": host namespaces (hostNetwork=true), '
        'hostPath volumes (volume "root")')
    assert violation_message("restricted", LATEST, evaluate("restricted", LATEST, {}, spec)) == (
        'violates PodSecurity "restricted:latest": host namespaces (hostNetwork=true), '
        'allowPrivilegeEscalation != false (container "c" must set '
        'securityContext.allowPrivilegeEscalation=false), unrestricted capabilities (container '
        '"c" must set securityContext.capabilities.drop=["ALL"]), restricted volume types (volume '
        '"root" uses restricted volume type "hostPath"), runAsNonRoot != true (pod or container '
        '"c" must set securityContext.runAsNonRoot=true), seccompProfile (pod or container "c" '
        'must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")')
    assert warning_message("baseline", Version(25), found).startswith(
        'would violate PodSecurity "baseline:v1.25": host namespaces (hostNetwork=true), ')


def test_baseline_results_in_check_id_order() -> None:
    spec = pod(hostPID=True, sc={"sysctls": [{"name": "kernel.msgmax"}],
                                 "appArmorProfile": {"type": "Unconfined"}},
               containers=[{**ctr(privileged=True), "ports": [{"containerPort": 1, "hostPort": 1}]}])
    reasons = [v.forbidden_reason for v in evaluate("baseline", "latest", {}, spec)]
    assert reasons == ["forbidden AppArmor profile", "host namespaces", "hostPort", "privileged",
                       "forbidden sysctls"]


def test_empty_detail_and_reason() -> None:
    assert forbidden_detail([Violation("r"), Violation("", "d")]) == "r, unknown forbidden reason (d)"


def test_evaluate_does_not_change_the_pod() -> None:
    spec = pod(hostNetwork=True, containers=[ctr(privileged=True)])
    before = copy.deepcopy(spec)
    evaluate("restricted", "latest", {}, spec)
    assert spec == before


L = "pod-security.kubernetes.io/"


def lv(level: Any, version: str = "latest") -> LevelVersion:
    return LevelVersion(level, parse_version(version)[0])


# (id, labels, enforce, warn, audit, error messages)
LABEL_CASES: list[tuple[str, dict[str, str], LevelVersion, LevelVersion, LevelVersion, list[str]]] = [
    ("no labels: the default everywhere", {}, lv("baseline"), lv("baseline"), lv("baseline"), []),
    ("enforce restricted: warn follows", {L + "enforce": "restricted"},
     lv("restricted"), lv("restricted"), lv("baseline"), []),
    ("warn follows enforce's version", {L + "enforce": "restricted", L + "enforce-version": "v1.24"},
     lv("restricted", "v1.24"), lv("restricted", "v1.24"), lv("baseline"), []),
    ("warn keeps its own version", {L + "enforce": "restricted", L + "warn-version": "v1.25"},
     lv("restricted"), lv("restricted", "v1.25"), lv("baseline"), []),
    ("an explicit warn stays", {L + "enforce": "restricted", L + "warn": "privileged"},
     lv("restricted"), lv("privileged"), lv("baseline"), []),
    ("a laxer enforce leaves warn", {L + "enforce": "privileged", L + "audit": "restricted",
                                     L + "audit-version": "v1.30"},
     lv("privileged"), lv("baseline"), lv("restricted", "v1.30"), []),
    ("an unreadable enforce is restricted and warn does not follow", {L + "enforce": "bogus"},
     lv("restricted"), lv("baseline"), lv("baseline"),
     [f'metadata.labels[{L}enforce]: Invalid value: "bogus": must be one of privileged, '
      "baseline, restricted"]),
    ("unreadable warn and audit fail open", {L + "warn": "Restricted", L + "audit": ""},
     lv("baseline"), lv("privileged"), lv("privileged"),
     [f'metadata.labels[{L}audit]: Invalid value: "": must be one of privileged, baseline, '
      "restricted",
      f'metadata.labels[{L}warn]: Invalid value: "Restricted": must be one of privileged, '
      "baseline, restricted"]),
    ("an unreadable version is latest", {L + "enforce-version": "v1.025", L + "warn-version": "v2.0"},
     lv("baseline"), lv("baseline"), lv("baseline"),
     [f'metadata.labels[{L}enforce-version]: Invalid value: "v1.025": must be "latest" or "v1.x"',
      f'metadata.labels[{L}warn-version]: Invalid value: "v2.0": must be "latest" or "v1.x"']),
]


@pytest.mark.parametrize(("labels", "enforce", "warn", "audit", "errors"),
                         [c[1:] for c in LABEL_CASES], ids=[c[0] for c in LABEL_CASES])
def test_namespace_labels(labels: dict[str, str], enforce: LevelVersion, warn: LevelVersion,
                          audit: LevelVersion, errors: list[str]) -> None:
    policy = namespace_policy({"team": "a", **labels}, "baseline")
    assert (policy.enforce, policy.warn, policy.audit) == (enforce, warn, audit)
    assert [str(e) for e in policy.errors] == errors


def test_namespace_default_version() -> None:
    policy = namespace_policy({}, "restricted", default_version=Version(30))
    assert str(policy.enforce) == "restricted:v1.30" and policy.warn == policy.audit == policy.enforce


def test_parse_version() -> None:
    assert parse_version("v1.0") == (Version(0), None)
    assert parse_version("v1.35") == (Version(35), None)
    assert parse_version("latest") == (LATEST, None)
    assert parse_version("v1.01")[1] == 'must be "latest" or "v1.x"'


TEMPLATE = {"metadata": {"labels": {"app": "w"}}, "spec": {"containers": [{"name": "w"}]}}
WORKLOADS: list[tuple[str, dict[str, Any], dict[str, Any] | None]] = [
    ("Pod", {"apiVersion": "v1", "kind": "Pod", **TEMPLATE}, TEMPLATE),
    ("PodTemplate", {"apiVersion": "v1", "kind": "PodTemplate", "template": TEMPLATE}, TEMPLATE),
    ("ReplicationController", {"apiVersion": "v1", "kind": "ReplicationController",
                               "spec": {"template": TEMPLATE}}, TEMPLATE),
    ("ReplicationController without a template", {"apiVersion": "v1",
                                                   "kind": "ReplicationController", "spec": {}}, None),
    *[(kind, {"apiVersion": "apps/v1", "kind": kind, "spec": {"template": TEMPLATE}}, TEMPLATE)
      for kind in ("ReplicaSet", "Deployment", "DaemonSet", "StatefulSet")],
    ("Job", {"apiVersion": "batch/v1", "kind": "Job", "spec": {"template": TEMPLATE}}, TEMPLATE),
    ("CronJob", {"apiVersion": "batch/v1", "kind": "CronJob",
                 "spec": {"jobTemplate": {"spec": {"template": TEMPLATE}}}}, TEMPLATE),
    ("Deployment without a template", {"apiVersion": "apps/v1", "kind": "Deployment"},
     {"metadata": {}, "spec": {}}),
    ("Deployment of another group", {"apiVersion": "example.com/v1", "kind": "Deployment",
                                     "spec": {"template": TEMPLATE}}, None),
    ("Service", {"apiVersion": "v1", "kind": "Service", "spec": {}}, None),
]


@pytest.mark.parametrize(("workload", "expected"), [w[1:] for w in WORKLOADS],
                         ids=[w[0] for w in WORKLOADS])
def test_pod_template(workload: dict[str, Any], expected: dict[str, Any] | None) -> None:
    found = pod_template(workload)
    if expected is None:
        assert found is None
    else:
        assert found is not None
        assert (found.metadata, found.spec) == (expected["metadata"], expected["spec"])


def test_a_workload_template_is_evaluated() -> None:
    deploy = {"apiVersion": "apps/v1", "kind": "Deployment", "spec": {"template": {
        "metadata": {}, "spec": {"hostIPC": True, "containers": [{"name": "w", "image": "i"}]}}}}
    parts = pod_template(deploy)
    assert parts is not None
    found = evaluate("baseline", "latest", parts.metadata, parts.spec)
    assert warning_message("baseline", "latest", found) == (
        'would violate PodSecurity "baseline:latest": host namespaces (hostIPC=true)')
