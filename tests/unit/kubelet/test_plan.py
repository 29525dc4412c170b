"""The pure pod plan: sandbox first, init containers in order, app containers, restart
policies, back-off, liveness, deletion, and the empty plan on converged state."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.kubelet.backoff import BackoffPolicy, BackoffState
from services.kubelet.plan import (
    ConfirmDeletion, CreateSandbox, Kill, Remove, StartApp, StartInit, plan, pod_phase,
)
from tests.unit.kubelet.helpers import T0, info, pod, sandbox

NOW = T0 + timedelta(minutes=1)
B = BackoffState()


def test_a_new_pod_gets_a_sandbox_then_its_app_containers_in_one_plan() -> None:
    assert plan(pod("web", "side"), [], NOW, B) == [CreateSandbox(), StartApp("web", 0), StartApp("side", 0)]


def test_init_containers_run_one_at_a_time_in_order() -> None:
    p = pod("web", inits=("a", "b"))
    assert plan(p, [], NOW, B) == [CreateSandbox(), StartInit("a", 0)]
    s = sandbox()
    assert plan(p, [s, info("a", role="init")], NOW, B) == []  # a still running
    done_a = info("a", "exited", code=0, role="init")
    assert plan(p, [s, done_a], NOW, B) == [StartInit("b", 0)]
    done_b = info("b", "exited", code=0, role="init")
    assert plan(p, [s, done_a, done_b], NOW, B) == [StartApp("web", 0)]


def test_a_failed_init_container_is_retried_with_back_off_unless_never() -> None:
    s = sandbox()
    failed = info("a", "exited", code=1, role="init", started=NOW - timedelta(seconds=30))
    assert plan(pod("web", inits=("a",)), [s, failed], NOW, B) == [StartInit("a", 1)]
    fresh = info("a", "exited", code=1, role="init", started=NOW - timedelta(seconds=6))
    assert plan(pod("web", inits=("a",)), [s, fresh], NOW, B) == []  # 10 s back-off
    never = pod("web", inits=("a",), policy="Never")
    assert pod_phase(never, [s, failed]) == "Failed"
    assert plan(never, [s, failed], NOW, B) == [Kill(s.id, "POD", 0, "completed")]


def test_app_containers_do_not_rerun_init_containers() -> None:
    p = pod("web", inits=("a",))
    assert plan(p, [sandbox(), info("web")], NOW, B) == []


@pytest.mark.parametrize(("policy", "code", "restarts"), [
    ("Always", 0, True), ("Always", 1, True), ("OnFailure", 0, False), ("OnFailure", 2, True),
    ("Never", 0, False), ("Never", 1, False),
])
def test_restart_policy(policy: str, code: int, restarts: bool) -> None:
    s = sandbox()
    dead = info("web", "exited", code=code, attempt=2, started=NOW - timedelta(seconds=60))
    actions = plan(pod("web", policy=policy), [s, dead], NOW, B)
    if restarts:
        assert actions == [StartApp("web", 3)]
    else:
        assert StartApp("web", 3) not in actions


def test_back_off_doubles_and_is_capped() -> None:
    policy = BackoffPolicy()
    state = BackoffState(policy)
    delays = []
    previous = None
    for attempt in range(8):
        delays.append(state.delay("web", previous))
        previous = info("web", "exited", code=1, attempt=attempt, ran_s=1)
        state = state.after_restart("web", previous)
    assert delays == [10, 20, 40, 80, 160, 300, 300, 300]


def test_back_off_blocks_the_restart_until_it_has_passed() -> None:
    s = sandbox()
    state = BackoffState().after_restart("web", None).after_restart("web", None)  # next: 40 s
    dead = info("web", "exited", code=1, attempt=2, started=NOW - timedelta(seconds=31), ran_s=1)
    assert plan(pod("web"), [s, dead], NOW, state) == []
    assert state.remaining("web", dead, NOW) == pytest.approx(10)
    assert plan(pod("web"), [s, dead], NOW + timedelta(seconds=10), state) == [StartApp("web", 3)]


def test_back_off_resets_after_ten_minutes_of_running() -> None:
    state = BackoffState()
    for _ in range(6):
        state = state.after_restart("web", None)
    long_run = info("web", "exited", code=1, started=NOW - timedelta(minutes=11), ran_s=660)
    assert state.delay("web", long_run) == 10
    assert state.after_restart("web", long_run).delay("web") == 20


def test_liveness_failure_kills_the_container_with_the_grace_period() -> None:
    s, web = sandbox(), info("web")
    p = pod("web", terminationGracePeriodSeconds=3)
    assert plan(p, [s, web], NOW, B, unhealthy={web.id}) == [Kill(web.id, "web", 3, "liveness")]


def test_deletion_kills_everything_with_the_grace_period_removes_and_confirms() -> None:
    s, web, old = sandbox(), info("web", attempt=1), info("web", "exited", code=1)
    actions = plan(pod("web", deleting=True, grace=7), [s, web, old], NOW, B)
    assert actions == [Kill(web.id, "web", 7, "deletion"), Kill(s.id, "POD", 0, "deletion"),
                       Remove(s.id), Remove(web.id), Remove(old.id), ConfirmDeletion()]
    assert plan(pod("web", deleting=True), [], NOW, B) == [ConfirmDeletion()]


def test_converged_pod_has_an_empty_plan() -> None:
    s = sandbox()
    assert plan(pod("web", "side"), [s, info("web"), info("side")], NOW, B) == []
    done = [s.model_copy(update={"state": "exited", "exit_code": 0}),
            info("web", "exited", code=0), info("side", "exited", code=0)]
    assert plan(pod("web", "side", policy="Never"), done, NOW, B) == []


def test_completed_pod_stops_its_sandbox() -> None:
    s = sandbox()
    assert plan(pod("web", policy="OnFailure"), [s, info("web", "exited", code=0)], NOW, B) == \
        [Kill(s.id, "POD", 0, "completed")]


def test_duplicates_are_killed_and_old_dead_containers_removed() -> None:
    s = sandbox()
    new, twin = info("web", attempt=3), info("web", attempt=2)
    old1, old2 = info("web", "exited", code=1, attempt=1), info("web", "exited", code=1, attempt=0)
    actions = plan(pod("web"), [s, new, twin, old1, old2], NOW, B)
    assert Kill(twin.id, "web", 0, "duplicate") in actions
    assert Remove(old1.id) in actions and Remove(old2.id) in actions
    assert not any(isinstance(a, StartApp) for a in actions)


def test_a_dead_sandbox_takes_the_pod_down_and_is_recreated() -> None:
    dead = sandbox(state="exited", code=0)
    web = info("web")
    actions = plan(pod("web"), [dead, web], NOW, B)
    assert actions == [Kill(web.id, "web", 0, "sandbox"), Remove(dead.id), CreateSandbox()]


def test_a_start_failure_waits_for_its_back_off() -> None:
    state = BackoffState().after_failure("web", NOW - timedelta(seconds=3))
    assert plan(pod("web"), [sandbox()], NOW, state) == []
    assert plan(pod("web"), [sandbox()], NOW + timedelta(seconds=8), state) == [StartApp("web", 0)]


@pytest.mark.parametrize(("containers", "policy", "phase"), [
    ([], "Always", "Pending"),
    ([info("web")], "Always", "Running"),
    ([info("web", "exited", code=1)], "Always", "Running"),
    ([info("web", "exited", code=0)], "OnFailure", "Succeeded"),
    ([info("web", "exited", code=3)], "OnFailure", "Running"),
    ([info("web", "exited", code=3)], "Never", "Failed"),
])
def test_phase(containers: list, policy: str, phase: str) -> None:
    assert pod_phase(pod("web", policy=policy), [sandbox(), *containers]) == phase
