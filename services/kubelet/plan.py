"""The kubelet's pure pod reconcile: a pod, its containers and *now* in, a typed
list of actions out (Kubernetes' `computePodActions`, value in, value out).

Order of a pod's life: the sandbox (infra container holding the network namespace)
first; init containers one at a time, each to success; then every app container;
restarts follow `restartPolicy` with crash-loop back-off; a failed liveness or
startup probe kills the container; `deletionTimestamp` kills everything within the
grace period and, once nothing is left, confirms the deletion. On converged state the
plan is empty. Called by `services.kubelet.sync` once per pod sync; `status` uses the
same helpers to name the phase.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from schemas.pod import Container, Pod
from services.kubelet.backoff import BackoffState
from services.kubelet.runtime.base import INFRA_CONTAINER, ContainerInfo

KillReason = Literal["deletion", "liveness", "startup", "orphan", "sandbox", "duplicate", "completed"]
DEFAULT_GRACE_S = 30


@dataclass(frozen=True, slots=True)
class CreateSandbox:
    pass


@dataclass(frozen=True, slots=True)
class StartInit:
    name: str
    attempt: int


@dataclass(frozen=True, slots=True)
class StartApp:
    name: str
    attempt: int


@dataclass(frozen=True, slots=True)
class Kill:
    id: str
    name: str
    grace_s: int
    reason: KillReason


@dataclass(frozen=True, slots=True)
class Remove:
    id: str


@dataclass(frozen=True, slots=True)
class ConfirmDeletion:
    """Every container is gone: ask the API to remove the pod (grace period 0)."""


Action = CreateSandbox | StartInit | StartApp | Kill | Remove | ConfirmDeletion


# -- helpers shared with status ----------------------------------------------------------
def app_containers(pod: Pod) -> list[Container]:
    return list((pod.spec.containers if pod.spec else None) or [])


def init_containers(pod: Pod) -> list[Container]:
    return list((pod.spec.init_containers if pod.spec else None) or [])


def restart_policy(pod: Pod) -> str:
    return (pod.spec.restart_policy if pod.spec else None) or "Always"


def by_name(containers: Iterable[ContainerInfo], name: str) -> list[ContainerInfo]:
    """The containers of one name, newest (highest attempt) first."""
    found = [c for c in containers if c.name == name]
    return sorted(found, key=lambda c: (c.attempt, _ts(c.started_at), c.state == "running"), reverse=True)


def _ts(value: datetime | None) -> float:
    return value.timestamp() if value else 0.0


def exit_code(info: ContainerInfo) -> int:
    if info.exit_code is not None:
        return info.exit_code
    return 0 if info.state == "running" else 128


def wants_restart(policy: str, info: ContainerInfo) -> bool:
    """Whether an exited container is restarted under `policy`."""
    if info.state == "running":
        return False
    if policy == "Always":
        return True
    return policy == "OnFailure" and exit_code(info) != 0


def init_wants_restart(policy: str, info: ContainerInfo) -> bool:
    return info.state != "running" and exit_code(info) != 0 and policy != "Never"


InitProgress = Literal["done", "running", "waiting", "failed"]


def init_progress(pod: Pod, containers: Collection[ContainerInfo]) -> tuple[InitProgress, str | None]:
    """How far the init containers are, and the one to act on next."""
    if any(c.role == "app" for c in containers):
        return "done", None
    policy = restart_policy(pod)
    for spec in init_containers(pod):
        name = spec.name or ""
        newest = by_name(containers, name)
        if not newest:
            return "waiting", name
        latest = newest[0]
        if latest.state == "running":
            return "running", name
        if exit_code(latest) == 0:
            continue
        return ("waiting" if init_wants_restart(policy, latest) else "failed"), name
    return "done", None


def pod_phase(pod: Pod, containers: Collection[ContainerInfo]) -> str:
    """Pending, Running, Succeeded or Failed, as Kubernetes' getPhase decides."""
    progress, _ = init_progress(pod, containers)
    if progress == "failed":
        return "Failed"
    if progress != "done":
        return "Pending"
    policy = restart_policy(pod)
    running = stopped = succeeded = waiting = 0
    for spec in app_containers(pod):
        newest = by_name(containers, spec.name or "")
        if not newest:
            waiting += 1
        elif newest[0].state == "running":
            running += 1
        else:
            stopped += 1
            succeeded += exit_code(newest[0]) == 0
    if waiting and not (is_deleting(pod) and not running):
        return "Pending"
    if running:
        return "Running"
    if is_deleting(pod):  # nothing will restart: the phase becomes terminal
        return "Succeeded" if succeeded == stopped and not waiting else "Failed"
    if policy == "Always" or (policy == "OnFailure" and succeeded < stopped):
        return "Running"
    return "Succeeded" if succeeded == stopped else "Failed"


def is_deleting(pod: Pod) -> bool:
    return pod.metadata is not None and pod.metadata.deletion_timestamp is not None


def deletion_grace(pod: Pod) -> int:
    meta, spec = pod.metadata, pod.spec
    if meta and meta.deletion_grace_period_seconds is not None:
        return meta.deletion_grace_period_seconds
    if spec and spec.termination_grace_period_seconds is not None:
        return spec.termination_grace_period_seconds
    return DEFAULT_GRACE_S


