"""The StatefulSet reconcile as plans (identity, claims, OrderedReady and Parallel,
scale down in reverse, rolling update with partition, OnDelete, retention policy,
revisions, status) and, with hypothesis, a simulated cluster driven by the plans:
never two pods with one ordinal, OrderedReady creates ordinal n only when 0..n-1
are Running and Ready, claims are never deleted nor given owners under Retain, and
the set converges to its replicas at the update revision."""

from __future__ import annotations

import copy
import dataclasses
from datetime import datetime, timedelta, timezone
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.defaults import default_document
from schemas.statefulset import POD_INDEX_LABEL, POD_NAME_LABEL, REVISION_LABEL, StatefulSet, StatefulSetStatus
from services.controllers.machinery.podview import PodView, pod_view
from services.controllers.statefulset.identity import ClaimView, claim_view, ordinal_of
from services.controllers.statefulset.reconcile import Plan, reconcile
from services.controllers.statefulset.revisions import RevisionView, revision_view

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)


def make_set(image: str = "busybox:1", generation: int = 1, **spec: Any) -> StatefulSet:
    body: dict[str, Any] = {
        "serviceName": "web", "replicas": 3, "selector": {"matchLabels": {"app": "web"}},
        "template": {"metadata": {"labels": {"app": "web"}},
                     "spec": {"containers": [{"name": "c", "image": image}]}},
        "volumeClaimTemplates": [{"metadata": {"name": "data"},
                                  "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Mi"}}}}],
    }
    body.update(spec)
    doc = {"apiVersion": "apps/v1", "kind": "StatefulSet",
           "metadata": {"name": "web", "namespace": "ns", "uid": "set-uid", "generation": generation}, "spec": body}
    default_document(doc, namespaced=True)
    return StatefulSet.model_validate(doc)


@dataclasses.dataclass
class Cluster:
    """What the API and the kubelets would hold after each plan."""

    pods: dict[str, PodView] = dataclasses.field(default_factory=dict)
    bodies: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    claims: dict[str, ClaimView] = dataclasses.field(default_factory=dict)
    revisions: dict[str, RevisionView] = dataclasses.field(default_factory=dict)
    status: StatefulSetStatus | None = None
    serial: int = 0

    def plan(self, sts: StatefulSet, now: datetime = NOW) -> Plan:
        return reconcile(sts, self.status, list(self.pods.values()), dict(self.claims),
                         list(self.revisions.values()), now)

    def apply(self, plan: Plan) -> None:
        for claim in plan.create_claims:
            assert claim["metadata"]["name"] not in self.claims, "claim created twice"
            self.serial += 1
            self.claims[claim["metadata"]["name"]] = claim_view(
                {**claim, "metadata": {**claim["metadata"], "uid": f"c{self.serial}", "resourceVersion": "1"}})
        for patch in plan.patch_claims:
            self.claims[patch.name] = dataclasses.replace(self.claims[patch.name], owner_refs=patch.owner_refs)
        for body in plan.create_pods:
            name = body["metadata"]["name"]
            assert name not in self.pods, f"a second pod {name} while one exists"
            self.serial += 1
            meta = {**body["metadata"], "uid": f"p{self.serial}", "creationTimestamp": "2026-01-01T11:00:00Z"}
            self.bodies[name] = {**body, "metadata": meta}
            self.pods[name] = pod_view(self.bodies[name], None)
        for victim in plan.delete_pods:
            self.pods[victim.name] = dataclasses.replace(self.pods[victim.name], deleting=True)
        if plan.create_revision is not None:
            self.serial += 1
            rev = plan.create_revision
            self.revisions[rev["metadata"]["name"]] = revision_view(
                {**rev, "metadata": {**rev["metadata"], "uid": f"r{self.serial}"}})
        if plan.bump_revision is not None:
            self.revisions[plan.bump_revision.name] = plan.bump_revision
        for old in plan.delete_revisions:
            del self.revisions[old.name]
        self.status = StatefulSetStatus.model_validate(plan.status)

    def run(self, name: str, *, ready: bool = True, phase: str = "Running") -> None:
        pod = self.pods[name]
        self.pods[name] = dataclasses.replace(pod, phase=phase, node="n1",
                                              ready_since=NOW - timedelta(minutes=1) if ready else None)

    def kubelet(self) -> None:
        """Every pod runs and is ready; deleted pods go away."""
        for name, pod in list(self.pods.items()):
            if pod.deleting:
                del self.pods[name]
            else:
                self.run(name)

    def converge(self, sts: StatefulSet, rounds: int = 30) -> Plan:
        for _ in range(rounds):
            plan = self.plan(sts)
            settled = all(p.phase == "Running" and p.ready and not p.deleting for p in self.pods.values())
            self.apply(plan)
            self.kubelet()
            if settled and not (plan.create_pods or plan.delete_pods or plan.create_claims or plan.patch_claims
                                or plan.create_revision or plan.bump_revision or plan.delete_revisions):
                return plan
        raise AssertionError("did not converge")


