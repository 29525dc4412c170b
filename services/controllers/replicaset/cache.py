"""The workload controllers' shared view: one informer over desired pods,
ReplicaSets, ReplicationControllers and Deployments and over the observed pods
and the controllers' own observed statuses, with per-namespace indexes. Handlers
registered with `on_change` only enqueue keys. Used by `replicaset.controller`
and `deployment.controller` (one instance per controller-manager process; its
informer is then a view of the process's `SharedInformer`)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from typing import Any

from services.controllers.replicaset.podview import PodView, pod_view
from services.controllers.shared import InformerView, SharedInformer
from services.runtime.config import Settings
from services.runtime.informer import Change, Informer
from services.runtime.topics import Topics

KINDS = ("pods", "replicasets", "replicationcontrollers", "deployments")


class WorkloadCache:
    def __init__(self, settings: Settings, shared: SharedInformer | None = None) -> None:
        self.topics = Topics(settings.topic_prefix)
        self.desired = {plural: self.topics.desired(plural) for plural in KINDS}
        self.observed = {plural: self.topics.observed(plural) for plural in KINDS}
        topics = [*self.desired.values(), *self.observed.values()]
        self.informer: Informer[Any] | InformerView = (
            Informer(settings, topics, name="controllers") if shared is None else shared.view(topics))
        self._plural_of = {topic: plural for plural, topic in self.desired.items()}
        self._observed_plural = {topic: plural for plural, topic in self.observed.items()}
        self._by_ns: dict[str, dict[str, set[str]]] = {plural: defaultdict(set) for plural in KINDS}
        self._views: dict[str, PodView] = {}
        self._listeners: list[Callable[[str, Change[Any]], None]] = []
        self.informer.add_handler(self._on_change)

    def on_change(self, listener: Callable[[str, Change[Any]], None]) -> None:
        """`listener(plural, change)` for desired changes and observed pod changes."""
        self._listeners.append(listener)

    # -- reads ------------------------------------------------------------------------------
    def get(self, plural: str, key: str) -> Mapping[str, Any] | None:
        return self.informer.get(self.desired[plural], key)

    def observed_status(self, plural: str, key: str, uid: str | None) -> dict[str, Any] | None:
        record = self.informer.get(self.observed[plural], key)
        if record is None or (record.get("metadata") or {}).get("uid") not in (None, uid):
            return None
        return record.get("status")

    def observed_record(self, plural: str, key: str) -> Mapping[str, Any] | None:
        return self.informer.get(self.observed[plural], key)

    def keys(self, plural: str) -> list[str]:
        return list(self.informer.items(self.desired[plural]))

    def in_namespace(self, plural: str, namespace: str) -> list[Mapping[str, Any]]:
        store = self.informer.items(self.desired[plural])
        return [store[k] for k in sorted(self._by_ns[plural].get(namespace, ())) if k in store]

    def pods_in(self, namespace: str) -> list[PodView]:
        out = []
        for key in sorted(self._by_ns["pods"].get(namespace, ())):
            view = self._views.get(key)
            if view is None:
                pod = self.get("pods", key)
                if pod is None:
                    continue
                view = self._views[key] = pod_view(pod, self.informer.get(self.observed["pods"], key))
            out.append(view)
        return out

    # -- the handler --------------------------------------------------------------------------
    def _on_change(self, change: Change[Any]) -> None:
        plural = self._plural_of.get(change.topic)
        if plural is not None:
            namespace = change.key.split("/", 1)[0]
            if change.new is None:
                self._by_ns[plural][namespace].discard(change.key)
            else:
                self._by_ns[plural][namespace].add(change.key)
        elif self._observed_plural.get(change.topic) == "pods":
            plural = "pods"
        else:
            return  # our own statuses: nothing to do
        if plural == "pods":
            self._views.pop(change.key, None)
        if self.informer.synced:
            for listener in self._listeners:
                listener(plural, change)
