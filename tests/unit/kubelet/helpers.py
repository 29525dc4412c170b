"""Builders shared by the kubelet's unit tests: pods and container infos."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, Literal

from schemas.pod import Pod
from services.kubelet.runtime.base import INFRA_CONTAINER, ContainerInfo, PodRef, Role

T0 = datetime(2026, 1, 1, 12, 0, 0, tzinfo=timezone.utc)
UID = "u-1"
REF = PodRef(namespace="default", name="p", uid=UID)


def pod(*apps: str, inits: tuple[str, ...] = (), policy: str | None = None, deleting: bool = False,
        grace: int | None = None, **spec: Any) -> Pod:
    body: dict[str, Any] = {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "p", "namespace": "default", "uid": UID, "creationTimestamp": "2026-01-01T11:00:00Z"},
        "spec": {"nodeName": "n1", "containers": [{"name": n, "image": "img"} for n in apps or ("web",)],
                 **spec},
    }
    if inits:
        body["spec"]["initContainers"] = [{"name": n, "image": "img"} for n in inits]
    if policy:
        body["spec"]["restartPolicy"] = policy
    if deleting:
        body["metadata"] |= {"deletionTimestamp": "2026-01-01T12:00:00Z",
                             "deletionGracePeriodSeconds": 7 if grace is None else grace}
    return Pod.model_validate(body)


_ids = iter(range(1, 10**9))


State = Literal["created", "running", "exited", "unknown"]


def info(name: str, state: State = "running", *, attempt: int = 0, code: int | None = None,
         role: Role | None = None, started: datetime = T0, ran_s: float = 5, oom: bool = False,
         ip: str | None = None, uid: str = UID, id: str | None = None) -> ContainerInfo:
    kind: Role = role or ("infra" if name == INFRA_CONTAINER else "app")
    exited = state == "exited"
    return ContainerInfo(
        id=id or f"c{next(_ids)}", pod=PodRef(namespace="default", name="p", uid=uid), name=name,
        role=kind, image="img", state=state, exit_code=code if exited else None, oom_killed=oom,
        started_at=started, finished_at=started + timedelta(seconds=ran_s) if exited else None,
        attempt=attempt, ip=ip if ip or kind != "infra" else "10.0.0.5")


def sandbox(**kw: Any) -> ContainerInfo:
    return info(INFRA_CONTAINER, **kw)
