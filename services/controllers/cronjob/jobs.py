"""A Job as the CronJob controller sees it: the desired Job (name, uid, creation,
deletion) joined with its observed status (finished condition, start and completion
times). Pure; built by `cronjob.service` for `cronjob.reconcile`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.controllers.machinery.podview import parse_time


@dataclass(frozen=True, slots=True)
class OwnedJob:
    name: str
    uid: str
    created: datetime | None = None
    deleting: bool = False
    finished: str | None = None  # "Complete" or "Failed" once a condition says so
    start_time: datetime | None = None
    completion_time: datetime | None = None


def owned_job(job: Mapping[str, Any], observed: Mapping[str, Any] | None) -> OwnedJob:
    meta = job.get("metadata") or {}
    uid = meta.get("uid") or ""
    status: Mapping[str, Any] = {}
    if observed and (observed.get("metadata") or {}).get("uid") in (None, uid):
        status = observed.get("status") or {}
    finished = next((str(c["type"]) for c in status.get("conditions") or ()
                     if c.get("type") in ("Complete", "Failed") and c.get("status") == "True"), None)
    return OwnedJob(name=meta.get("name", ""), uid=uid, created=parse_time(meta.get("creationTimestamp")),
                    deleting=bool(meta.get("deletionTimestamp")), finished=finished,
                    start_time=parse_time(status.get("startTime")),
                    completion_time=parse_time(status.get("completionTime")))
