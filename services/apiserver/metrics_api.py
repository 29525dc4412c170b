"""The resource metrics API (`metrics.k8s.io/v1beta1`), which `kubectl top` reads: the
kubelets' latest current samples of `kafkube.metrics` (`services.runtime.metrics_feed`,
followed), `nodes` and `pods` (namespaced or across namespaces), get and list with label
and field selectors over the objects' current labels (from the store, as metrics-server
takes them from its informers), as metrics-server serves them (no watch). Called by
`services.apiserver.resources` for every path of the group; RBAC is checked here, at the
door, as for other reads."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from aiohttp import web

from schemas.metrics import METRICS_API_VERSION, NodeMetrics, PodMetrics
from schemas.registry import KindInfo, lookup_kind
from services.api.rbac import Attributes
from services.apiserver import reads
from services.apiserver.auth import Caller, Door
from services.apiserver.http import error, json_response
from services.apiserver.paths import ResourcePath
from schemas.selectors import SelectorError
from services.apiserver.status import not_found
from services.apiserver.store import ObjectStore
from services.runtime.metrics_feed import LatestMetrics

Obj = dict[str, Any]


def _labelled(item: Obj, store: ObjectStore, objects: KindInfo) -> Obj:
    """The sample with its node's or pod's labels as they are now."""
    meta = item["metadata"]
    key = f"{meta['namespace']}/{meta['name']}" if objects.namespaced else meta["name"]
    labels = ((store.get(objects, key) or {}).get("metadata") or {}).get("labels")
    return {**item, "metadata": {**meta, "labels": labels}} if labels else item


async def serve_metrics(request: web.Request, door: Door, latest: LatestMetrics, store: ObjectStore,
                        path: ResourcePath, caller: Caller) -> web.Response:
    watching = request.query.get("watch") in ("1", "true")
    if request.method != "GET" or watching or path.subresource:
        return error("MethodNotAllowed", f"the server does not allow this method on the requested resource "
                     f"({'watch' if watching else request.method} {path.info.plural})")
    attrs = Attributes("get" if path.name else "list", path.info.group, path.info.plural, "", path.namespace, path.name)
    if refusal := door.forbidden(caller, attrs):
        return error("Forbidden", refusal, name=path.name, group=path.info.group, kind=path.info.plural)
    try:
        wanted = reads.predicate(request.query, path)
    except SelectorError as exc:
        return error("BadRequest", str(exc))
    now = datetime.now(timezone.utc)
    records: list[NodeMetrics] | list[PodMetrics] = (
        latest.pods(now, path.namespace) if path.info.namespaced else latest.nodes(now))
    objects = lookup_kind("v1", "Pod" if path.info.namespaced else "Node")
    items = [o for o in (_labelled(r.model_dump(mode="json", by_alias=True, exclude_none=True), store, objects)
                         for r in records) if wanted(o)]
    if not path.name:
        return json_response({"kind": f"{path.info.kind}List", "apiVersion": METRICS_API_VERSION,
                              "metadata": {}, "items": items})
    if not items:  # metrics-server's wording: `podmetrics.metrics.k8s.io "web" not found`
        status = not_found(path.info.kind.lower(), path.info.group, path.name)
        return json_response(status, status=404)
    return json_response(items[0])