def names(bodies: tuple[dict[str, Any], ...]) -> list[str]:
    return [b["metadata"]["name"] for b in bodies]


def test_first_sync_creates_claim_then_pod_0_with_its_identity() -> None:
    sts, cluster = make_set(), Cluster()
    plan = cluster.plan(sts)
    assert names(plan.create_claims) == ["data-web-0"] and names(plan.create_pods) == ["web-0"]
    pod = plan.create_pods[0]
    assert pod["spec"]["hostname"] == "web-0" and pod["spec"]["subdomain"] == "web"
    assert pod["metadata"]["labels"] == {"app": "web", POD_NAME_LABEL: "web-0", POD_INDEX_LABEL: "0",
                                         REVISION_LABEL: plan.status["updateRevision"]}
    assert pod["spec"]["volumes"] == [{"name": "data", "persistentVolumeClaim": {"claimName": "data-web-0"}}]
    assert pod["metadata"]["ownerReferences"][0]["uid"] == "set-uid"
    claim = plan.create_claims[0]
    assert claim["metadata"]["labels"] == {"app": "web"} and "ownerReferences" not in claim["metadata"]
    assert claim["spec"]["resources"] == {"requests": {"storage": "1Mi"}}
    assert plan.create_revision is not None and plan.create_revision["revision"] == 1
    assert plan.create_revision["data"]["spec"]["template"]["$patch"] == "replace"
    assert plan.status["updateRevision"] == plan.create_revision["metadata"]["name"]


def test_ordered_ready_waits_for_running_and_ready_before_the_next_ordinal() -> None:
    sts, cluster = make_set(), Cluster()
    cluster.apply(cluster.plan(sts))
    assert cluster.plan(sts).create_pods == ()  # web-0 Pending
    cluster.run("web-0", ready=False)
    assert cluster.plan(sts).create_pods == ()  # Running, not Ready
    cluster.run("web-0")
    assert names(cluster.plan(sts).create_pods) == ["web-1"]


def test_parallel_creates_every_ordinal_at_once() -> None:
    plan = Cluster().plan(make_set(podManagementPolicy="Parallel"))
    assert names(plan.create_pods) == ["web-0", "web-1", "web-2"]
    assert names(plan.create_claims) == ["data-web-0", "data-web-1", "data-web-2"]


def test_ordinals_start_names_the_pods() -> None:
    plan = Cluster().plan(make_set(podManagementPolicy="Parallel", replicas=2, ordinals={"start": 5}))
    assert names(plan.create_pods) == ["web-5", "web-6"]


def test_scale_down_deletes_the_highest_ordinal_first_and_keeps_its_claim() -> None:
    sts, cluster = make_set(replicas=4), Cluster()
    cluster.converge(sts)
    plan = cluster.plan(make_set(replicas=2))
    assert [p.name for p in plan.delete_pods] == ["web-3"]
    cluster.apply(plan)
    assert cluster.plan(make_set(replicas=2)).delete_pods == ()  # web-3 terminating: wait
    cluster.kubelet()
    assert [p.name for p in cluster.plan(make_set(replicas=2)).delete_pods] == ["web-2"]
    cluster.converge(make_set(replicas=2))
    assert sorted(cluster.pods) == ["web-0", "web-1"]
    assert sorted(cluster.claims) == [f"data-web-{i}" for i in range(4)]
    assert all(c.owner_refs == () for c in cluster.claims.values())


def test_a_deleted_pod_comes_back_with_its_name_after_it_is_gone() -> None:
    sts, cluster = make_set(), Cluster()
    cluster.converge(sts)
    cluster.pods["web-1"] = dataclasses.replace(cluster.pods["web-1"], deleting=True)
    assert cluster.plan(sts).create_pods == ()
    del cluster.pods["web-1"]
    plan = cluster.plan(sts)
    assert names(plan.create_pods) == ["web-1"] and plan.create_claims == ()  # its claim is still there
    assert plan.create_pods[0]["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"] == "data-web-1"


