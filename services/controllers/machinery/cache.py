"""A workload controller's index over its host's view: the desired pods and the
controller's kinds (ReplicaSets, ReplicationControllers, Deployments) by namespace,
the pods by (namespace, controller uid), and the PodViews (desired pod + observed
status) computed once per change. The view holds the objects; `observe(change)`,
called by the host for every change of the view (the replay too), keeps the indexes
true. Used by `replicaset.controller` and `deployment.controller`."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from typing import Any, Protocol

from services.controllers.machinery.podview import PodView, controller_uid, pod_view
from services.runtime.informer import Change
from services.runtime.topics import Topics


class View(Protocol):
    """What the cache reads: the host's informer (or a view of the shared one)."""

    def get(self, topic: str, key: str) -> Any | None: ...
    def items(self, topic: str) -> dict[str, Any]: ...


def workload_topics(topics: Topics, kinds: Collection[str]) -> list[str]:
    """The topics a cache over `kinds` reads: desired pods and kinds, their observed
    records (the kubelet's pod statuses, the controller's own statuses)."""
    plurals = _plurals(kinds)
    return [*(topics.desired(p) for p in plurals), *(topics.observed(p) for p in plurals)]


def _plurals(kinds: Collection[str]) -> list[str]:
    return ["pods", *(k for k in kinds if k != "pods")]


class WorkloadCache:
    def __init__(self, view: View, topics: Topics, kinds: Collection[str]) -> None:
        self.informer = view
        plurals = _plurals(kinds)
        self.desired = {plural: topics.desired(plural) for plural in plurals}
        self.observed = {plural: topics.observed(plural) for plural in plurals}
        self._plural_of = {topic: plural for plural, topic in self.desired.items()}
        self._observed_pods = topics.observed("pods")
        self._by_ns: dict[str, dict[str, set[str]]] = {plural: defaultdict(set) for plural in plurals}
        # (namespace, controller uid or "" for orphans) -> pod keys
        self._pods_by_owner: dict[tuple[str, str], set[str]] = defaultdict(set)
        self._views: dict[str, PodView] = {}

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

    # -- feeding ------------------------------------------------------------------------------
    def plural_of(self, change: Change[Any]) -> str | None:
        """The plural a change concerns ("pods" for a pod's observed status), None for
        the controller's own statuses."""
        plural = self._plural_of.get(change.topic)
        return "pods" if plural is None and change.topic == self._observed_pods else plural

    def observe(self, change: Change[Any]) -> None:
        """Index one change of the view."""
        plural = self._plural_of.get(change.topic)
        if plural is not None:
            namespace = change.key.split("/", 1)[0]
            if change.new is None:
                self._by_ns[plural][namespace].discard(change.key)
            else:
                self._by_ns[plural][namespace].add(change.key)
            if plural == "pods":
                self._index_owner(change)
                self._views.pop(change.key, None)
        elif change.topic == self._observed_pods:
            self._views.pop(change.key, None)


def _controller_uid(pod: Mapping[str, Any] | None) -> str | None:
    """The uid of the pod's controller, "" for an orphan, None for no pod."""
    if pod is None:
        return None
    return controller_uid(pod) or ""


class PodNames:
    """`name in names` for one namespace, over the cache's key index."""

    def __init__(self, namespace: str, keys: set[str]) -> None:
        self._prefix, self._keys = f"{namespace}/", keys

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and f"{self._prefix}{name}" in self._keys
