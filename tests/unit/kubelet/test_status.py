"""pod_status: phases, conditions, container states, lastState, restart counts, probes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from schemas.pod import Container
from services.kubelet.backoff import BackoffState
from services.kubelet.probe_state import Health
from services.kubelet.status import pod_status, qos_class
from tests.unit.kubelet.helpers import T0, info, pod, sandbox

NOW = T0 + timedelta(minutes=1)


def conditions(status: dict) -> dict[str, str]:
    return {c["type"]: c["status"] for c in status["conditions"]}


def test_running_pod_is_ready_with_ips_and_container_ids() -> None:
    web = info("web", attempt=0)
    status = pod_status(pod("web"), [sandbox(ip="10.1.2.3"), web], {}, NOW, host_ip="192.168.1.9")
    assert status["phase"] == "Running"
    assert status["podIP"] == "10.1.2.3" and status["hostIP"] == "192.168.1.9"
    assert conditions(status) == {"PodScheduled": "True", "Initialized": "True",
                                  "ContainersReady": "True", "Ready": "True"}
    cs = status["containerStatuses"][0]
    assert cs["state"] == {"running": {"startedAt": "2026-01-01T12:00:00Z"}}
    assert cs["ready"] and cs["started"] and cs["restartCount"] == 0
    assert cs["containerID"] == f"docker://{web.id}"
    assert status["qosClass"] == "BestEffort"


def test_pending_pod_waits_in_container_creating_or_pod_initializing() -> None:
    status = pod_status(pod("web", inits=("setup",)), [], {}, NOW)
    assert status["phase"] == "Pending"
    assert status["initContainerStatuses"][0]["state"] == {"waiting": {"reason": "ContainerCreating"}}
    assert status["containerStatuses"][0]["state"] == {"waiting": {"reason": "PodInitializing"}}
    init = next(c for c in status["conditions"] if c["type"] == "Initialized")
    assert init["reason"] == "ContainersNotInitialized"
    assert init["message"] == "containers with incomplete status: [setup]"


def test_crash_loop_shows_back_off_with_last_state_and_restart_count() -> None:
    dead = info("web", "exited", code=1, attempt=4, started=NOW - timedelta(seconds=2), ran_s=1)
    backoff = BackoffState().after_restart("web", None)  # next restart waits 20 s
    status = pod_status(pod("web"), [sandbox(), dead], {}, NOW, backoff=backoff)
    cs = status["containerStatuses"][0]
    assert cs["state"]["waiting"]["reason"] == "CrashLoopBackOff"
    assert cs["state"]["waiting"]["message"] == \
        "back-off 20s restarting failed container=web pod=p_default(u-1)"
    assert cs["lastState"]["terminated"]["exitCode"] == 1
    assert cs["lastState"]["terminated"]["reason"] == "Error"
    assert cs["restartCount"] == 4 and not cs["ready"]
    assert status["phase"] == "Running" and conditions(status)["Ready"] == "False"


def test_restarted_container_keeps_the_previous_termination_as_last_state() -> None:
    old = info("web", "exited", code=137, attempt=0, oom=True)
    new = info("web", attempt=1)
    cs = pod_status(pod("web"), [sandbox(), old, new], {}, NOW)["containerStatuses"][0]
    assert cs["state"]["running"] and cs["restartCount"] == 1
    assert cs["lastState"]["terminated"]["reason"] == "OOMKilled"


def test_succeeded_and_failed_pods() -> None:
    ok = pod_status(pod("web", policy="Never"), [sandbox(), info("web", "exited", code=0)], {}, NOW)
    assert ok["phase"] == "Succeeded"
    assert ok["containerStatuses"][0]["state"]["terminated"]["reason"] == "Completed"
    assert next(c for c in ok["conditions"] if c["type"] == "Ready")["reason"] == "PodCompleted"
    bad = pod_status(pod("web", policy="Never"), [sandbox(), info("web", "exited", code=2)], {}, NOW)
    assert bad["phase"] == "Failed"
    assert bad["containerStatuses"][0]["state"]["terminated"]["exitCode"] == 2


def test_readiness_and_startup_probes_gate_ready_and_started() -> None:
    web = info("web")
    unready = pod_status(pod("web"), [sandbox(), web], {web.id: Health(ready=False)}, NOW)
    assert conditions(unready)["Ready"] == "False"
    assert unready["containerStatuses"][0]["started"] is True
    not_started = pod_status(pod("web"), [sandbox(), web], {web.id: Health(started=False)}, NOW)
    assert not_started["containerStatuses"][0]["started"] is False
    assert next(c for c in unready["conditions"] if c["type"] == "ContainersReady")["message"] == \
        "containers with unready status: [web]"


def test_waiting_reason_of_a_failed_start() -> None:
    backoff = BackoffState().after_failure("web", NOW)
    status = pod_status(pod("web"), [sandbox()], {}, NOW, backoff=backoff,
                        waiting={"web": ("CreateContainerConfigError", 'configmap "cfg" not found')})
    assert status["containerStatuses"][0]["state"]["waiting"] == {
        "reason": "CreateContainerConfigError", "message": 'configmap "cfg" not found'}


def test_transition_times_are_kept_while_a_condition_holds() -> None:
    first = pod_status(pod("web"), [sandbox(), info("web")], {}, T0)
    later = pod_status(pod("web"), [sandbox(), info("web")], {}, NOW, previous=first)
    assert later["conditions"] == first["conditions"]
    assert later["startTime"] == first["startTime"]


def test_qos_class() -> None:
    def one(resources: dict[str, Any]) -> str:
        web = pod("web")
        assert web.spec is not None
        return qos_class(web.model_copy(update={"spec": web.spec.model_copy(update={
            "containers": [Container.model_validate({"name": "web", "image": "i", "resources": resources})]})}))

    assert one({}) == "BestEffort"
    assert one({"limits": {"cpu": "1", "memory": "1Gi"}}) == "Guaranteed"
    assert one({"requests": {"cpu": "100m"}}) == "Burstable"
