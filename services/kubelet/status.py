"""The pod's observed status (pure): PodStatus JSON from the pod, its containers,
probe verdicts and *now* — phase, conditions, IPs and the container statuses with
state, lastState, restartCount, ready and started. Called by `services.kubelet.sync`
after every sync; the result is written to `kafkube.observed.pods` when it changed."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

from schemas.pod import Container, Pod
from services.kubelet.backoff import BackoffState
from services.kubelet.plan import (
    app_containers, by_name, exit_code, init_containers, init_progress, init_wants_restart,
    is_deleting, pod_phase, restart_policy, wants_restart,
)
from services.kubelet.probe_state import Health
from services.kubelet.runtime.base import INFRA_CONTAINER, ContainerInfo

Waiting = Mapping[str, tuple[str, str]]  # container name -> (reason, message) of a failed start


def pod_status(pod: Pod, containers: Collection[ContainerInfo], probes: Mapping[str, Health],
               now: datetime, *, backoff: BackoffState | None = None, waiting: Waiting | None = None,
               host_ip: str | None = None, previous: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """PodStatus as Kubernetes' JSON (camelCase, RFC 3339 times)."""
    backoff = backoff or BackoffState()
    waiting = waiting or {}
    previous = previous or {}
    phase = pod_phase(pod, containers)
    ctx = _Ctx(pod, containers, probes, now, backoff, waiting)
    inits = [ctx.container_status(c, init=True) for c in init_containers(pod)]
    apps = [ctx.container_status(c, init=False) for c in app_containers(pod)]
    status: dict[str, Any] = {"phase": phase}
    status["conditions"] = _conditions(pod, containers, apps, phase, now, previous)
    sandbox = next((s for s in by_name(containers, INFRA_CONTAINER) if s.ip), None)
    pod_ip = sandbox.ip if sandbox else previous.get("podIP")
    if host_ip:
        status |= {"hostIP": host_ip, "hostIPs": [{"ip": host_ip}]}
    if pod_ip:
        status |= {"podIP": pod_ip, "podIPs": [{"ip": pod_ip}]}
    start = previous.get("startTime") or _first_start(containers) or _ts(now)
    status["startTime"] = start
    if inits:
        status["initContainerStatuses"] = inits
    status["containerStatuses"] = apps
    status["qosClass"] = qos_class(pod)
    return status


class _Ctx:
    def __init__(self, pod: Pod, containers: Collection[ContainerInfo], probes: Mapping[str, Health],
                 now: datetime, backoff: BackoffState, waiting: Waiting) -> None:
        self.pod, self.containers, self.probes = pod, containers, probes
        self.now, self.backoff, self.waiting = now, backoff, waiting
        self.policy = restart_policy(pod)
        self.init_done = init_progress(pod, containers)[0] == "done"

    def container_status(self, spec: Container, *, init: bool) -> dict[str, Any]:
        name = spec.name or ""
        newest = by_name(self.containers, name)
        latest = newest[0] if newest else None
        status: dict[str, Any] = {"name": name, "image": spec.image or "", "ready": False,
                                  "restartCount": latest.attempt if latest else 0, "started": False}
        state, last = self._states(spec, newest, init=init)
        status["state"] = state
        status["lastState"] = last or {}
        if latest is not None:
            status["containerID"] = f"docker://{latest.id}"
            status["imageID"] = latest.image_id or ""
        if latest is not None and latest.state == "running":
            health = self.probes.get(latest.id, Health())
            status["started"] = health.started
            status["ready"] = health.started and health.ready and not init
        return status

    def _states(self, spec: Container, newest: list[ContainerInfo], *, init: bool
                ) -> tuple[dict[str, Any], dict[str, Any] | None]:
        name = spec.name or ""
        if not newest:
            return {"waiting": self._waiting_before_start(name, init)}, None
        latest = newest[0]
        previous = _terminated(newest[1]) if len(newest) > 1 else None
        if latest.state == "running":
            return {"running": {"startedAt": _ts(latest.started_at or self.now)}}, previous
        restarts = init_wants_restart(self.policy, latest) if init else wants_restart(self.policy, latest)
        restarts = restarts and not is_deleting(self.pod)
        if name in self.waiting and self.backoff.has_failure(name):
            reason, message = self.waiting[name]
            return {"waiting": {"reason": reason, "message": message}}, _terminated(latest)
        left = self.backoff.remaining(name, latest, self.now) if restarts else 0
        if left > 0:
            delay = int(self.backoff.delay(name, latest))
            message = (f"back-off {_duration(delay)} restarting failed container={name} "
                       f"pod={self.pod_ref()}")
            return {"waiting": {"reason": "CrashLoopBackOff", "message": message}}, _terminated(latest)
        return _terminated(latest), previous

    def _waiting_before_start(self, name: str, init: bool) -> dict[str, Any]:
        if name in self.waiting:
            reason, message = self.waiting[name]
            return {"reason": reason, "message": message}
        if not init and not self.init_done:
            return {"reason": "PodInitializing"}
        return {"reason": "ContainerCreating"}

    def pod_ref(self) -> str:
        meta = self.pod.metadata
        assert meta is not None
        return f"{meta.name}_{meta.namespace}({meta.uid})"


