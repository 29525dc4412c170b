"""Kafkube's events as the HTTP API serves them: which records of `kafkube.events` are
Events for users (not the API's answers to requests, which are the request protocol's
transport), the `events.k8s.io/v1` shape of a core `v1` Event (upstream's
`Convert_core_Event_To_v1_Event`), and the field selectors kube-apiserver supports on
each (`ToSelectableFields` and the events.k8s.io label mapping), and their Table's
columns. Pure; used by
`services.apiserver.events`, `discovery`, `paths` and `selectors`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from schemas.core import Event
from schemas.printing import age
from schemas.records import REQUEST_ID_ANNOTATION
from schemas.registry import KindInfo

Obj = dict[str, Any]
EVENTS_GROUP = "events.k8s.io"
EVENTS_V1 = KindInfo("Event", EVENTS_GROUP, "v1", "events", "event", (), True, Event)
"""`events.k8s.io/v1 Event`: the same events as core `v1`, in the newer shape (not a kind
of `schemas.registry`: it has no topics of its own). No short name: `ev` stays the core
Event's, without kubectl's warning that it could also mean this one."""


def user_event(record: Obj) -> bool:
    """Is this `kafkube.events` record an Event users see? The API's answers to write
    requests (`kafkube.io/request-id`) are not: kube-apiserver records no event for a write."""
    meta = record.get("metadata") or {}
    return (record.get("kind") == "Event" and bool(meta.get("name")) and bool(meta.get("namespace"))
            and REQUEST_ID_ANNOTATION not in (meta.get("annotations") or {}))


def as_events_v1(event: Obj) -> Obj:
    """A core v1 Event in the `events.k8s.io/v1` shape."""
    renamed = {"involvedObject": "regarding", "message": "note", "source": "deprecatedSource",
               "firstTimestamp": "deprecatedFirstTimestamp", "lastTimestamp": "deprecatedLastTimestamp",
               "count": "deprecatedCount", "reportingComponent": "reportingController"}
    shaped = {renamed.get(k, k): v for k, v in event.items() if k not in ("apiVersion", "kind")}
    return {"apiVersion": f"{EVENTS_GROUP}/v1", "kind": "Event", **shaped}


def _at(*path: str) -> Callable[[Obj], str]:
    def get(obj: Obj) -> str:
        value: Any = obj
        for part in path:
            value = value.get(part) if isinstance(value, dict) else None
        return "" if value is None else str(value)
    return get


def _source(obj: Obj) -> str:
    return _at("source", "component")(obj) or _at("reportingComponent")(obj)


_REFERENCE = ("kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath")
CORE_EVENT_FIELDS: dict[str, Callable[[Obj], str]] = {
    **{f"involvedObject.{f}": _at("involvedObject", f) for f in _REFERENCE},
    "reason": _at("reason"), "reportingComponent": _at("reportingComponent"), "source": _source,
    "type": _at("type"), "metadata.name": _at("metadata", "name"), "metadata.namespace": _at("metadata", "namespace"),
}
"""The field labels of core v1 Events (upstream's `ToSelectableFields`)."""
EVENTS_V1_FIELDS: dict[str, Callable[[Obj], str]] = {
    **{f"regarding.{f}": _at("regarding", f) for f in _REFERENCE},
    "reason": _at("reason"), "reportingController": _at("reportingController"), "type": _at("type"),
    "metadata.name": _at("metadata", "name"), "metadata.namespace": _at("metadata", "namespace"),
}
"""The field labels of `events.k8s.io/v1` Events, on that shape."""


def event_fields(info: KindInfo) -> dict[str, Callable[[Obj], str]] | None:
    """The field labels of an Event kind; None for other kinds."""
    if info.kind != "Event":
        return None
    return EVENTS_V1_FIELDS if info.group == EVENTS_GROUP else CORE_EVENT_FIELDS


def _column(name: str, *, priority: int = 0) -> dict[str, Any]:
    return {"name": name, "type": "string", "format": "name" if name == "Name" else "", "description": "",
            "priority": priority}


EVENT_COLUMNS = [_column("Last Seen"), _column("Type"), _column("Reason"), _column("Object"),
                 _column("Subobject", priority=1), _column("Source", priority=1), _column("Message"),
                 _column("First Seen", priority=1), _column("Count", priority=1), _column("Name", priority=1)]
"""kube-apiserver's columns of an Event (`kubectl get events`; `-o wide` adds priority 1)."""


def event_row(event: Obj, now: datetime) -> list[str]:
    """The cells of one core v1 Event, in `EVENT_COLUMNS` order."""
    involved = event.get("involvedObject") or {}
    last = event.get("lastTimestamp") or event.get("eventTime")
    first = event.get("firstTimestamp") or event.get("eventTime")
    return [age(last, now), str(event.get("type") or ""), str(event.get("reason") or ""),
            f"{str(involved.get('kind') or '').lower()}/{involved.get('name') or ''}",
            str(involved.get("fieldPath") or ""), _source(event), str(event.get("message") or ""),
            age(first, now), str(event.get("count") or 1), str((event.get("metadata") or {}).get("name") or "")]
