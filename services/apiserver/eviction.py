"""`pods/<name>/eviction` (POST a `policy/v1 Eviction`, JSON as kubectl drain sends it): authorised at the
door (RBAC `create pods/eviction`), then the pod is deleted as the caller with the
Eviction's `deleteOptions` (`services.apiserver.writes.delete_object`), so the API also
checks `delete pods` for them. Kafkube has no PodDisruptionBudgets, so every eviction is
allowed, as kube-apiserver allows one no budget covers: 201 with a `Status` Success.
Called by `services.apiserver.resources`."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from services.api.rbac import Attributes
from services.apiserver import writes
from services.apiserver.auth import Caller, Door
from services.apiserver.http import BadBody, error, json_body, json_response
from services.apiserver.paths import ResourcePath

Obj = dict[str, Any]


async def serve_eviction(request: web.Request, door: Door, writer: writes.Writer, path: ResourcePath,
                         caller: Caller) -> web.Response:
    """POST: the pod evicted (deleted), or the refusal as a Status."""
    if request.method != "POST":
        return error("MethodNotAllowed", "the server does not allow this method on the requested resource "
                     f"({request.method} pods/eviction)")
    attrs = Attributes("create", "", "pods", "eviction", path.namespace, path.name)
    if refusal := door.forbidden(caller, attrs):
        return error("Forbidden", refusal, name=path.name, kind="pods")
    try:
        body: Obj = await json_body(request)
    except BadBody as exc:
        return error(getattr(exc, "reason", "BadRequest"), str(exc))
    if (body.get("metadata") or {}).get("name") != path.name:
        return error("BadRequest", "name in URL does not match name in Eviction object")
    options = dict(body.get("deleteOptions") or {})
    if request.query.get("dryRun") == "All":
        options["dryRun"] = ["All"]
    deleted = await writes.delete_object(writer, path, caller, options)
    if deleted.status >= 400:
        return deleted
    return json_response({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201},
                         status=201)