def _terminated(info: ContainerInfo) -> dict[str, Any]:
    code = exit_code(info)
    if info.oom_killed:
        reason = "OOMKilled"
    elif info.state in ("created", "unknown") and info.error:
        reason = "StartError"
    else:
        reason = "Completed" if code == 0 else "Error"
    term: dict[str, Any] = {"exitCode": code, "reason": reason, "containerID": f"docker://{info.id}"}
    if info.error:
        term["message"] = info.error
    if info.started_at:
        term["startedAt"] = _ts(info.started_at)
    if info.finished_at:
        term["finishedAt"] = _ts(info.finished_at)
    return {"terminated": term}


def _conditions(pod: Pod, containers: Collection[ContainerInfo], apps: list[dict[str, Any]],
                phase: str, now: datetime, previous: Mapping[str, Any]) -> list[dict[str, Any]]:
    progress, pending_init = init_progress(pod, containers)
    completed = phase in ("Succeeded", "Failed")
    unready = [c["name"] for c in apps if not c["ready"]]
    init_ok = progress == "done"
    ready = not unready and not completed
    why = "PodCompleted" if completed else None
    wanted = [
        ("PodScheduled", True, None, None),
        ("Initialized", init_ok, why or "ContainersNotInitialized",
         f"containers with incomplete status: [{pending_init}]"),
        ("ContainersReady", ready, why or "ContainersNotReady",
         f"containers with unready status: [{' '.join(unready)}]"),
        ("Ready", ready, why or "ContainersNotReady",
         f"containers with unready status: [{' '.join(unready)}]"),
    ]
    before = {c.get("type"): c for c in previous.get("conditions") or []}
    conditions = []
    for type_, ok, reason, message in wanted:
        value = "True" if ok else "False"
        old = before.get(type_)
        since = old.get("lastTransitionTime") if old and old.get("status") == value else None
        condition: dict[str, Any] = {"type": type_, "status": value, "lastProbeTime": None,
                                     "lastTransitionTime": since or _ts(now)}
        if not ok and reason:
            condition |= {"reason": reason, "message": message if not completed else ""}
            if completed:
                condition.pop("message")
        conditions.append(condition)
    return conditions


def qos_class(pod: Pod) -> str:
    """Guaranteed, Burstable or BestEffort, from the containers' requests and limits."""
    specs = app_containers(pod) + init_containers(pod)
    requests = [dict((c.resources.requests if c.resources else None) or {}) for c in specs]
    limits = [dict((c.resources.limits if c.resources else None) or {}) for c in specs]
    if not any(requests) and not any(limits):
        return "BestEffort"
    guaranteed = all(
        all(l.get(r) is not None and (q.get(r) in (None, l.get(r))) for r in ("cpu", "memory"))
        for q, l in zip(requests, limits))
    return "Guaranteed" if guaranteed else "Burstable"


def _first_start(containers: Collection[ContainerInfo]) -> str | None:
    starts = [c.started_at for c in containers if c.started_at]
    return _ts(min(starts)) if starts else None


def _ts(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _duration(seconds: int) -> str:
    """Go's time.Duration spelling: 10s, 1m20s, 5m0s."""
    minutes, rest = divmod(seconds, 60)
    return f"{minutes}m{rest}s" if minutes else f"{rest}s"
