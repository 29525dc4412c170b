"""The API writer's CPU per pod, in process (no Kafka): what `bench.throughput` asks of it.

Each pod is a controller's CREATE (the ReplicaSet controller's body: the template, named
and owned, with the controller manager's token) and then the scheduler's BIND, decided by
the real `RequestPartition` with the real `AccessControl` (token file, the default RBAC
policy), Pod Security at the cluster default, audit records and signed desired records.
Batches of `--batch` records, as the transactional loop hands them over.

    .venv/bin/python -m bench.api_writer [--pods 5000] [--batch 100] [--repeat 3] [--profile FILE]
                                         [--without-security]

Prints the best of `--repeat` runs (CPU time of this process). `--profile FILE` writes a
cProfile of the last run (`python -m pstats FILE`). `--without-security` replaces Pod
Security (and the namespace's levels), RBAC (with NodeRestriction and escalation), the audit record and the desired
record's signature by no-ops, to measure what they cost: a measurement aid only, the API
has no such mode.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import time
from dataclasses import dataclass, field
from typing import Any

from schemas.auth import CONTROLLER_MANAGER_USER, SCHEDULER_USER, TOKEN_HEADER
from schemas.records import Op, WriteRequest
import services.api.decide as decide_module
from services.api.access import AccessControl
from services.api.authn import Authenticator, parse_token_file
from services.api.cluster_views import NamespaceFacts
from services.api.decide import Outcome
from services.api.pod_security import ADMITTED
from services.api.rbac import Policy, bootstrap_policy
from services.api.writer import Decided, RequestPartition
from services.runtime.bus import encode
from services.runtime.config import Settings
from services.runtime.logging import configure_logging
from services.runtime.signing import KeyRing
from services.runtime.topics import Topics
from services.runtime.trust import BusTrust

SETTINGS = Settings(bootstrap_servers="unused:9092", partitions=1, instance="bench")
TOPICS = Topics()
TOKENS = {"controllers": b"t-controllers", "scheduler": b"t-scheduler"}
OWNER = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "density-0-5d8f7c", "uid": "8b1c1c3e-rs",
         "controller": True, "blockOwnerDeletion": True}
TEMPLATE_SPEC = {"containers": [{"name": "c", "image": "kafkube/busybox:1.0",
                                 "resources": {"requests": {"cpu": "1m", "memory": "1Mi"}}}]}


@dataclass
class Record:
    value: bytes
    key: bytes
    offset: int
    headers: list[tuple[str, bytes]]
    partition: int = 0
    topic: str = "kafkube.requests"


class StaticPolicy:
    policy = Policy.of(bootstrap_policy())

    async def barrier(self) -> None:
        return None


@dataclass
class Views:
    """`default` exists (no Pod Security labels: the cluster default applies); so do the nodes."""

    nodes: set[str] = field(default_factory=lambda: {f"hollow-{i}" for i in range(100)})

    async def namespace(self, name: str) -> NamespaceFacts | None:
        return NamespaceFacts("Active", {}) if name == "default" else None

    async def namespace_phase(self, name: str) -> str | None:
        return "Active" if name == "default" else None

    async def node_exists(self, name: str) -> bool:
        return name in self.nodes


def writer() -> RequestPartition:
    tokens = parse_token_file(f"{TOKENS['controllers'].decode()},{CONTROLLER_MANAGER_USER},1\n"
                              f"{TOKENS['scheduler'].decode()},{SCHEDULER_USER},2\n")
    access = AccessControl(Authenticator(tokens), StaticPolicy())
    part = RequestPartition(SETTINGS, TOPICS, Views(), access, 0,  # type: ignore[arg-type]
                            trust=BusTrust(TOPICS.prefix, KeyRing.generate()))
    part._state = {}
    return part


def records(pods: int) -> list[Record]:
    """Every pod's CREATE, then every pod's BIND (at the resourceVersion the CREATE gets)."""
    out: list[Record] = []
    for i in range(pods):
        name = f"density-0-5d8f7c-{i:05d}"
        body = {"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": name, "namespace": "default", "labels": {"app": "density-0"},
                             "ownerReferences": [OWNER]},
                "spec": TEMPLATE_SPEC}
        request = WriteRequest(op=Op.CREATE, apiVersion="v1", kind="Pod", namespace="default", name=name,
                               body=body, writer="replicaset", principal="system:controller:replicaset",
                               reply=False)
        out.append(Record(encode(request) or b"", request.key.encode(), i,
                          [(TOKEN_HEADER, TOKENS["controllers"])]))
    for i in range(pods):
        name = f"density-0-5d8f7c-{i:05d}"
        request = WriteRequest(op=Op.BIND, apiVersion="v1", kind="Pod", namespace="default", name=name,
                               nodeName=f"hollow-{i % 100}", expectedResourceVersion=str(i), writer="scheduler",
                               principal=SCHEDULER_USER, reply=False)
        out.append(Record(encode(request) or b"", request.key.encode(), pods + i,
                          [(TOKEN_HEADER, TOKENS["scheduler"])]))
    return out


def without_security() -> None:
    """No Pod Security verdict, no authorisation, no audit record, no signature."""
    async def allow(*_args: Any) -> Outcome | None:
        return None

    setattr(RequestPartition, "_pod_security", allow)  # no namespace levels looked up
    setattr(decide_module, "check_pod_security", lambda *_args, **_kw: ADMITTED)
    setattr(AccessControl, "authorize", allow)
    setattr(Decided, "audit", lambda _self, _outcome: None)  # encoded as an empty record
    setattr(BusTrust, "sign_desired", lambda _self, _topic, _key, _value, headers=(): tuple(headers))


async def run(part: RequestPartition, batch: list[Record], size: int) -> None:
    for start in range(0, len(batch), size):
        await part.process(batch[start:start + size])
        part.committed()

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, default=5000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--profile", help="write a cProfile of the last run here")
    parser.add_argument("--without-security", action="store_true")
    args = parser.parse_args()
    configure_logging(service="api")  # as `kafkube serve api`: INFO
    if args.without_security:
        without_security()
    best = float("inf")
    for attempt in range(args.repeat):
        batch, part = records(args.pods), writer()
        profiler = cProfile.Profile() if args.profile and attempt == args.repeat - 1 else None
        start = time.process_time()
        if profiler:
            profiler.enable()
        asyncio.run(run(part, batch, args.batch))
        if profiler:
            profiler.disable()
            profiler.dump_stats(args.profile)
        best = min(best, time.process_time() - start)
        stored = sum(len(s) for s in part._state.values())
        assert stored == args.pods, f"{stored} pods stored of {args.pods}"
    print(f"{args.pods} pods (create + bind){' without security' if args.without_security else ''}: "
          f"best of {args.repeat} {best:.2f} s CPU, {best / args.pods * 1e6:.0f} µs per pod")

if __name__ == "__main__":
    main()
