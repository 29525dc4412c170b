"""A pod's container output from `kafkube.logs`, for `kafkube logs` (services.cli.logs)
and the HTTP API's `pods/log` (services.apiserver.logs).

Log lines are keyed by pod key, so one pod's lines are all in one partition: read that
partition from the beginning (or follow it), keep this pod's container's lines."""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncGenerator
from typing import Any

import orjson
from aiokafka import TopicPartition

from services.runtime.bus import make_consumer, partition_for, partitions_of
from services.runtime.config import Settings


class LogsError(Exception):
    """The pod has no such container, or names none where it must: kubectl's wording."""


def pick_container(pod: dict[str, Any], container: str | None) -> str:
    """The container to show, as kubectl picks it (the only one, or the one named)."""
    names = [c["name"] for c in (pod.get("spec") or {}).get("containers") or []]
    names += [c["name"] for c in (pod.get("spec") or {}).get("initContainers") or []]
    if container:
        if container not in names:
            raise LogsError(f'container {container} is not valid for pod {pod["metadata"]["name"]}')
        return container
    if len(names) == 1 or (names and len((pod.get("spec") or {}).get("containers") or []) == 1):
        return names[0]
    raise LogsError(f"a container name must be specified for pod {pod['metadata']['name']}, "
                    f"choose one of: [{' '.join(names)}]")


def attempt_shown(pod: dict[str, Any], container: str, *, previous: bool) -> int | None:
    """Which run of the container to show, as the kubelet chooses: the current one (its
    status' restartCount; None, every run, while the pod has no status for it), or with
    `previous` the one before, which must exist (the kubelet's wording otherwise)."""
    status = pod.get("status") or {}
    found = [s for s in (status.get("containerStatuses") or []) + (status.get("initContainerStatuses") or [])
             if s.get("name") == container]
    restarts = int(found[0].get("restartCount") or 0) if found else None
    if not previous:
        return restarts
    if not restarts:
        raise LogsError(f'previous terminated container "{container}" in pod "{pod["metadata"]["name"]}" not found')
    return restarts - 1


async def pod_lines(settings: Settings, topic: str, pod_key: str, container: str, *, follow: bool,
                    tail: int | None, timestamps: bool = False, attempt: int | None = None) -> AsyncGenerator[str, None]:
    """The container's lines, oldest first (with `attempt`, of that run only); with `tail`,
    only the last N of what exists; with `timestamps`, each prefixed by its RFC 3339 time,
    as kubectl's `--timestamps`."""
    consumer = make_consumer(settings)
    await consumer.start()
    try:
        tp = TopicPartition(topic, partition_for(pod_key, len(await partitions_of(consumer, topic))))
        consumer.assign([tp])
        await consumer.seek_to_beginning(tp)
        end = (await consumer.end_offsets([tp]))[tp]
        backlog: deque[str] = deque(maxlen=tail if tail is not None and tail >= 0 else None)
        caught_up = False
        while True:
            batch = await consumer.getmany(tp, timeout_ms=300)
            lines = [line for r in batch.get(tp, [])
                     if (line := _line(r, pod_key, container, attempt, timestamps=timestamps)) is not None]
            if caught_up:
                for line in lines:
                    yield line
            else:
                backlog.extend(lines)
                if await consumer.position(tp) >= end or not batch:
                    caught_up = True
                    for line in backlog:
                        yield line
                    if not follow:
                        return
    finally:
        await consumer.stop()


def _line(record: Any, pod_key: str, container: str, attempt: int | None, *, timestamps: bool) -> str | None:
    if record.value is None or record.key is None or record.key.decode() != pod_key:
        return None
    try:
        value = orjson.loads(record.value)
    except orjson.JSONDecodeError:
        return None
    if value.get("container") != container or (attempt is not None and value.get("attempt", 0) != attempt):
        return None
    line = str(value.get("line", ""))
    return f"{value.get('timestamp', '')} {line}" if timestamps else line