def test_a_failed_pod_is_deleted_and_recreated() -> None:
    sts, cluster = make_set(), Cluster()
    cluster.converge(sts)
    cluster.run("web-0", ready=False, phase="Failed")
    assert [p.name for p in cluster.plan(sts).delete_pods] == ["web-0"]


def test_rolling_update_goes_in_reverse_ordinal_down_to_the_partition() -> None:
    cluster = Cluster()
    first = cluster.converge(make_set())
    old_revision = first.status["updateRevision"]
    new = make_set(image="busybox:2", generation=2, updateStrategy={"type": "RollingUpdate",
                                                                    "rollingUpdate": {"partition": 1}})
    order = []
    for _ in range(20):
        plan = cluster.plan(new)
        order += [p.name for p in plan.delete_pods]
        cluster.apply(plan)
        cluster.kubelet()
    assert order == ["web-2", "web-1"]
    revisions = {name: pod.labels[REVISION_LABEL] for name, pod in cluster.pods.items()}
    assert revisions["web-0"] == old_revision and revisions["web-1"] == revisions["web-2"] != old_revision
    status = cluster.plan(new).status
    assert (status["replicas"], status["updatedReplicas"], status["currentReplicas"]) == (3, 2, 1)
    assert status["currentRevision"] == old_revision and status["observedGeneration"] == 2
    done = make_set(image="busybox:2", generation=3)  # partition 0: the roll completes
    cluster.converge(done)
    status = cluster.plan(done).status
    assert status["currentRevision"] == status["updateRevision"] and status["currentReplicas"] == 3
    assert len(cluster.revisions) == 2 and {r.number for r in cluster.revisions.values()} == {1, 2}


def test_on_delete_replaces_only_pods_the_user_deletes() -> None:
    cluster = Cluster()
    cluster.converge(make_set())
    new = make_set(image="busybox:2", updateStrategy={"type": "OnDelete"})
    plan = cluster.plan(new)
    assert plan.delete_pods == () and plan.create_revision is not None
    cluster.apply(plan)
    del cluster.pods["web-2"]
    plan = cluster.plan(new)
    assert names(plan.create_pods) == ["web-2"]
    assert plan.create_pods[0]["spec"]["containers"][0]["image"] == "busybox:2"


def test_rollback_renumbers_the_equal_revision_instead_of_creating_one() -> None:
    cluster = Cluster()
    cluster.converge(make_set())
    cluster.converge(make_set(image="busybox:2"))
    plan = cluster.plan(make_set())
    assert plan.create_revision is None and plan.bump_revision is not None and plan.bump_revision.number == 3


def test_revision_history_is_truncated_to_the_limit() -> None:
    cluster = Cluster()
    for i in range(5):
        cluster.converge(make_set(image=f"busybox:{i}", revisionHistoryLimit=1))
    assert len(cluster.revisions) == 2  # the live one and one more


def test_retention_delete_owns_claims_by_the_set_and_scaled_claims_by_their_pod() -> None:
    policy = {"whenDeleted": "Delete", "whenScaled": "Delete"}
    cluster = Cluster()
    plan = cluster.plan(make_set(persistentVolumeClaimRetentionPolicy=policy))
    assert plan.create_claims[0]["metadata"]["ownerReferences"] == [
        {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "web", "uid": "set-uid"}]
    cluster.converge(make_set(persistentVolumeClaimRetentionPolicy=policy))
    plan = cluster.plan(make_set(replicas=2, persistentVolumeClaimRetentionPolicy=policy))
    [patch] = plan.patch_claims
    assert patch.name == "data-web-2"
    assert {r["kind"]: r["uid"] for r in patch.owner_refs} == {"StatefulSet": "set-uid", "Pod": cluster.pods["web-2"].uid}


def test_status_counts_and_the_pod_of_another_set_is_ignored() -> None:
    sts, cluster = make_set(minReadySeconds=120), Cluster()
    cluster.apply(cluster.plan(sts))
    cluster.run("web-0")
    cluster.pods["web-0"] = dataclasses.replace(cluster.pods["web-0"], ready_since=NOW - timedelta(seconds=30))
    cluster.pods["webby-0"] = PodView(name="webby-0", namespace="ns", uid="x", phase="Running")
    plan = cluster.plan(sts)
    assert plan.create_pods == () and plan.requeue_after == 90.0  # available in 90 s
    assert (plan.status["replicas"], plan.status["readyReplicas"], plan.status["availableReplicas"]) == (1, 1, 0)