# -- the plan ----------------------------------------------------------------------------
def plan(pod: Pod, containers: Collection[ContainerInfo], now: datetime, backoff: BackoffState,
         *, unhealthy: Collection[str] = ()) -> list[Action]:
    """The actions that move this pod's containers towards its spec.

    `containers` are this pod's (this uid's) containers, running or not; `unhealthy`
    holds the ids of containers whose liveness or startup probe failed."""
    if is_deleting(pod):
        return plan_teardown(containers, grace_s=deletion_grace(pod), reason="deletion",
                             confirm=True)
    actions: list[Action] = _tidy(pod, containers)
    live = assume_done(containers, actions, now)
    sandbox = _sandbox_actions(pod, live, actions, now)
    if sandbox is None:
        return actions
    live = assume_done(live, actions, now)
    progress, next_init = init_progress(pod, live)
    if progress == "done":
        actions += _app_actions(pod, live, now, backoff, unhealthy)
    elif progress == "waiting" and next_init is not None:
        actions += _start_init(pod, live, next_init, now, backoff)
    final = assume_done(live, actions, now)
    if pod_phase(pod, final) in ("Succeeded", "Failed") and sandbox:
        actions += [Kill(c.id, c.name, 0, "completed") for c in final
                    if c.state == "running" and c.role != "infra"]
        actions.append(Kill(sandbox, INFRA_CONTAINER, 0, "completed"))
    return actions


def plan_teardown(containers: Collection[ContainerInfo], *, grace_s: int, reason: KillReason,
                  confirm: bool = False) -> list[Action]:
    """Stop app and init containers (grace period), then the sandbox, then remove all."""
    actions: list[Action] = [Kill(c.id, c.name, grace_s, reason) for c in containers
                             if c.state == "running" and c.role != "infra"]
    actions += [Kill(c.id, c.name, 0, reason) for c in containers
                if c.state == "running" and c.role == "infra"]
    actions += [Remove(c.id) for c in containers]
    if confirm:
        actions.append(ConfirmDeletion())
    return actions


def _tidy(pod: Pod, containers: Collection[ContainerInfo]) -> list[Action]:
    """Kill duplicates of one name; remove dead containers older than the last two."""
    actions: list[Action] = []
    names = {c.name for c in containers if c.role != "infra"}
    for name in sorted(names):
        newest = by_name(containers, name)
        for extra in newest[1:]:
            if extra.state == "running":
                actions.append(Kill(extra.id, name, 0, "duplicate"))
        actions += [Remove(c.id) for c in newest[2:]]
    return actions


def _sandbox_actions(pod: Pod, containers: Collection[ContainerInfo], actions: list[Action],
                     now: datetime) -> str | None:
    """Append sandbox fixes; return the running sandbox's id ('' when one is being
    created in this plan), or None when the pod needs no sandbox (it has finished)."""
    sandboxes = by_name(containers, INFRA_CONTAINER)
    running = [s for s in sandboxes if s.state == "running"]
    if running:
        actions += [Kill(extra.id, INFRA_CONTAINER, 0, "duplicate") for extra in running[1:]]
        actions += [Remove(s.id) for s in sandboxes if s is not running[0]]
        return running[0].id
    kills: list[Action] = [Kill(c.id, c.name, 0, "sandbox") for c in containers
                           if c.role != "infra" and c.state == "running"]
    actions += kills
    if pod_phase(pod, assume_done(containers, kills, now)) in ("Succeeded", "Failed"):
        return None  # a finished pod needs no sandbox (it keeps the stopped one)
    actions += [Remove(s.id) for s in sandboxes]
    actions.append(CreateSandbox())
    return ""


def assume_done(containers: Collection[ContainerInfo], actions: Collection[Action],
                now: datetime) -> list[ContainerInfo]:
    """The containers as they will be once these kills and removals are done."""
    removed = {a.id for a in actions if isinstance(a, Remove)}
    killed = {a.id for a in actions if isinstance(a, Kill)}
    return [c.model_copy(update={"state": "exited", "exit_code": 137, "finished_at": now})
            if c.id in killed and c.state == "running" else c
            for c in containers if c.id not in removed]


def _start_init(pod: Pod, containers: Collection[ContainerInfo], name: str, now: datetime,
                backoff: BackoffState) -> list[Action]:
    newest = by_name(containers, name)
    previous = newest[0] if newest else None
    if backoff.remaining(name, previous, now) > 0:
        return []
    return [StartInit(name, previous.attempt + 1 if previous else 0), *[Remove(c.id) for c in newest[1:2]]]


def _app_actions(pod: Pod, containers: Collection[ContainerInfo], now: datetime,
                 backoff: BackoffState, unhealthy: Collection[str]) -> list[Action]:
    actions: list[Action] = []
    policy = restart_policy(pod)
    grace = (pod.spec.termination_grace_period_seconds if pod.spec else None)
    for spec in app_containers(pod):
        name = spec.name or ""
        newest = by_name(containers, name)
        latest = newest[0] if newest else None
        if latest is None:
            if backoff.remaining(name, None, now) == 0:
                actions.append(StartApp(name, 0))
        elif latest.state == "running":
            if latest.id in unhealthy:
                actions.append(Kill(latest.id, name, DEFAULT_GRACE_S if grace is None else grace,
                                    "liveness"))
        elif wants_restart(policy, latest) and backoff.remaining(name, latest, now) == 0:
            actions.append(StartApp(name, latest.attempt + 1))
            actions += [Remove(c.id) for c in newest[1:2]]  # the restart makes `latest` the previous
    return actions
