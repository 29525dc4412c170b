"""`kafkube describe`: an object in kubectl's describe layout, with its events."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import click
import orjson
import yaml
from aiokafka import TopicPartition

from schemas.registry import KindInfo
from schemas.secret_fields import LAST_APPLIED
from services.cli.client import Client
from services.cli.describe_pod import render_pod_body
from services.cli.printers import age, describe_service_lines, objects
from services.cli.secret_view import describe_secret
from services.runtime.bus import make_consumer, partition_for, partitions_of

EVENT_HEADERS = ["NAMESPACE", "LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
WIDTHS = (16, 10, 8, 20, 36)


def event_row(event: dict[str, Any], now: datetime | None = None) -> list[str]:
    inv = event.get("involvedObject") or {}
    when = event.get("lastTimestamp") or event.get("metadata", {}).get("creationTimestamp")
    return [event.get("metadata", {}).get("namespace", ""), age(when, now or datetime.now(timezone.utc)),
            event.get("type", ""), event.get("reason", ""),
            f"{str(inv.get('kind', '')).lower()}/{inv.get('name', '')}", event.get("message", "")]


def event_line(row: list[str], all_namespaces: bool) -> str:
    cells = row if all_namespaces else row[1:]
    widths = WIDTHS if all_namespaces else WIDTHS[1:]
    return "  ".join(c.ljust(w) for c, w in zip(cells, widths)) + "  " + cells[-1]


async def describe(client: Client, info: KindInfo, names: tuple[str, ...], namespace: str) -> int:
    await client.connect()
    shown = objects(*await client.snapshot(info.plural))
    endpoints = objects(*await client.snapshot("endpoints")) if info.kind == "Service" else {}
    code = 0
    for name in names or tuple(sorted(o["metadata"]["name"] for o in shown.values())):
        key = f"{namespace}/{name}" if info.namespaced else name
        if key not in shown:
            resource = f"{info.plural}.{info.group}" if info.group else info.plural
            click.echo(f'Error from server (NotFound): {resource} "{name}" not found', err=True)
            code = 1
            continue
        if info.kind == "Secret":  # kubectl's layout: key sizes, no values, no events
            click.echo(describe_secret(shown[key]))
            continue
        events = await object_events(client, key, info.kind)
        click.echo(render(shown[key], events, endpoints.get(key)))
    return code


def render(obj: dict[str, Any], events: list[dict[str, Any]], endpoints: dict[str, Any] | None = None) -> str:
    meta = obj["metadata"]
    lines = [f"Name:         {meta['name']}"]
    if meta.get("namespace"):
        lines.append(f"Namespace:    {meta['namespace']}")
    lines.append(f"Labels:       {_pairs(meta.get('labels'))}")
    shown_annotations = {k: v for k, v in (meta.get("annotations") or {}).items() if k != LAST_APPLIED}
    lines.append(f"Annotations:  {_pairs(shown_annotations)}")
    lines.append(f"CreationTimestamp:  {meta.get('creationTimestamp', '<unknown>')}")
    fields: tuple[str, ...] = ("spec", "data", "status")
    if obj.get("kind") == "Pod":
        lines += render_pod_body(obj)
        fields = ()
    elif obj.get("kind") == "Service":
        lines += describe_service_lines(obj, endpoints)
        fields = ()
    for field in fields:
        if obj.get(field):
            body = yaml.safe_dump(obj[field], sort_keys=False).rstrip().replace("\n", "\n  ")
            lines.append(f"{field.capitalize()}:\n  {body}")
    lines.append("Events:" + ("  <none>" if not events else ""))
    if events:
        now = datetime.now(timezone.utc)
        rows = [["Type", "Reason", "Age", "From", "Message"], ["----", "------", "----", "----", "-------"]]
        rows += [[e.get("type", ""), e.get("reason", ""),
                  age(e.get("lastTimestamp"), now), (e.get("source") or {}).get("component", ""),
                  e.get("message", "")] for e in events[-20:]]
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        lines += ["  " + "  ".join(r[i].ljust(widths[i]) for i in range(4)) + "  " + r[4] for r in rows]
    return "\n".join(lines) + "\n"


def _pairs(values: dict[str, str] | None) -> str:
    if not values:
        return "<none>"
    return "\n              ".join(f"{k}={v}" for k, v in sorted(values.items()))


async def object_events(client: Client, key: str, kind: str) -> list[dict[str, Any]]:
    """The object's events: all in one partition of the events topic (keyed by object)."""
    consumer = make_consumer(client.settings)
    await consumer.start()
    try:
        partitions = await partitions_of(consumer, client.topics.events)
        tp = TopicPartition(client.topics.events, partition_for(key, len(partitions)))
        consumer.assign([tp])
        await consumer.seek_to_beginning(tp)
        end = (await consumer.end_offsets([tp]))[tp]
        found: list[dict[str, Any]] = []
        while await consumer.position(tp) < end:
            batch = await consumer.getmany(tp, timeout_ms=500)
            if not batch:
                break
            found += [e for r in batch.get(tp, []) if (e := _decode(r.value, key, kind))]
        return found
    finally:
        await consumer.stop()


def _decode(raw: bytes | None, key: str, kind: str) -> dict[str, Any] | None:
    if raw is None:
        return None
    try:
        event = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    inv = event.get("involvedObject") or {}
    inv_key = f"{inv['namespace']}/{inv.get('name')}" if inv.get("namespace") else inv.get("name")
    return event if inv_key == key and inv.get("kind") == kind else None
