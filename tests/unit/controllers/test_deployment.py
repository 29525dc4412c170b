"""The Deployment reconcile, pure, driven through whole rollouts by a simulated
cluster: the deployment controller, the ReplicaSet controller (the real reconcile)
and a kubelet that makes created pods ready at its next step and removes deleted
ones. At every step: pods <= replicas + maxSurge, available >= replicas - maxUnavailable."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hs

from services.api.merge_patch import merge_patch
from schemas.rollout import HASH_LABEL, REVISION, normalised
from services.controllers.deployment.hashing import template_hash
from services.controllers.deployment.model import fenceposts
from services.controllers.deployment.reconcile import Plan, reconcile
from services.controllers.machinery.podview import OwnerRef, PodView
from services.controllers.replicaset.reconcile import reconcile as rs_reconcile
from services.controllers.replicaset.workload import from_replicaset

START = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)


def ts(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def deployment(replicas: int = 3, *, image: str = "nginx:1", surge: Any = "25%", unavailable: Any = "25%",
               recreate: bool = False, min_ready: int = 0, history: int = 10, paused: bool = False,
               deadline: int | None = 600) -> dict[str, Any]:
    strategy: dict[str, Any] = {"type": "Recreate"} if recreate else {
        "type": "RollingUpdate", "rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavailable}}
    spec: dict[str, Any] = {
        "replicas": replicas, "selector": {"matchLabels": {"app": "web"}}, "strategy": strategy,
        "minReadySeconds": min_ready, "revisionHistoryLimit": history, "paused": paused,
        "template": {"metadata": {"labels": {"app": "web"}},
                     "spec": {"containers": [{"name": "web", "image": image}]}}}
    if deadline is not None:
        spec["progressDeadlineSeconds"] = deadline
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "default", "uid": "d-uid", "generation": 1,
                         "resourceVersion": "1", "annotations": {}},
            "spec": spec}


class Cluster:
    """Desired deployment, ReplicaSets and pods in memory, plus observed statuses."""

    def __init__(self, d: dict[str, Any], *, kubelet: bool = True) -> None:
        self.d = d
        self.rss: dict[str, dict[str, Any]] = {}
        self.pods: dict[str, PodView] = {}
        self.status: dict[str, Any] = {}
        self.rs_status: dict[str, dict[str, Any]] = {}
        self.now = START
        self.kubelet_on = kubelet
        self.uids = itertools.count(1)
        self.created_pods: set[str] = set()
        self.plans: list[Plan] = []
        self.max_pods = 0
        self.min_available: int | None = None

    # -- the deployment controller ------------------------------------------------------
    def deploy(self) -> Plan:
        plan = reconcile(self.d, list(self.rss.values()), list(self.pods.values()), self.now,
                         current_status=self.status)
        self.plans.append(plan)
        for c in plan.create:
            meta = {**c.body["metadata"], "uid": f"rs-{next(self.uids)}", "generation": 1,
                    "creationTimestamp": ts(self.now + timedelta(microseconds=len(self.rss)))}
            self.rss[c.name] = {**c.body, "metadata": meta}
        for p in plan.patch:
            self.rss[p.name] = merge_patch(self.rss[p.name], p.patch)
        for s in plan.scale:
            self.rss[s.name] = merge_patch(self.rss[s.name], {"spec": {"replicas": s.replicas},
                                                            "metadata": {"annotations": s.annotations}})
        for x in plan.delete:
            del self.rss[x.name]
        if plan.annotate:
            self.d = merge_patch(self.d, {"metadata": {"annotations": plan.annotate.annotations}})
        if plan.status:
            self.status = plan.status.status
        return plan

    # -- the ReplicaSet controller ------------------------------------------------------
    def replicasets(self) -> int:
        acted = 0
        for name, obj in list(self.rss.items()):
            plan = rs_reconcile(from_replicaset(obj), list(self.pods.values()), self.now)
            for c in plan.create:
                assert c.name not in self.pods
                meta = c.body["metadata"]
                ref = meta["ownerReferences"][0]
                self.pods[c.name] = PodView(name=c.name, namespace="default", uid=f"p-{next(self.uids)}",
                                            labels=meta["labels"], owner=OwnerRef("apps/v1", "ReplicaSet", name, ref["uid"]),
                                            created=self.now, node="n1", phase="Pending")
                self.created_pods.add(c.name)
            for x in plan.delete:
                self.pods[x.name] = replace(self.pods[x.name], deleting=True)
            acted += len(plan.create) + len(plan.delete)
        return acted

    # -- the kubelet -------------------------------------------------------------------------
    def kubelet(self) -> None:
        for name, pod in list(self.pods.items()):
            if pod.deleting:
                del self.pods[name]
            elif not pod.ready:
                self.pods[name] = replace(pod, phase="Running", ready_since=self.now)

    # -- checks ------------------------------------------------------------------------------
    def active(self) -> list[PodView]:
        return [p for p in self.pods.values() if p.active]

    def available(self) -> int:
        min_ready = self.d["spec"].get("minReadySeconds") or 0
        return sum(1 for p in self.active() if p.available(min_ready, self.now))

    def check(self) -> None:
        self.max_pods = max(self.max_pods, len(self.active()))
        if self.min_available is None or self.available() < self.min_available:
            self.min_available = self.available()

    def step(self) -> None:
        self.deploy()
        self.check()
        self.replicasets()
        self.check()
        if self.kubelet_on:
            self.kubelet()
            self.check()
        self.now += timedelta(seconds=1)

    def rs_by_revision(self) -> dict[int, dict[str, Any]]:
        return {int(o["metadata"]["annotations"][REVISION]): o for o in self.rss.values()}

    def done(self) -> bool:
        replicas = self.d["spec"]["replicas"]
        new = [o for o in self.rss.values()
               if normalised(o["spec"]["template"]) == normalised(self.d["spec"]["template"])]
        return (bool(new) and self.status.get("updatedReplicas") == replicas
                and self.status.get("availableReplicas") == replicas and self.status.get("replicas") == replicas
                and len(self.pods) == replicas
                and all(o["spec"]["replicas"] == 0 for o in self.rss.values() if o not in new))

    def run(self, *, limit: int = 400) -> int:
        for n in range(limit):
            if self.done() and self.deploy().empty:
                return n
            self.step()
        raise AssertionError(f"no convergence in {limit} steps: {self.status} {[(k, v['spec']['replicas']) for k, v in self.rss.items()]}")

    def set_spec(self, **changes: Any) -> None:
        spec = {**self.d["spec"], **changes}
        meta = {**self.d["metadata"], "generation": self.d["metadata"]["generation"] + 1}
        self.d = {**self.d, "metadata": meta, "spec": spec}

    def set_image(self, image: str) -> None:
        template = self.d["spec"]["template"]
        self.set_spec(template={**template, "spec": {"containers": [{"name": "web", "image": image}]}})

    def reset_bounds(self) -> None:
        self.max_pods, self.min_available = 0, None


def rolled(replicas: int = 3, **kwargs: Any) -> Cluster:
    cluster = Cluster(deployment(replicas, **kwargs))
    cluster.run()
    cluster.reset_bounds()
    return cluster


# -- rolling update ------------------------------------------------------------------------------
def test_first_rollout_creates_a_hashed_replicaset_with_revision_1() -> None:
    cluster = Cluster(deployment(3))
    plan = cluster.deploy()
    assert len(plan.create) == 1
    body = plan.create[0].body
    hash_ = template_hash(deployment(3)["spec"]["template"])
    assert plan.create[0].name == f"web-{hash_}"
    assert body["spec"]["selector"]["matchLabels"] == {"app": "web", HASH_LABEL: hash_}
    assert body["spec"]["template"]["metadata"]["labels"] == {"app": "web", HASH_LABEL: hash_}
    assert body["metadata"]["annotations"][REVISION] == "1"
    assert body["metadata"]["ownerReferences"][0]["uid"] == "d-uid"
    assert plan.annotate is not None and plan.annotate.annotations == {REVISION: "1"}
    assert _progressing(cluster.status)["reason"] == "NewReplicaSetCreated"
    cluster.run()
    assert _progressing(cluster.status)["reason"] == "NewReplicaSetAvailable"
    assert _condition(cluster.status, "Available")["reason"] == "MinimumReplicasAvailable"
    assert cluster.d["metadata"]["annotations"][REVISION] == "1"


def test_a_name_taken_by_another_deployments_replicaset_is_a_hash_collision() -> None:
    cluster = Cluster(deployment(3))
    name = f"web-{template_hash(deployment(3)['spec']['template'])}"
    other = replicaset(name, "rs-other", labels={"app": "web"}, owner="other")
    cluster.rss[name] = other
    plan = cluster.deploy()
    assert not plan.create and cluster.status["collisionCount"] == 1  # not adopted, not overwritten
    plan = cluster.deploy()
    assert [c.name for c in plan.create] == [f"web-{template_hash(deployment(3)['spec']['template'], 1)}"]
    assert cluster.rss[name] == other


def replicaset(name: str, uid: str, *, labels: dict[str, str], owner: str | None, replicas: int = 2,
               template: dict[str, Any] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": "default", "uid": uid, "creationTimestamp": ts(START),
                            "resourceVersion": "5", "labels": labels}
    if owner is not None:
        meta["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": "Deployment", "name": owner,
                                    "uid": f"d-{owner}", "controller": True}]
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": meta,
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels}, "template": template or {}}}


def test_an_orphan_replicaset_that_matches_is_adopted_and_another_deployments_is_left_alone() -> None:
    cluster = Cluster(deployment(3))
    template = deployment(3)["spec"]["template"]
    name = f"web-{template_hash(template)}"
    cluster.rss[name] = replicaset(name, "rs-orphan", labels={"app": "web"}, owner=None, replicas=3, template=template)
    cluster.rss["theirs"] = replicaset("theirs", "rs-theirs", labels={"app": "web"}, owner="other", replicas=4)
    plan = cluster.deploy()
    assert {p.name for p in plan.patch} == {name}  # adopted (our controller reference), then annotated
    assert plan.patch[0].patch["metadata"]["ownerReferences"][-1]["uid"] == "d-uid"
    assert not plan.create and all(s.name != "theirs" for s in plan.scale) and not plan.delete
    assert cluster.rss["theirs"]["spec"]["replicas"] == 4 and "collisionCount" not in cluster.status


def test_hash_is_stable_and_ignores_the_hash_label() -> None:
    template = deployment(3)["spec"]["template"]
    assert template_hash(template) == template_hash(dict(template))
    assert template_hash(template) != template_hash(template, 1)
    labelled = {**template, "metadata": {"labels": {"app": "web", HASH_LABEL: "x"}}}
    assert template_hash(labelled) == template_hash(template)


def test_rolling_update_step_by_step_respects_surge_and_unavailability() -> None:
    cluster = rolled(4, surge=1, unavailable=1)
    cluster.set_image("nginx:2")
    steps = cluster.run()
    assert steps > 2
    assert cluster.max_pods <= 5 and cluster.min_available is not None and cluster.min_available >= 3
    revisions = cluster.rs_by_revision()
    assert sorted(revisions) == [1, 2]
    assert revisions[1]["spec"]["replicas"] == 0 and revisions[2]["spec"]["replicas"] == 4
    assert cluster.d["metadata"]["annotations"][REVISION] == "2"
    assert cluster.status["observedGeneration"] == 2


def test_rollback_reuses_the_old_replicaset_as_revision_3() -> None:
    cluster = rolled(3)
    first = cluster.rs_by_revision()[1]
    cluster.set_image("nginx:2")
    cluster.run()
    template = {**first["spec"]["template"]}
    template["metadata"] = {"labels": {k: v for k, v in template["metadata"]["labels"].items() if k != HASH_LABEL}}
    cluster.set_spec(template=template)
    cluster.run()
    revisions = cluster.rs_by_revision()
    assert sorted(revisions) == [2, 3]
    assert revisions[3]["metadata"]["name"] == first["metadata"]["name"] and revisions[3]["spec"]["replicas"] == 3
    assert cluster.d["metadata"]["annotations"][REVISION] == "3"


def test_rollback_as_kubectl_sends_it_reuses_the_old_replicaset() -> None:
    """`kubectl rollout undo` replaces spec.template with the old ReplicaSet's as Go
    marshals it: `creationTimestamp: null`, `resources: {}`, `securityContext: {}`."""
    cluster = rolled(3)
    first = cluster.rs_by_revision()[1]
    cluster.set_image("nginx:2")
    cluster.run()
    old = first["spec"]["template"]
    labels = {k: v for k, v in old["metadata"]["labels"].items() if k != HASH_LABEL}
    containers = [{**c, "resources": {}} for c in old["spec"]["containers"]]
    cluster.set_spec(template={"metadata": {"creationTimestamp": None, "labels": labels},
                               "spec": {**old["spec"], "containers": containers, "securityContext": {}}})
    cluster.run()
    revisions = cluster.rs_by_revision()
    assert sorted(revisions) == [2, 3] and revisions[3]["metadata"]["name"] == first["metadata"]["name"]


def test_revision_history_limit_deletes_the_oldest_empty_replicasets() -> None:
    cluster = rolled(2, history=1)
    for image in ("nginx:2", "nginx:3", "nginx:4"):
        cluster.set_image(image)
        cluster.run()
    assert sorted(cluster.rs_by_revision()) == [3, 4]


def test_recreate_removes_every_old_pod_before_creating_new_ones() -> None:
    cluster = rolled(3, recreate=True)
    old_uid = next(iter(cluster.rss.values()))["metadata"]["uid"]
    cluster.set_image("nginx:2")
    mixed = False
    for _ in range(50):
        if cluster.done():
            break
        cluster.step()
        owners = {p.owner.uid for p in cluster.pods.values() if p.owner}
        mixed |= old_uid in owners and len(owners) > 1
    assert cluster.done() and not mixed


def test_paused_deployment_does_not_roll_but_scales() -> None:
    cluster = rolled(3)
    cluster.set_spec(paused=True)
    cluster.set_image("nginx:2")
    for _ in range(5):
        cluster.step()
    assert len(cluster.rss) == 1 and _progressing(cluster.status)["reason"] == "DeploymentPaused"
    cluster.set_spec(replicas=5)
    for _ in range(5):
        cluster.step()
    assert len(cluster.active()) == 5 and len(cluster.rss) == 1
    cluster.set_spec(paused=False)
    cluster.run()
    assert len(cluster.rss) == 2 and cluster.done()


def test_scaling_during_a_rollout_is_proportional_and_bounded() -> None:
    cluster = rolled(10, surge=3, unavailable=2)
    cluster.set_image("nginx:2")
    for _ in range(2):
        cluster.step()
    sizes_before = sorted(o["spec"]["replicas"] for o in cluster.rss.values())
    assert len([s for s in sizes_before if s]) == 2
    cluster.set_spec(replicas=20)
    cluster.reset_bounds()
    cluster.deploy()
    total = sum(o["spec"]["replicas"] for o in cluster.rss.values())
    assert total <= 20 + 5 and all(o["spec"]["replicas"] > 0 for o in cluster.rss.values())
    cluster.run()
    assert len(cluster.active()) == 20


def test_progress_deadline_exceeded_when_pods_never_become_ready() -> None:
    cluster = rolled(2, deadline=10)
    cluster.kubelet_on = False
    cluster.set_image("nginx:broken")
    for _ in range(15):
        cluster.step()
    cond = _progressing(cluster.status)
    assert (cond["status"], cond["reason"]) == ("False", "ProgressDeadlineExceeded")
    assert any(e.reason == "ProgressDeadlineExceeded" for plan in cluster.plans for e in plan.events)


def test_min_ready_seconds_delays_availability() -> None:
    cluster = rolled(2, min_ready=5, surge=1, unavailable=0)
    cluster.set_image("nginx:2")
    steps = cluster.run()
    assert steps >= 10 and cluster.min_available is not None and cluster.min_available >= 2


def test_hundred_replica_rolling_update() -> None:
    cluster = rolled(100)
    cluster.set_image("nginx:2")
    cluster.run()
    surge, unavailable = fenceposts("25%", "25%", 100)
    assert cluster.max_pods <= 100 + surge and cluster.min_available is not None
    assert cluster.min_available >= 100 - unavailable
    assert len(cluster.created_pods) == 200


def test_converged_deployment_plans_nothing() -> None:
    cluster = rolled(3)
    assert cluster.deploy().empty


percent = hs.integers(0, 100).map(lambda n: f"{n}%")
amount = hs.one_of(hs.integers(0, 5), percent)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(replicas=hs.integers(1, 12), surge=amount, unavailable=amount, min_ready=hs.sampled_from([0, 0, 2]))
def test_rolling_update_bounds_hold_at_every_step(replicas: int, surge: Any, unavailable: Any, min_ready: int) -> None:
    s, u = fenceposts(surge, unavailable, replicas)
    if s == 0 and u == 0 or (isinstance(surge, int) and surge == 0 and isinstance(unavailable, int) and unavailable == 0):
        return  # rejected by the API's validation
    cluster = rolled(replicas, surge=surge, unavailable=unavailable, min_ready=min_ready)
    cluster.set_image("nginx:2")
    cluster.run()
    assert cluster.max_pods <= replicas + s
    assert cluster.min_available is not None and cluster.min_available >= replicas - min(u, replicas)
    assert len(cluster.active()) == replicas


def _condition(status: dict[str, Any], type_: str) -> dict[str, Any]:
    return next(c for c in status["conditions"] if c["type"] == type_)


def _progressing(status: dict[str, Any]) -> dict[str, Any]:
    return _condition(status, "Progressing")
