"""Time travel: every version of an object, and the cluster as it stood at an instant.

Desired state is a log: each version the API admitted is a record on
`kafkube.desired.<plural>` with headers saying who asked for it (principal, writer,
op, request id). Compaction spares versions younger than the history window
(`min.compaction.lag.ms`, `KAFKUBE_HISTORY_SECONDS`, one day by default), so
`kafkube history` lists them and `kafkube get --at` replays the topics up to an instant.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition

from schemas.records import PRINCIPAL_HEADER, WRITER_HEADER, header_value
from schemas.secret_fields import is_secret
from services.cli.client import Client
from services.cli.secret_view import is_value_path
from services.runtime.bus import make_consumer, partition_for, partitions_of

Obj = dict[str, Any]
_AGO = re.compile(r"^(\d+)([smhd])$")


@dataclass(frozen=True, slots=True)
class Version:
    offset: int
    time: datetime
    obj: Obj | None  # None: deleted
    reason: str
    principal: str
    writer: str


def parse_instant(text: str, now: datetime | None = None) -> datetime:
    """An ISO 8601 time (`2026-11-25T10:00:00Z`) or an age (`90s`, `10m`, `2h`, `1d` ago)."""
    now = now or datetime.now(timezone.utc)
    if match := _AGO.match(text.strip()):
        unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[match.group(2)]
        return now - timedelta(**{unit: int(match.group(1))})
    try:
        when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f'invalid time "{text}": use ISO 8601 (2026-11-25T10:00:00Z) or an age (90s, 10m, 2h, 1d)')
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def changes(before: Obj | None, after: Obj | None, *, limit: int = 4) -> str:
    """What changed between two versions, as dotted paths (`spec.replicas: 2 -> 3`); a
    Secret's values only by key (`data.password: changed`, `data.token: added`)."""
    if before is None or after is None:
        return ""
    old, new = _flat(_content(before)), _flat(_content(after))
    secret = is_secret(after.get("kind"))
    paths = sorted(set(old) | set(new), key=lambda p: (p not in new, p))
    shown = [_change(p, old, new, hide=secret and is_value_path(p)) for p in paths if old.get(p) != new.get(p)]
    return ", ".join(shown[:limit]) + (f" (+{len(shown) - limit} more)" if len(shown) > limit else "")


def _change(path: str, old: dict[str, Any], new: dict[str, Any], *, hide: bool) -> str:
    if not hide:
        return f"{path}: {_short(old.get(path))} -> {_short(new.get(path))}"
    return f"{path}: {'added' if path not in old else 'removed' if path not in new else 'changed'}"


def _content(obj: Obj) -> Obj:
    meta = {k: v for k, v in obj.get("metadata", {}).items()
            if k in ("labels", "annotations", "finalizers", "ownerReferences", "deletionTimestamp")}
    return {**{k: v for k, v in obj.items() if k != "metadata"}, "metadata": meta}


def _flat(value: Any, prefix: str = "") -> dict[str, Any]:
    """Leaves by dotted path; empty maps and lists count as absent."""
    if isinstance(value, (dict, list)) and not value:
        return {}
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            out |= _flat(item, f"{prefix}.{key}" if prefix else str(key))
        return out
    if isinstance(value, list):
        out = {}
        for index, item in enumerate(value):
            out |= _flat(item, f"{prefix}[{index}]")
        return out
    return {prefix: value}


def _short(value: Any) -> str:
    text = "<none>" if value is None else str(value)
    return text if len(text) <= 40 else text[:37] + "..."


async def versions(client: Client, topic: str, key: str) -> list[Version]:
    """Every version of one object still in the log, oldest first."""
    consumer = make_consumer(client.settings)
    await consumer.start()
    try:
        tp = TopicPartition(topic, partition_for(key, len(await partitions_of(consumer, topic))))
        consumer.assign([tp])
        await consumer.seek_to_beginning(tp)
        found: list[Version] = []
        for record in await _drain(consumer, {tp: (await consumer.end_offsets([tp]))[tp]}):
            if record.key is not None and record.key.decode() == key:
                found.append(_version(record))
        return found
    finally:
        await consumer.stop()


async def state_at(client: Client, topic: str, when: datetime) -> dict[str, Obj]:
    """A compacted topic replayed up to `when`: every key's latest value then."""
    consumer = make_consumer(client.settings)
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in sorted(await partitions_of(consumer, topic))]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        at = await consumer.offsets_for_times({tp: int(when.timestamp() * 1000) for tp in tps})
        stops = {tp: (at[tp].offset if at.get(tp) else ends[tp]) for tp in tps}
        state: dict[str, Obj] = {}
        for record in await _drain(consumer, stops):
            if record.key is None:
                continue
            if record.value is None:
                state.pop(record.key.decode(), None)
            else:
                state[record.key.decode()] = orjson.loads(record.value)
        return state
    finally:
        await consumer.stop()


async def _drain(consumer: AIOKafkaConsumer, stops: dict[TopicPartition, int]) -> list[Any]:
    """Records before each partition's stop offset (read_committed)."""
    records: list[Any] = []
    pending = {tp for tp, stop in stops.items() if stop > 0}
    idle = 0
    while pending and idle < 3:
        batch = await consumer.getmany(*pending, timeout_ms=300)
        idle = 0 if batch else idle + 1
        for tp, rs in batch.items():
            records += [r for r in rs if r.offset < stops[tp]]
        for tp in list(pending):
            if await consumer.position(tp) >= stops[tp]:
                pending.discard(tp)
    return records


def _version(record: Any) -> Version:
    headers = record.headers or ()
    obj = orjson.loads(record.value) if record.value is not None else None
    return Version(offset=record.offset, time=datetime.fromtimestamp(record.timestamp / 1000, timezone.utc),
                   obj=obj, reason=header_value(headers, "kafkube.reason") or ("Deleted" if obj is None else ""),
                   principal=header_value(headers, PRINCIPAL_HEADER) or "", writer=header_value(headers, WRITER_HEADER) or "")


def history_rows(found: list[Version]) -> list[list[str]]:
    """kubectl-style rows: REVISION, TIME, CHANGE, BY, GENERATION, WHAT CHANGED."""
    rows, previous = [], None
    for version in found:
        meta = (version.obj or {}).get("metadata", {})
        who = version.principal + (f" ({version.writer})" if version.writer else "")
        rows.append([meta.get("resourceVersion", "-"), version.time.strftime("%Y-%m-%dT%H:%M:%SZ"),
                     version.reason or "-", who or "-", str(meta.get("generation", "-")),
                     changes(previous, version.obj) or "-"])
        previous = version.obj
    return rows
