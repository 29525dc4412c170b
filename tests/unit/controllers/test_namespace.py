"""The namespace controller's pure decisions: Active status, deletion of the
contents, then the finalizer; leftovers of a namespace that is gone. And what its sync
reads: the contents only of a namespace that is terminating or gone."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from services.controllers.namespace.service import NamespaceController
from services.controllers.namespace.reconcile import (
    DeleteContent, Finalize, NamespaceFacts, WriteStatus, reconcile, terminating_status,
)
from services.runtime.config import Settings
from services.runtime.informer import Change
from services.runtime.topics import Topics

NOW = datetime(2025, 1, 1, tzinfo=timezone.utc)


def namespace(*, deleting: bool = False, spec_finalizers: list[str] | None = None,
              finalizers: list[str] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": "team", "uid": "u-ns", "resourceVersion": "9"}
    if deleting:
        meta["deletionTimestamp"] = "2025-01-01T00:00:00Z"
    if finalizers is not None:
        meta["finalizers"] = finalizers
    ns: dict[str, Any] = {"apiVersion": "v1", "kind": "Namespace", "metadata": meta}
    if spec_finalizers is not None:
        ns["spec"] = {"finalizers": spec_finalizers}
    return ns


def content(kind: str, name: str, *, deleting: bool = False, finalizers: list[str] | None = None,
            api_version: str = "v1") -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": "team", "uid": f"u-{name}", "resourceVersion": "4"}
    if deleting:
        meta["deletionTimestamp"] = "2025-01-01T00:00:00Z"
    if finalizers:
        meta["finalizers"] = finalizers
    return {"apiVersion": api_version, "kind": kind, "metadata": meta}


def of(plan: Any, kind: type) -> list[Any]:
    return [a for a in plan.actions if isinstance(a, kind)]


def test_active_namespace_gets_its_phase_once() -> None:
    [write] = reconcile(NamespaceFacts("team", namespace(), None), NOW).actions
    assert isinstance(write, WriteStatus) and write.status == {"phase": "Active"}
    assert reconcile(NamespaceFacts("team", namespace(), {"phase": "Active"}), NOW).actions == ()


def test_terminating_namespace_deletes_its_contents_first() -> None:
    contents = [content("Pod", "p"), content("ReplicaSet", "rs", api_version="apps/v1"),
                content("ConfigMap", "cm", deleting=True, finalizers=["foregroundDeletion"])]
    plan = reconcile(NamespaceFacts("team", namespace(deleting=True, spec_finalizers=["kubernetes"]),
                                    {"phase": "Active"}, contents), NOW)
    assert sorted(d.target.key for d in of(plan, DeleteContent)) == ["team/p", "team/rs"]
    assert all(d.target.resource_version == "4" for d in of(plan, DeleteContent))
    assert of(plan, Finalize) == [] and plan.requeue_after
    [write] = of(plan, WriteStatus)
    assert write.status is not None and write.status["phase"] == "Terminating"
    conditions = {c["type"]: c for c in write.status["conditions"]}
    assert conditions["NamespaceContentRemaining"]["status"] == "True"
    assert conditions["NamespaceContentRemaining"]["message"] == (
        "Some resources are remaining: configmaps has 1 resource instances, "
        "pods has 1 resource instances, replicasets.apps has 1 resource instances")
    assert conditions["NamespaceFinalizersRemaining"]["message"].endswith("foregroundDeletion in 1 resource instances")


def test_empty_terminating_namespace_is_finalized() -> None:
    ns = namespace(deleting=True, spec_finalizers=["kubernetes"], finalizers=["example.com/x", "kubernetes"])
    status = terminating_status([], None, NOW)
    [fin] = reconcile(NamespaceFacts("team", ns, status), NOW).actions
    assert isinstance(fin, Finalize)
    assert fin.patch == {"spec": {"finalizers": None}, "metadata": {"finalizers": ["example.com/x"]}}
    assert fin.target.resource_version == "9"


def test_finalized_namespace_waits_for_other_finalizers() -> None:
    ns = namespace(deleting=True, spec_finalizers=[], finalizers=["example.com/x"])
    assert reconcile(NamespaceFacts("team", ns, terminating_status([], None, NOW)), NOW).actions == ()


def test_status_is_not_rewritten_when_unchanged() -> None:
    contents = [content("Pod", "p", deleting=True)]
    first = terminating_status(contents, None, NOW)
    later = datetime(2025, 1, 2, tzinfo=timezone.utc)
    assert terminating_status(contents, first, later) == first
    plan = reconcile(NamespaceFacts("team", namespace(deleting=True), first, contents), later)
    assert plan.actions == ()  # the pod is already being deleted: wait for it


def test_gone_namespace_leaves_no_contents_and_no_status() -> None:
    plan = reconcile(NamespaceFacts("team", None, {"phase": "Terminating"}, [content("Pod", "p")]), NOW)
    assert [type(a) for a in plan.actions] == [DeleteContent, WriteStatus]
    assert of(plan, WriteStatus)[0].status is None
    assert reconcile(NamespaceFacts("default", None, None, [content("Pod", "p")]), NOW).actions == ()


def test_deletions_are_capped() -> None:
    contents = [content("ConfigMap", f"c{i}") for i in range(10)]
    plan = reconcile(NamespaceFacts("team", namespace(deleting=True), None, contents), NOW, max_deletes=4)
    assert len(of(plan, DeleteContent)) == 4


def test_the_controller_reads_a_namespaces_contents_only_when_it_is_terminating_or_gone() -> None:
    controller = NamespaceController(Settings())
    topics = Topics(Settings().topic_prefix)
    stores = {plural: controller.host.informer.items(topics.desired(plural)) for plural in ("namespaces", "pods")}

    def put(plural: str, key: str, obj: dict[str, Any] | None) -> None:
        old = stores[plural].pop(key, None)
        if obj is not None:
            stores[plural][key] = obj
        controller.observe(Change(topics.desired(plural), key, old, obj, 0, 0))

    put("pods", "team/web", content("Pod", "web"))
    put("namespaces", "team", namespace())
    assert controller._facts("team").contents == []  # Active: its contents play no part
    put("namespaces", "team", namespace(deleting=True))
    assert [c["metadata"]["name"] for c in controller._facts("team").contents] == ["web"]
    put("namespaces", "team", None)
    assert [c["metadata"]["name"] for c in controller._facts("team").contents] == ["web"]
