"""`deletecollection`: DELETE on a collection (`kubectl delete --all` deletes one by one; the
client libraries' `delete_collection_*` and operators call this). RBAC's `deletecollection`
is checked at the door, as kube-apiserver does; then every object the selectors choose is
deleted as the caller, each one a DELETE request the API decides and audits (so RBAC's
`delete` applies per object too), at most `PARALLEL` at a time. Answers a `Status` Success
once all are deleted or terminating, else the first refusal. Called by
`services.apiserver.resources`."""

from __future__ import annotations

import asyncio

from aiohttp import web

from services.api.rbac_policy import Attributes
from services.apiserver.auth import Caller, Door
from services.apiserver.http import error, json_response
from services.apiserver.paths import ResourcePath
from services.apiserver.reads import predicate
from schemas.selectors import SelectorError
from services.apiserver.writes import Writer, delete_object, delete_options

PARALLEL = 16


async def delete_collection(request: web.Request, door: Door, writer: Writer, path: ResourcePath,
                            caller: Caller) -> web.Response:
    info = path.info
    attrs = Attributes("deletecollection", info.group, info.plural, "", path.namespace, "")
    if refusal := door.forbidden(caller, attrs):
        return error("Forbidden", refusal, group=info.group, kind=info.plural)
    try:
        wanted = predicate(request.query, path)
    except SelectorError as exc:
        return error("BadRequest", str(exc))
    options = await delete_options(request)
    chosen = [ResourcePath(info, (o["metadata"].get("namespace") or "") if info.namespaced else "",
                           o["metadata"]["name"]) for o in writer.store.objects(info, path.namespace) if wanted(o)]
    gate = asyncio.Semaphore(PARALLEL)

    async def delete_one(one: ResourcePath) -> web.Response:
        async with gate:
            return await delete_object(writer, one, caller, options)

    answers = await asyncio.gather(*(delete_one(one) for one in chosen))
    refused = next((a for a in answers if a.status >= 400 and a.status != 404), None)  # 404: gone meanwhile
    return refused or json_response({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                                     "details": {"kind": info.plural, **({"group": info.group} if info.group else {})}})
