"""The `scale` subresource of Deployments, ReplicaSets and ReplicationControllers
(`kubectl scale`): GET answers an `autoscaling/v1 Scale`; PUT, and a merge or strategic
patch, that set `spec.replicas` become a merge patch of the object's `spec.replicas`
through the API, recorded in managedFields as its field manager's update of the `scale`
subresource (`kubectl-scale`). Called by `services.apiserver.resources`."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from schemas.printing import selector_text
from services.apiserver.auth import Caller
from services.apiserver.discovery import SCALABLE
from services.apiserver.http import BadBody, error, json_body, json_response
from services.apiserver.paths import ResourcePath
from services.apiserver.reads import key_of
from services.apiserver.status import not_found
from services.apiserver.write_options import write_options
from services.apiserver.writes import MERGE_PATCH, STRATEGIC_PATCH, Writer, merge_patch_request

__all__ = ["SCALABLE", "scale_of", "serve_scale"]


def scale_of(obj: dict[str, Any]) -> dict[str, Any]:
    """An object's `Scale`, as upstream's scale subresource shows it. Pure."""
    meta, spec, status = obj.get("metadata") or {}, obj.get("spec") or {}, obj.get("status") or {}
    shown = {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp") if k in meta}
    return {"kind": "Scale", "apiVersion": "autoscaling/v1", "metadata": shown,
            "spec": {"replicas": spec.get("replicas", 1)},
            "status": {"replicas": status.get("replicas", 0), "selector": selector_text(spec.get("selector"))}}


async def serve_scale(request: web.Request, writer: Writer, path: ResourcePath, caller: Caller) -> web.Response:
    if request.method == "GET":
        obj = writer.store.get(path.info, key_of(path))
        return json_response(scale_of(obj)) if obj else \
            json_response(not_found(path.info.plural, path.info.group, path.name), status=404)
    if request.method == "PATCH" and request.content_type not in (MERGE_PATCH, STRATEGIC_PATCH):
        return error("UnsupportedMediaType", "the scale subresource takes a merge or strategic merge patch")
    if request.method not in ("PUT", "PATCH"):
        return error("MethodNotAllowed", f"the server does not allow this method on the requested resource "
                     f"({request.method} {path.info.plural}/scale)")
    try:
        options = write_options(request.query, request.headers.get("User-Agent", ""),
                                "Patch" if request.method == "PATCH" else "Update")
        replicas = ((await json_body(request)).get("spec") or {}).get("replicas")
    except BadBody as exc:
        return error(exc.reason, str(exc))
    if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
        return error("Invalid", f"Scale.autoscaling \"{path.name}\" is invalid: spec.replicas: Invalid value: "
                     f"{replicas!r}: must be greater than or equal to 0")
    response = await merge_patch_request(writer, path, caller, {"spec": {"replicas": replicas}}, options)
    if response.status != 200:
        return response
    obj = writer.store.get(path.info, key_of(path))
    return json_response(scale_of(obj)) if obj else response
