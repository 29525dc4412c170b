"""The invariants every fault test checks, in one place (DESIGN.md §3.3: killed and
restarted, the cluster converges with nothing lost and nothing duplicated):

1. no acknowledged write lost: every manifest answered Created/Updated is in desired state;
2. no duplicate pod: a ReplicaSet's live pods never grow past the replicas in force
   (sampled during the run by `PodSampler`, asserted by the test body through `assert_no_excess`);
3. no orphan container: every Docker container labelled with one of the test's nodes
   belongs to a desired pod bound to that node, and no pod runs two copies;
4. every desired pod Running again, and its reported container ids are the ones Docker runs;
5. the time to converge, measured by `converge` and printed.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any
from uuid import uuid4

import orjson
from aiokafka import TopicPartition
from aiokafka.errors import KafkaError

from schemas.records import DOCUMENT_ANNOTATION, REQUEST_ID_ANNOTATION
from services.kubelet.runtime.base import LABEL_CONTAINER, LABEL_NAME, LABEL_NODE, LABEL_ROLE, LABEL_UID
from services.runtime.bus import make_consumer, partitions_of
from services.runtime.buskeys import bus_trust
from services.runtime.config import Settings
from services.runtime.informer import Informer
from services.runtime.topics import Topics
from tests.faults.harness import docker
from tests.integration.kafkit import publish

MARK = "faults.kafkube.io/write"  # annotation: which acknowledged write an object carries
ACKED = ("Created", "Updated", "Unchanged")


# -- the workload ------------------------------------------------------------------------
def deployment(name: str, replicas: int, roll: int, *, write: str) -> dict[str, Any]:
    """A Deployment whose template changes with `roll` (a rolling update per roll)."""
    labels = {"app": name}
    command = 'trap "exit 0" TERM; while :; do sleep 1; done'
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": "default", "annotations": {MARK: write}},
        "spec": {
            "replicas": replicas, "selector": {"matchLabels": labels},
            "strategy": {"rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
            "template": {"metadata": {"labels": labels},
                         "spec": {"terminationGracePeriodSeconds": 1,
                                  "containers": [{"name": "app", "image": "kafkube/busybox:1.0",
                                                  "command": ["sh", "-c", command],
                                                  "env": [{"name": "ROLL", "value": str(roll)}],
                                                  "resources": {"requests": {"cpu": "10m", "memory": "8Mi"}}}]}},
        },
    }


def configmap(name: str, *, write: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": "default", "annotations": {MARK: write}},
            "data": {"write": write}}


PLURALS = {"Deployment": "deployments", "ConfigMap": "configmaps"}


# -- acknowledged writes -----------------------------------------------------------------
@dataclass
class Ledger:
    """Writes sent to kafkube.manifests and the API's answers to them, read by a consumer
    that follows kafkube.events from the beginning (it rides out broker restarts)."""

    settings: Settings
    answers: dict[str, str] = field(default_factory=dict)  # request id -> reason
    sent: dict[str, tuple[str, str, str]] = field(default_factory=dict)  # request id -> (plural, key, mark)
    _task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> "Ledger":
        consumer = make_consumer(self.settings)
        await consumer.start()
        topic = Topics(self.settings.topic_prefix).events
        tps = [TopicPartition(topic, p) for p in sorted(await partitions_of(consumer, topic))]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        self._task = asyncio.create_task(self._follow(consumer))
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def _follow(self, consumer: Any) -> None:
        try:
            while True:
                for records in (await consumer.getmany(timeout_ms=300)).values():
                    for record in records:
                        self._note(record.value)
        finally:
            await consumer.stop()

    def _note(self, raw: bytes | None) -> None:
        if not raw:
            return
        event = orjson.loads(raw)
        annotations = (event.get("metadata") or {}).get("annotations") or {}
        rid = annotations.get(REQUEST_ID_ANNOTATION)
        if rid in self.sent and annotations.get(DOCUMENT_ANNOTATION, "0") == "0":
            self.answers.setdefault(rid, event.get("reason", ""))

    async def write(self, doc: dict[str, Any], *, wait_s: float | None = 120) -> str | None:
        """Publish one manifest; with `wait_s`, wait for its answer and return the reason
        (None if not answered in time: the write was never acknowledged)."""
        rid = uuid4().hex
        key = f"{doc['metadata'].get('namespace', 'default')}/{doc['metadata']['name']}"
        self.sent[rid] = (PLURALS[doc["kind"]], key, doc["metadata"]["annotations"][MARK])
        deadline = time.monotonic() + (wait_s or 120)
        while True:  # the broker may be away: send again (same request id) until it takes it
            try:
                await asyncio.wait_for(publish(self.settings, [orjson.dumps(doc)], request_ids=[rid], keys=[key]), 30)
                break
            except (KafkaError, OSError, asyncio.TimeoutError):
                if time.monotonic() > deadline:
                    return None
                await asyncio.sleep(1)
        if wait_s is None:
            return None
        while rid not in self.answers and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        return self.answers.get(rid)

    def acknowledged(self) -> dict[tuple[str, str], str]:
        """(plural, key) -> the mark of the latest acknowledged write of that object
        (writes to one key are sent one after another, each after the last was answered)."""
        latest: dict[tuple[str, str], str] = {}
        for rid, (plural, key, mark) in self.sent.items():  # dicts keep sending order
            if self.answers.get(rid) in ACKED:
                latest[(plural, key)] = mark
        return latest

    def rejected(self) -> dict[str, str]:
        return {rid: reason for rid, reason in self.answers.items() if reason not in ACKED}


# -- state snapshots -----------------------------------------------------------------------
async def read_topics(settings: Settings, topics: list[str]) -> dict[str, dict[str, Any]]:
    """The topics as the services see them: through the trust gate, so a record they
    refuse (a pod's old node reporting on the pod's earlier incarnation of that name)
    is not what the checks read either."""
    view: Informer[Any] = Informer(settings, topics, follow=False, trust=bus_trust(settings))
    async with view:
        await asyncio.wait_for(view.wait_synced(), 60)
        return {t: dict(view.items(t)) for t in topics}


@dataclass
class Snapshot:
    desired: dict[str, dict[str, Any]]  # plural -> key -> object
    observed_pods: dict[str, Any]
    containers: list[dict[str, str]]  # docker: id, state, and our labels

    @classmethod
    async def take(cls, settings: Settings, nodes: list[str], docker_host: str | None,
                   plurals: tuple[str, ...] = ("pods", "replicasets", "deployments", "configmaps")) -> "Snapshot":
        topics = Topics(settings.topic_prefix)
        names = [topics.desired(p) for p in plurals] + [topics.observed("pods")]
        read = await read_topics(settings, names)
        desired = {p: read[topics.desired(p)] for p in plurals}
        return cls(desired, read[topics.observed("pods")], containers_of(nodes, docker_host))


def containers_of(nodes: list[str], docker_host: str | None) -> list[dict[str, str]]:
    """Every container labelled with one of `nodes`, running or not."""
    found = []
    for node in nodes:
        out = docker(docker_host, "ps", "-a", "--no-trunc", "--filter", f"label={LABEL_NODE}={node}",
                     "--format", "{{.ID}}\t{{.State}}\t{{.Labels}}")
        for line in filter(None, out.splitlines()):
            cid, state, labels = (line.split("\t") + ["", ""])[:3]
            pairs = dict(item.split("=", 1) for item in labels.split(",") if "=" in item)
            found.append({"id": cid, "state": state, "node": pairs.get(LABEL_NODE, ""), "uid": pairs.get(LABEL_UID, ""),
                          "pod": pairs.get(LABEL_NAME, ""), "container": pairs.get(LABEL_CONTAINER, ""),
                          "role": pairs.get(LABEL_ROLE, "")})
    return found


def live(pod: dict[str, Any]) -> bool:
    return not pod["metadata"].get("deletionTimestamp")


def owner_of(pod: dict[str, Any]) -> str | None:
    refs = [r for r in pod["metadata"].get("ownerReferences") or [] if r.get("controller")]
    return f"{pod['metadata']['namespace']}/{refs[0]['name']}" if refs else None


def roll_of(obj: dict[str, Any]) -> str:
    env = obj["spec"]["containers"][0].get("env") or [] if "containers" in obj["spec"] else \
        obj["spec"]["template"]["spec"]["containers"][0].get("env") or []
    return next((e["value"] for e in env if e["name"] == "ROLL"), "")


# -- the checks ----------------------------------------------------------------------------
def problems(snap: Snapshot, ledger: Ledger, *, deployments: dict[str, int]) -> list[str]:
    """Every invariant that does not hold (yet) in `snap`; empty once converged.
    `deployments`: key -> replicas wanted."""
    return (lost_writes(snap, ledger) + pods_not_converged(snap, deployments)
            + container_problems(snap))


def lost_writes(snap: Snapshot, ledger: Ledger) -> list[str]:
    found = []
    for (plural, key), mark in ledger.acknowledged().items():
        obj = snap.desired[plural].get(key)
        got = obj and (obj["metadata"].get("annotations") or {}).get(MARK)
        if got != mark:
            found.append(f"acknowledged write lost: {plural}/{key} should carry write {mark}, has {got}")
    return found


def pods_not_converged(snap: Snapshot, deployments: dict[str, int]) -> list[str]:
    found = []
    pods = snap.desired["pods"]
    for key, replicas in deployments.items():
        dep = snap.desired["deployments"].get(key)
        if dep is None:
            found.append(f"deployment {key} missing")
            continue
        rses = {k for k, rs in snap.desired["replicasets"].items() if owner_of(rs) == key}
        mine = {k: p for k, p in pods.items() if owner_of(p) in rses}
        want = roll_of(dep)
        current = [k for k, p in mine.items() if live(p) and roll_of(p) == want]
        others = sorted(set(mine) - set(current))
        if len(current) != replicas or others:
            found.append(f"{key}: {len(current)}/{replicas} pods of roll {want}, others still there: {others}")
    for key, pod in pods.items():
        status = (snap.observed_pods.get(key) or {}).get("status") or {}
        ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or [])
        if live(pod) and (status.get("phase") != "Running" or not ready):
            found.append(f"pod {key} not Running and Ready: phase {status.get('phase')}, ready {ready}")
    return found


def container_problems(snap: Snapshot) -> list[str]:
    """No orphan container, no pod running twice, reported ids are Docker's."""
    found = []
    pods_by_uid = {p["metadata"]["uid"]: (k, p) for k, p in snap.desired["pods"].items()}
    running: dict[tuple[str, str], list[dict[str, str]]] = defaultdict(list)
    for c in snap.containers:
        owner = pods_by_uid.get(c["uid"])
        if owner is None:
            found.append(f"orphan container {c['id'][:12]} ({c['pod']}/{c['container']}, {c['state']}) on {c['node']}")
        elif owner[1]["spec"].get("nodeName") != c["node"]:
            found.append(f"container {c['id'][:12]} of {owner[0]} on {c['node']}, the pod is bound to "
                         f"{owner[1]['spec'].get('nodeName')}")
        if c["state"] == "running":
            running[(c["uid"], c["container"])].append(c)
    for (uid, name), copies in running.items():
        if len(copies) > 1:
            found.append(f"{len(copies)} running copies of {copies[0]['pod']}/{name} on {[c['node'] for c in copies]}")
    for key, pod in snap.desired["pods"].items():
        if not live(pod):
            continue
        uid = pod["metadata"]["uid"]
        if not running.get((uid, "POD")):
            found.append(f"pod {key} has no running sandbox")
        statuses = ((snap.observed_pods.get(key) or {}).get("status") or {}).get("containerStatuses") or []
        for spec in pod["spec"]["containers"]:
            copies = running.get((uid, spec["name"]), [])
            reported = next((s.get("containerID") for s in statuses if s.get("name") == spec["name"]), None)
            if len(copies) != 1:
                found.append(f"pod {key} container {spec['name']}: {len(copies)} running")
            elif reported != f"docker://{copies[0]['id']}":
                found.append(f"pod {key} container {spec['name']}: reports {reported}, Docker runs {copies[0]['id'][:12]}")
    return found