# -- the invariants, on a simulated cluster ---------------------------------------------------
STEPS = st.lists(st.tuples(st.sampled_from(["sync", "kubelet", "scale", "image", "fail", "delete", "partition"]),
                           st.integers(0, 6)), min_size=5, max_size=60)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(policy=st.sampled_from(["OrderedReady", "Parallel"]), steps=STEPS)
def test_never_two_pods_of_one_ordinal_ordered_creation_and_claims_kept(policy: str, steps: list[tuple[str, int]]) -> None:
    spec: dict[str, Any] = {"podManagementPolicy": policy, "replicas": 3}
    image, partition = 1, 0
    cluster = Cluster()
    for action, n in steps:
        sts = make_set(image=f"busybox:{image}", updateStrategy={"type": "RollingUpdate",
                                                                 "rollingUpdate": {"partition": partition}}, **spec)
        if action == "sync":
            before = copy.deepcopy(cluster.pods)
            plan = cluster.plan(sts)
            _check(plan, before, policy, claims_before=set(cluster.claims))
            cluster.apply(plan)
        elif action == "kubelet" and cluster.pods:
            name = sorted(cluster.pods)[n % len(cluster.pods)]
            if cluster.pods[name].deleting:
                del cluster.pods[name]
            else:
                cluster.run(name)
        elif action == "scale":
            spec["replicas"] = n
        elif action == "image":
            image += 1
        elif action == "partition":
            partition = n % 4
        elif action == "fail" and cluster.pods:
            cluster.run(sorted(cluster.pods)[n % len(cluster.pods)], ready=False, phase="Failed")
        elif action == "delete" and cluster.pods:
            name = sorted(cluster.pods)[n % len(cluster.pods)]
            cluster.pods[name] = dataclasses.replace(cluster.pods[name], deleting=True)
    final = make_set(image=f"busybox:{image}", **spec)
    cluster.converge(final, rounds=60)
    update = cluster.plan(final).status["updateRevision"]
    assert sorted(cluster.pods) == sorted(f"web-{i}" for i in range(spec["replicas"]))
    assert all(p.labels[REVISION_LABEL] == update for p in cluster.pods.values())
    assert all(c.owner_refs == () for c in cluster.claims.values())  # Retain/Retain: no owner, never collected


def _check(plan: Plan, before: dict[str, PodView], policy: str, claims_before: set[str]) -> None:
    created = [ordinal_of("web", n) for n in names(plan.create_pods)]
    existing = {ordinal_of("web", n) for n in before}
    assert not existing & set(created), "a pod created for an ordinal that has one"
    assert len(set(created)) == len(created)
    if policy == "OrderedReady" and created:
        [ordinal] = created
        assert ordinal is not None
        for lower in range(ordinal):
            pod = before.get(f"web-{lower}")
            assert pod is not None and pod.phase == "Running" and pod.ready and not pod.deleting
    for claim in plan.create_claims:
        assert claim["metadata"]["name"] not in claims_before
    for patch in plan.patch_claims:
        assert patch.owner_refs == ()


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=5),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                    max_leaves=12)
RECORD = st.fixed_dictionaries({}, optional={
    "metadata": JSON | st.fixed_dictionaries({}, optional={
        "name": JSON | st.sampled_from(["data-web-0", "web-abc"]), "uid": JSON, "resourceVersion": JSON,
        "ownerReferences": JSON, "deletionTimestamp": JSON}),
    "data": JSON | st.fixed_dictionaries({"spec": JSON | st.fixed_dictionaries({"template": JSON})}),
    "revision": JSON})


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(claims=st.lists(RECORD, max_size=3), revisions=st.lists(RECORD, max_size=3))
def test_malformed_claims_and_revisions_never_stop_a_sync(claims: list[dict[str, Any]],
                                                          revisions: list[dict[str, Any]]) -> None:
    """Records the controller reads (claims, its revisions) with any shape: views read
    malformed fields as absent and the plan still names web-0 by its ordinal."""
    views = [claim_view(c) for c in claims]
    plan = reconcile(make_set(), None, [], {v.name: v for v in views}, [revision_view(r) for r in revisions], NOW)
    assert all(ordinal_of("web", n) == 0 for n in names(plan.create_pods))
