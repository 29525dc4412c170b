import dataclasses
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.pod import NodeAffinity, Toleration
from services.scheduler import model
from services.scheduler.model import PodRequest, PodRequests, Resources, node_info, pod_request, wants_scheduling
from tests.unit.scheduler.builders import node, pod


def test_requests_sum_containers_and_take_the_largest_init_container() -> None:
    raw = pod(cpu="250m", memory="64Mi")
    raw["spec"]["containers"].append({"name": "d", "image": "x",
                                      "resources": {"requests": {"cpu": "0.5"}}})
    raw["spec"]["initContainers"] = [{"name": "i", "image": "x",
                                      "resources": {"requests": {"cpu": "1", "memory": "1Mi"}}}]
    request = pod_request(raw)
    assert request.requests == Resources(cpu=1000, memory=64 * 2**20)


def test_a_pod_without_requests_counts_zero_but_scores_with_defaults() -> None:
    request = pod_request(pod())
    assert request.requests == Resources(0, 0)
    assert request.nonzero == Resources(100, 200 * 2**20)


def test_host_ports_and_controller_owner() -> None:
    request = pod_request(pod(owner="rs", ports=[{"containerPort": 80, "hostPort": 8080},
                                                 {"containerPort": 53, "protocol": "UDP"}]))
    assert request.host_ports == (("0.0.0.0", "TCP", 8080),)
    assert request.owner_uid == "uid-rs"


def test_which_pods_want_scheduling() -> None:
    assert wants_scheduling(pod())
    assert not wants_scheduling(pod(node="n1"))
    assert not wants_scheduling(pod(schedulerName="other"))
    deleting = pod()
    deleting["metadata"]["deletionTimestamp"] = "2024-01-01T00:00:00Z"
    assert not wants_scheduling(deleting) and not wants_scheduling(None)


def test_node_info_reads_allocatable_and_readiness() -> None:
    info = node("n1", cpu="1500m", memory="1Gi", pods="3", ready="False")
    assert (info.allocatable, info.max_pods, info.ready) == (Resources(1500, 2**30), 3, "False")
    assert node_info({"metadata": {"name": "n2"}}, None).ready is None


def test_pod_requests_are_validated_once_per_spec_not_per_record() -> None:
    memo = PodRequests()
    created = pod("a", cpu="100m", owner="rs")
    first = memo.of("default/a", created)
    bound = {**created, "metadata": {**created["metadata"], "resourceVersion": "2"},
             "spec": {**created["spec"], "nodeName": "n1"}}
    assert memo.of("default/a", bound) is first  # binding changes nothing the scheduler reads
    bigger = pod("a", cpu="200m", owner="rs")
    assert memo.of("default/a", bigger).requests == Resources(200, 0)
    recreated = {**created, "metadata": {**created["metadata"], "uid": "uid-a2"}}
    assert memo.of("default/a", recreated).uid == "uid-a2"
    memo.forget("default/a")
    assert memo.of("default/a", created) is not first and memo.of("default/a", created) == first


def test_pods_of_one_controller_with_one_spec_are_validated_once(monkeypatch: pytest.MonkeyPatch) -> None:
    validated: list[str] = []
    real = model.pod_request

    def counting(raw: dict[str, Any]) -> PodRequest:
        validated.append(raw["metadata"]["name"])
        return real(raw)

    monkeypatch.setattr(model, "pod_request", counting)
    memo = PodRequests()
    pods = [pod(f"web-{i}", cpu="100m", owner="rs") for i in range(5)]
    assert [memo.of(f"default/web-{i}", p) for i, p in enumerate(pods)] == [real(p) for p in pods]
    assert validated == ["web-0"]
    other = pod("web-5", cpu="300m", owner="rs")  # the template changed: validated again
    assert memo.of("default/web-5", other) == real(other)
    assert memo.of("default/solo", pod("solo", cpu="100m")) == real(pod("solo", cpu="100m"))
    assert validated == ["web-0", "web-5", "solo"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["a", "b", "c", "d"]), st.sampled_from([None, "rs1", "rs2"]),
                          st.sampled_from(["100m", "200m"]), st.sampled_from([None, {"disk": "ssd"}])),
                min_size=1, max_size=20))
def test_the_memo_answers_what_validation_answers(records: list[tuple[str, str | None, str, Any]]) -> None:
    """Whatever order pods of shared or differing specs and owners arrive in, the
    memo's request equals the one validation gives for that record."""
    memo = PodRequests()
    for name, owner, cpu, selector in records:
        raw = pod(name, cpu=cpu, owner=owner, **({"nodeSelector": selector} if selector else {}))
        assert memo.of(f"default/{name}", raw) == model.pod_request(raw)


def test_a_siblings_request_differs_from_its_model_only_in_key_and_uid() -> None:
    """`for_sibling` lists PodRequest's fields itself: every field, in order (a field
    added to PodRequest and not to it fails here)."""
    full = PodRequest(key="ns/a", uid="u-a", requests=Resources(100, 2), nonzero=Resources(100, 3),
                      host_ports=(("0.0.0.0", "TCP", 80),), node_selector={"disk": "ssd"},
                      affinity=NodeAffinity(), tolerations=(Toleration(key="k", operator="Exists"),),
                      owner_uid="rs", claims=("data",))
    assert all(getattr(full, f.name) != getattr(PodRequest(key=""), f.name) for f in dataclasses.fields(PodRequest)), \
        "give every field a non-default value above"
    assert full.for_sibling("ns/b", "u-b") == dataclasses.replace(full, key="ns/b", uid="u-b")