def summary(snap: Snapshot) -> str:
    """Positive evidence of what converged: pods per node and running containers."""
    per_node = Counter(p["spec"].get("nodeName") for p in snap.desired["pods"].values() if live(p))
    running = sum(1 for c in snap.containers if c["state"] == "running")
    return f"{sum(per_node.values())} pods Running on {dict(per_node)}, {running} containers running"


async def converge(settings: Settings, ledger: Ledger, *, nodes: list[str], deployments: dict[str, int],
                   what: str, since: float | None = None, timeout: float = 150,
                   docker_host: str | None = None) -> float:
    """Wait until every invariant holds; return and print the seconds it took from `since`
    (default: now). Fails with the problems still open at the deadline."""
    start = time.monotonic() if since is None else since
    deadline = time.monotonic() + timeout
    last: list[str] = []
    while True:
        try:
            snap = await Snapshot.take(settings, nodes, docker_host)
            last = problems(snap, ledger, deployments=deployments)
        except (asyncio.TimeoutError, RuntimeError, OSError, KafkaError) as exc:  # broker or engine still away
            last = [f"cannot read state yet: {exc.__class__.__name__}: {exc}"]
        if not last:
            took = time.monotonic() - start
            print(f"CONVERGED {what}: {took:.1f}s ({summary(snap)})")
            return took
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not converged after {timeout:.0f}s:\n  " + "\n  ".join(last[:20]))
        await asyncio.sleep(1.0)


