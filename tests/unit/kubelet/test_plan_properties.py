"""Properties of `plan` over generated pods and container sets: once its actions are
applied the plan is empty (only a pending deletion confirmation may repeat), and it
never leaves two running containers of one name."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.pod import Pod
from services.kubelet.backoff import BackoffState
from services.kubelet.plan import (
    Action, ConfirmDeletion, CreateSandbox, Kill, Remove, StartApp, StartInit, plan,
)
from services.kubelet.runtime.base import ContainerInfo
from tests.unit.kubelet.helpers import T0, State, info, pod, sandbox

STATES: list[State] = ["running", "exited", "exited"]  # exited twice as often

NOW = T0 + timedelta(hours=1)


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[Pod, list[ContainerInfo], set[str]]:
    apps = draw(st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=3, unique=True))
    inits = draw(st.lists(st.sampled_from(["i1", "i2"]), max_size=2, unique=True))
    policy = draw(st.sampled_from(["Always", "OnFailure", "Never"]))
    p = pod(*apps, inits=tuple(inits), policy=policy, deleting=draw(st.booleans()) and draw(st.booleans()))
    containers: list[ContainerInfo] = []
    for name in [*inits, *apps, "POD"]:
        for attempt in range(draw(st.integers(0, 3))):
            state = draw(st.sampled_from(STATES))
            ago = draw(st.integers(0, 900))
            containers.append(info(name, state, attempt=attempt, code=draw(st.sampled_from([0, 1, 137])),
                                   role="init" if name in inits else None,
                                   started=NOW - timedelta(seconds=ago), ran_s=draw(st.integers(0, ago))))
    running = [c.id for c in containers if c.state == "running"]
    unhealthy = set(draw(st.lists(st.sampled_from(running), unique=True))) if running else set()
    return p, containers, unhealthy


def apply(actions: list[Action], containers: list[ContainerInfo], p: Pod) -> list[ContainerInfo]:
    """What a runtime does with the actions (kills exit at NOW)."""
    by_id = {c.id: c for c in containers}
    for action in actions:
        if isinstance(action, CreateSandbox):
            new = sandbox(started=NOW, attempt=9)
            by_id[new.id] = new
        elif isinstance(action, (StartApp, StartInit)):
            new = info(action.name, attempt=action.attempt, started=NOW,
                       role="init" if isinstance(action, StartInit) else None)
            by_id[new.id] = new
        elif isinstance(action, Kill):
            c = by_id[action.id]
            by_id[c.id] = c.model_copy(update={"state": "exited", "exit_code": 137, "finished_at": NOW})
        elif isinstance(action, Remove):
            by_id.pop(action.id)
    return list(by_id.values())


@settings(max_examples=400, deadline=None)
@given(scenarios())
def test_plan_is_idempotent_once_applied(scenario: tuple[Pod, list[ContainerInfo], set[str]]) -> None:
    p, containers, unhealthy = scenario
    backoff = BackoffState()
    after = apply(plan(p, containers, NOW, backoff, unhealthy=unhealthy), containers, p)
    again = plan(p, after, NOW, backoff, unhealthy=unhealthy & {c.id for c in after})
    assert [a for a in again if not isinstance(a, ConfirmDeletion)] == []


@settings(max_examples=400, deadline=None)
@given(scenarios())
def test_never_two_running_containers_of_one_name(scenario: tuple[Pod, list[ContainerInfo], set[str]]) -> None:
    p, containers, unhealthy = scenario
    after = apply(plan(p, containers, NOW, BackoffState(), unhealthy=unhealthy), containers, p)
    running = Counter(c.name for c in after if c.state == "running")
    assert all(count == 1 for count in running.values()), running
