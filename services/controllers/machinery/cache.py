"""The workload controllers' shared view: one informer over desired pods,
ReplicaSets, ReplicationControllers and Deployments and over the observed pods
and the controllers' own observed statuses, with per-namespace indexes. Handlers
registered with `on_change` only enqueue keys. Used by `replicaset.controller`
and `deployment.controller` (one instance per controller-manager process; its
informer is then a view of the process's `SharedInformer`)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from services.controllers.machinery.podview import PodView, controller_ref, pod_view
from services.controllers.machinery.informer import InformerView, SharedInformer
from services.runtime.buskeys import bus_trust
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
            Informer(settings, topics, name="controllers", trust=bus_trust(settings))
            if shared is None else shared.view(topics))
        self._plural_of = {topic: plural for plural, topic in self.desired.items()}
        self._observed_plural = {topic: plural for plural, topic in self.observed.items()}
        self._by_ns: dict[str, dict[str, set[str]]] = {plural: defaultdict(set) for plural in KINDS}
        # (namespace, controller uid or "" for orphans) -> pod keys
        self._pods_by_owner: dict[tuple[str, str], set[str]] = defaultdict(set)
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

    def pod_names(self, namespace: str) -> "PodNames":
        """The names of the namespace's pods, for membership tests (no copy)."""
        return PodNames(namespace, self._by_ns["pods"].get(namespace, set()))

    def pods_of(self, namespace: str, owner_uids: Iterable[str], *, orphans: bool = False) -> list[PodView]:
        """The namespace's pods controlled by one of `owner_uids` (and, with `orphans`,
        those without a controller), by key: what a ReplicaSet or Deployment sync reads,
        without walking every pod of the namespace."""
        keys: set[str] = set()
        for uid in (*owner_uids, *(("",) if orphans else ())):
            keys.update(self._pods_by_owner.get((namespace, uid), ()))
        out = []
        for key in sorted(keys):
            view = self._views.get(key)
            if view is None:
                pod = self.get("pods", key)
                if pod is None:
                    continue
                view = self._views[key] = pod_view(pod, self.informer.get(self.observed["pods"], key))
            out.append(view)
        return out

    def _index_owner(self, change: Change[Any]) -> None:
        namespace = change.key.split("/", 1)[0]
        old, new = _controller_uid(change.old), _controller_uid(change.new)
        if old is not None and old != new:
            keys = self._pods_by_owner[(namespace, old)]
            keys.discard(change.key)
            if not keys:
                del self._pods_by_owner[(namespace, old)]
        if new is not None:
            self._pods_by_owner[(namespace, new)].add(change.key)

    # -- the handler --------------------------------------------------------------------------
    def _on_change(self, change: Change[Any]) -> None:
        plural = self._plural_of.get(change.topic)
        if plural is not None:
            namespace = change.key.split("/", 1)[0]
            if change.new is None:
                self._by_ns[plural][namespace].discard(change.key)
            else:
                self._by_ns[plural][namespace].add(change.key)
            if plural == "pods":
                self._index_owner(change)
        elif self._observed_plural.get(change.topic) == "pods":
            plural = "pods"
        else:
            return  # our own statuses: nothing to do
        if plural == "pods":
            self._views.pop(change.key, None)
        if self.informer.synced:
            for listener in self._listeners:
                listener(plural, change)


def _controller_uid(pod: Mapping[str, Any] | None) -> str | None:
    """The uid of the pod's controller, "" for an orphan, None for no pod."""
    if pod is None:
        return None
    ref = controller_ref(pod.get("metadata") or {})
    return ref.uid if ref else ""


class PodNames:
    """`name in names` for one namespace, over the cache's key index."""

    def __init__(self, namespace: str, keys: set[str]) -> None:
        self._prefix, self._keys = f"{namespace}/", keys

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and f"{self._prefix}{name}" in self._keys