# -- duplicate pods, sampled during the run -------------------------------------------------
@dataclass
class PodSampler:
    """Follows desired pods and ReplicaSets and samples, a few times a second, the live pods
    of each ReplicaSet and of each Deployment. Nothing is asserted here: the test body calls
    `assert_no_excess`. A ReplicaSet's bound at a sample is the largest `spec.replicas` in
    force from SETTLE_S before it to LAG_S after it: the two topics are read at their own
    pace (a pod can be seen before the scale-up that made it), and a controller back from
    a fault may act for a while on a spec older than the sampler's."""

    settings: Settings
    samples: list[tuple[float, str, int]] = field(default_factory=list)  # (t, rs key, live pods)
    bounds: list[tuple[float, str, int]] = field(default_factory=list)  # (t, rs key, spec.replicas)
    totals: Counter[str] = field(default_factory=Counter)  # deployment key -> most live pods seen
    LAG_S = 5.0
    SETTLE_S = 30.0
    _task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> "PodSampler":
        topics = Topics(self.settings.topic_prefix)
        self._pods, self._rs = topics.desired("pods"), topics.desired("replicasets")
        self._view: Informer[Any] = Informer(self.settings, [self._pods, self._rs], name="sampler")
        await self._view.start()
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        await self._view.stop()

    async def _run(self) -> None:
        seen_spec: dict[str, int] = {}
        while True:
            now = time.monotonic()
            counts: Counter[str] = Counter()
            for pod in self._view.items(self._pods).values():
                if live(pod) and (owner := owner_of(pod)):
                    counts[owner] += 1
            per_dep: Counter[str] = Counter()
            for key, rs in self._view.items(self._rs).items():
                replicas = rs["spec"].get("replicas", 1)
                if seen_spec.get(key) != replicas:
                    seen_spec[key] = replicas
                    self.bounds.append((now, key, replicas))
                self.samples.append((now, key, counts.get(key, 0)))
                if dep := owner_of(rs):
                    per_dep[dep] += counts.get(key, 0)
            for dep, total in per_dep.items():
                self.totals[dep] = max(self.totals[dep], total)
            await asyncio.sleep(0.25)

    def excess(self) -> list[str]:
        """A ReplicaSet's live pods growing past its bound: a pod created that was not asked
        for. A count above the bound that only shrinks is a scale-down under way (its pods
        deleted as the controller gets to them), not a duplicate."""
        found = []
        last: dict[str, int] = {}
        for t, key, count in self.samples:
            grew, last[key] = count > last.get(key, 0), count
            if grew and count > (bound := self.bound(key, t)):
                found.append(f"ReplicaSet {key} grew to {count} live pods, bound {bound}")
        return sorted(set(found))

    def bound(self, key: str, t: float) -> int:
        """The largest spec.replicas of ReplicaSet `key` in force from t - SETTLE_S to t + LAG_S."""
        start = t - self.SETTLE_S
        changes = [(bt, n) for bt, k, n in self.bounds if k == key]
        before = [n for bt, n in changes if bt <= start][-1:]  # in force at the window's start
        return max(before + [n for bt, n in changes if start < bt <= t + self.LAG_S], default=0)

    def assert_no_excess(self) -> None:
        assert self.samples, "the sampler saw nothing"
        over = self.excess()
        assert not over, "duplicate pods: " + "; ".join(over[:10])
