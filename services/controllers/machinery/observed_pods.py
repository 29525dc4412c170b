"""What the controllers keep of an observed pod record, applied as their informer decodes.

A kubelet's record carries far more than any controller reads: addresses, the QoS class,
each container's image, ids, readiness and running state. The controllers read only the
phase, the conditions, the start time and, of each container, its name, restart count
and terminated state (exit code, finish time: the Job controller's failure policy and
finish time); the record's writer, `observedAt` and metadata are kept whole. Every other
field is dropped as the record is decoded, so the process holds ~2 KB less per pod
(docs/benchmarks.md, section 5). Pure; records that are not objects are kept as they are.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from services.runtime.informer import viewing_decoder
from services.runtime.topics import Topics

RECORD_FIELDS = ("apiVersion", "kind", "metadata", "writer", "observedAt")
STATUS_FIELDS = ("phase", "conditions", "startTime")
CONTAINER_FIELDS = ("name", "restartCount")


def observed_pod_view(record: Any) -> Any:
    """The slim copy of one observed pod record (see the module's docstring)."""
    if not isinstance(record, dict) or not isinstance(status := record.get("status"), dict):
        return record
    view = {field: record[field] for field in RECORD_FIELDS if field in record}
    slim = {field: status[field] for field in STATUS_FIELDS if field in status}
    containers = status.get("containerStatuses")
    if containers is not None:
        slim["containerStatuses"] = ([_container_view(c) for c in containers]
                                     if isinstance(containers, list) else containers)
    view["status"] = slim
    return view


def _container_view(container: Any) -> Any:
    if not isinstance(container, dict):
        return container
    view = {field: container[field] for field in CONTAINER_FIELDS if field in container}
    state = container.get("state")
    if isinstance(state, dict) and "terminated" in state:
        view["state"] = {"terminated": state["terminated"]}
    return view


def controllers_decoder(topics: Topics) -> Callable[[str, bytes], Any]:
    """The informer decoder of a controller process: observed pods slimmed, every other
    topic's records decoded whole."""
    return viewing_decoder(topics.observed("pods"), observed_pod_view)
