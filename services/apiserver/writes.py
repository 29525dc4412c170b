"""POST, PUT, PATCH and DELETE: each becomes one `WriteRequest` on `kafkube.requests`
with the caller's token (`services.apiserver.answers`); the API decides it (authn, RBAC,
admission, optimistic concurrency) and its answer becomes the HTTP response: on success
the object as the store holds it once it holds the version the API answered with (the
client reads its own write; a delete, with no version to wait for, after a read barrier),
on a rejection the `Status` of the API's reason. Merge patches go to the API as they are
(its PATCH is RFC 7386); JSON and strategic merge patches are applied here to the stored
object and sent as an UPDATE that expects its resourceVersion, retried on a Conflict.
A Secret's values leave sealed for the API and come back opened for the caller
(`services.apiserver.secrets`); every patch of a Secret is applied here, to it in clear.
Called by `services.apiserver.resources`."""

from __future__ import annotations

import functools
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import orjson
import yaml
from aiohttp import web

from schemas.records import DRY_RUN_ANNOTATION, Op, WriteRequest
from services.api.merge_patch import merge_patch
from services.apiserver.answers import Answer, Requests
from services.apiserver.apply import ApplyConflict, applied, updated
from services.apiserver.auth import Caller
from services.apiserver import conversion, protobuf
from services.apiserver.http import PROTOBUF, BadBody, error, json_body, json_response
from services.apiserver.jsonpatch import PatchError, json_patch
from services.apiserver.paths import ResourcePath
from services.apiserver.protobuf import ProtobufError
from services.apiserver.protobuf_typed import TYPED, typed_object
from services.apiserver.reads import key_of
from services.apiserver.secrets import SecretValues, SecretValuesError
from services.apiserver.smp import StrategicPatchError, strategic_merge
from services.apiserver.status import failure, not_found, success
from services.apiserver.store import ObjectStore
from services.apiserver.versions import own_version
from services.apiserver.write_options import Verb, WriteOptions, write_options

Obj = dict[str, Any]
MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
STRATEGIC_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"
PATCH_RETRIES = 3
_NAME_CHARS = "bcdfghjklmnpqrstvwxz2456789"  # upstream's SimpleNameGenerator alphabet


@dataclass(frozen=True)
class Writer:
    """What a write needs: the store to answer from, the requests to send."""

    store: ObjectStore
    requests: Requests
    secrets: SecretValues


def generated_name(prefix: str) -> str:
    return prefix + "".join(secrets.choice(_NAME_CHARS) for _ in range(5))


def prepared_body(body: Obj, path: ResourcePath, *, name: str | None = None) -> Obj:
    """The body with its namespace and name as the path says, or BadBody (upstream's wording)."""
    meta = dict(body.get("metadata") or {})
    if path.info.namespaced:
        if meta.get("namespace") and meta["namespace"] != path.namespace:
            raise BadBody("the namespace of the provided object does not match the namespace sent on the request")
        meta["namespace"] = path.namespace
    if name is not None and meta.get("name") and meta["name"] != name:
        raise BadBody(f"the name of the object ({meta['name']}) does not match the name on the URL ({name})")
    if not meta.get("name") and name:
        meta["name"] = name
    if (own := own_version(meta.pop("resourceVersion", None))) is not None:
        meta["resourceVersion"] = own  # the API's own version, out of the position a client was given
    if not meta.get("name") and meta.get("generateName"):
        meta["name"] = generated_name(str(meta["generateName"]))
    if body.get("kind", path.info.kind) != path.info.kind:
        raise BadBody(f"the kind of the object ({body.get('kind')}) does not match the URL ({path.info.kind})")
    prepared = {k: v for k, v in body.items() if k != "status"}  # status is observed, never written here
    return {**prepared, "apiVersion": path.info.api_version, "kind": path.info.kind, "metadata": meta}


PROTOBUF_BODIES: dict[tuple[str, str], Callable[[bytes], Obj]] = {
    ("v1", "Secret"): protobuf.secret, ("autoscaling/v1", "HorizontalPodAutoscaler"): protobuf.hpa_v1,
    **{typed: functools.partial(typed_object, api_version=typed[0], kind=typed[1]) for typed in TYPED}}


async def _body(request: web.Request, path: ResourcePath) -> Obj:
    """A create or replace body: JSON, or in protobuf a Secret, an autoscaling/v1 HPA, a
    batch/v1 Job or CronJob (client-go's typed clients send them: `kubectl create secret`,
    Helm's releases, `kubectl autoscale`, `kubectl create job|cronjob`)."""
    asked = path.served or path.info
    if request.content_type == PROTOBUF and (read := PROTOBUF_BODIES.get((asked.api_version, asked.kind))):
        try:
            return conversion.intake(path, read(await request.read()))
        except ProtobufError as exc:
            raise BadBody(f"the protobuf body cannot be read: {exc}") from None
    return conversion.intake(path, await json_body(request))


async def _outgoing(writer: Writer, path: ResourcePath, caller: Caller, body: Obj) -> Obj:
    """The body as it may cross `kafkube.requests`: a Secret's values sealed for the API."""
    return await writer.secrets.sealed(body, caller) if path.info.kind == "Secret" else body


async def _answer_object(writer: Writer, path: ResourcePath, caller: Caller, obj: Obj) -> Obj:
    """The stored object to answer with: a Secret's values opened for the caller."""
    return (await writer.secrets.shown([obj], caller))[0] if path.info.kind == "Secret" else obj


def _request(op: Op, path: ResourcePath, caller: Caller, *, name: str, body: Obj | None = None,
             expected: str | None = None, **options: Any) -> WriteRequest:
    return WriteRequest(op=op, apiVersion=path.info.api_version, kind=path.info.kind,
                        namespace=path.namespace or None, name=name, body=body, expectedResourceVersion=expected,
                        principal=caller.user.name, writer="apiserver", **options)


def _refusal(answer: Answer | None, path: ResourcePath, name: str) -> web.Response | None:
    if answer is None:
        return error("Timeout", "the server was unable to return a response in the time allotted, "
                     "but may still be processing the request")
    if not answer.rejected:
        return None
    status = failure(answer.status_reason or "BadRequest", answer.message, name=name, group=path.info.group,
                     kind=path.info.plural)
    return json_response(status, status=status["code"])


async def _answered(writer: Writer, request: WriteRequest, caller: Caller, path: ResourcePath,
                    *, created: bool = False) -> web.Response:
    answer = await writer.requests.send(request, caller=caller)
    if (refusal := _refusal(answer, path, request.name)) is not None:
        return refusal
    if request.dry_run and answer is not None:
        return _dry_run_answer(writer, answer, path, request.name, created=created)
    await writer.store.written(path.info, key_of(path, request.name), answer.resource_version if answer else None)
    obj = writer.store.get(path.info, key_of(path, request.name))
    if obj is None:
        return json_response(not_found(path.info.plural, path.info.group, request.name), status=404)
    obj = await _answer_object(writer, path, caller, obj)
    return json_response(obj, status=201 if created and answer and answer.reason == "Created" else 200)


def _dry_run_answer(writer: Writer, answer: Answer, path: ResourcePath, name: str,
                     *, created: bool = False) -> web.Response:
    """The object a dry run would have stored (it keeps the resourceVersion it is shown with
    now: nothing was bumped; a Secret without its values), or, when it would be gone, a
    delete's Success."""
    obj = _dry_run_object(answer)
    if obj is None:
        return json_response(success(name=name, group=path.info.group, kind=path.info.plural, uid=answer.uid))
    shown = writer.store.get(path.info, key_of(path, name))
    meta = {k: v for k, v in obj["metadata"].items() if k != "resourceVersion"}
    if shown is not None:
        meta["resourceVersion"] = shown["metadata"]["resourceVersion"]
    return json_response({**obj, "metadata": meta}, status=201 if created and answer.reason == "Created" else 200)


def _dry_run_object(answer: Answer) -> Obj | None:
    raw = ((answer.event.get("metadata") or {}).get("annotations") or {}).get(DRY_RUN_ANNOTATION)
    return orjson.loads(raw) if raw else None


def _options(request: web.Request, verb: Verb, *, applying: bool = False) -> WriteOptions:
    return write_options(request.query, request.headers.get("User-Agent", ""), verb, applying=applying)


def _tracked(current: Obj | None, new: Obj, path: ResourcePath, options: WriteOptions) -> Obj:
    """`new` with the managedFields of an update by the request's field manager."""
    return updated(current, new, manager=options.field_manager, api_version=path.info.api_version, now=_now(),
                   subresource=path.subresource or "")


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


async def create(request: web.Request, writer: Writer, path: ResourcePath, caller: Caller) -> web.Response:
    try:
        options = _options(request, "Create")
        body = _tracked(None, prepared_body(await _body(request, path), path), path, options)
        body = await _outgoing(writer, path, caller, body)
    except (BadBody, SecretValuesError) as exc:
        return error(exc.reason, str(exc))
    name = body["metadata"].get("name")
    if not name:
        return error("Invalid", f"{path.info.kind} is invalid: metadata.name: Required value: name or "
                     "generateName is required")
    return await _answered(writer, _request(Op.CREATE, path, caller, name=name, body=body, dryRun=options.dry_run),
                           caller, path, created=True)


async def update(request: web.Request, writer: Writer, path: ResourcePath, caller: Caller) -> web.Response:
    try:
        options = _options(request, "Update")
        body = prepared_body(await _body(request, path), path, name=path.name)
        body = await _outgoing(writer, path, caller,
                               _tracked(writer.store.desired(path.info, key_of(path)), body, path, options))
    except (BadBody, SecretValuesError) as exc:
        return error(exc.reason, str(exc))
    expected = own_version(body["metadata"].get("resourceVersion"))
    return await _answered(writer, _request(Op.UPDATE, path, caller, name=path.name, body=body, expected=expected,
                                            dryRun=options.dry_run), caller, path)


def _patcher(content_type: str, patch: Any, *, here: bool) -> Callable[[Obj], Obj] | None:
    """How to apply a patch here; None: a merge patch, sent to the API (but a Secret's, which
    the API would receive in clear, and one written at a version the store does not keep, are
    merged here)."""
    if content_type == MERGE_PATCH and here:
        return lambda current: merge_patch(current, patch)  # type: ignore[no-any-return]
    if content_type == JSON_PATCH:
        return lambda current: json_patch(current, patch)
    if content_type == STRATEGIC_PATCH:
        return lambda current: strategic_merge(current, patch)
    return None


async def patch(request: web.Request, writer: Writer, path: ResourcePath, caller: Caller) -> web.Response:
    content_type = request.content_type
    if content_type not in (MERGE_PATCH, JSON_PATCH, STRATEGIC_PATCH, APPLY_PATCH):
        return error("UnsupportedMediaType", f"the body of the request was in an unknown format - accepted media "
                     f"types include: {JSON_PATCH}, {MERGE_PATCH}, {APPLY_PATCH}, {STRATEGIC_PATCH}")
    try:
        options = _options(request, "Patch", applying=content_type == APPLY_PATCH)
        if content_type == APPLY_PATCH:
            return await _server_side_apply(writer, path, caller, await _yaml_body(request), options)
        body = await json_body(request, kind=list if content_type == JSON_PATCH else dict)
    except BadBody as exc:
        return error(exc.reason, str(exc))
    apply = _patcher(content_type, body, here=path.info.kind == "Secret" or path.served is not None)
    if apply is None:  # a merge patch: the API applies it to what it stores
        return await merge_patch_request(writer, path, caller, body, options)
    return await _patched_update(writer, path, caller, _tracking(conversion.patched(path, apply), path, options),
                                 options)


def _tracking(apply: Callable[[Obj], Obj], path: ResourcePath, options: WriteOptions) -> Callable[[Obj], Obj]:
    """The patch, and the update it makes recorded in managedFields."""
    def tracked(current: Obj) -> Obj:
        new = apply(current)
        return _tracked(current, new, path, options) if isinstance(new, dict) else new
    return tracked


async def _yaml_body(request: web.Request) -> Obj:
    """An apply patch's body: one YAML (or JSON) object."""
    try:
        body = yaml.safe_load(await request.read())
    except yaml.YAMLError as exc:
        raise BadBody(f"error decoding YAML: {exc}") from exc
    if not isinstance(body, dict):
        raise BadBody("the body of an apply patch must be an object")
    return body


async def _server_side_apply(writer: Writer, path: ResourcePath, caller: Caller, config: Obj,
                             options: WriteOptions) -> web.Response:
    """An apply patch (`services.apiserver.apply`): an update of the stored object, or its creation."""
    now, config = _now(), prepared_body(config, path, name=path.name)

    def apply_here(current: Obj | None) -> Obj:
        return applied(current, config, manager=options.field_manager, api_version=path.info.api_version,
                       now=now, force=options.force)
    apply = conversion.patched(path, apply_here)  # the config is at the version asked
    if writer.store.desired(path.info, key_of(path)) is not None:
        return await _patched_update(writer, path, caller, apply, options)
    try:
        body = await _outgoing(writer, path, caller, apply(None))
    except SecretValuesError as exc:
        return error(exc.reason, str(exc))
    return await _answered(writer, _request(Op.CREATE, path, caller, name=path.name, body=body,
                                            dryRun=options.dry_run), caller, path, created=True)


def _apply_conflict(exc: ApplyConflict) -> web.Response:
    """Upstream's 409 of an apply: the conflicting managers' fields as its causes."""
    status = failure("Conflict", exc.message)
    return json_response({**status, "details": {"causes": exc.causes}}, status=409)


async def merge_patch_request(writer: Writer, path: ResourcePath, caller: Caller, body: Obj,
                              options: WriteOptions) -> web.Response:
    """A merge patch (without status) as the API's PATCH, at the resourceVersion it names if any;
    with the managedFields it gives the stored object (as this replica holds it)."""
    merge = _with_managed_fields(writer.store.desired(path.info, key_of(path)),
                                 {k: v for k, v in body.items() if k != "status"}, path, options)
    expected = own_version((merge.get("metadata") or {}).get("resourceVersion"))
    if isinstance(merge.get("metadata"), dict) and "resourceVersion" in merge["metadata"]:
        merge["metadata"] = {**merge["metadata"], "resourceVersion": expected}
    return await _answered(writer, _request(Op.PATCH, path, caller, name=path.name, body=merge, expected=expected,
                                            dryRun=options.dry_run), caller, path)


def _with_managed_fields(current: Obj | None, merge: Obj, path: ResourcePath, options: WriteOptions) -> Obj:
    if current is None or not isinstance(merged := merge_patch(current, merge), dict):
        return merge
    managed = (_tracked(current, merged, path, options).get("metadata") or {}).get("managedFields")
    if managed is None or managed == current["metadata"].get("managedFields"):
        return merge
    return {**merge, "metadata": {**(merge.get("metadata") or {}), "managedFields": managed}}


async def _patched_update(writer: Writer, path: ResourcePath, caller: Caller,
                          apply: Callable[[Obj], Obj], options: WriteOptions) -> web.Response:
    """Apply a patch to the stored object and UPDATE at its resourceVersion; a Conflict
    (someone wrote in between) reads again and retries, as kube-apiserver's patcher does."""
    for attempt in range(PATCH_RETRIES):
        current = writer.store.desired(path.info, key_of(path))
        if current is None:
            return json_response(not_found(path.info.plural, path.info.group, path.name), status=404)
        try:
            new = apply(current if path.info.kind != "Secret" else await writer.secrets.in_clear(current, caller))
        except (PatchError, StrategicPatchError) as exc:
            return error("Invalid", f"the patch does not apply: {exc}", name=path.name, group=path.info.group,
                         kind=path.info.plural)
        except SecretValuesError as exc:
            return error(exc.reason, str(exc), name=path.name, kind=path.info.plural)
        except ApplyConflict as exc:
            return _apply_conflict(exc)
        if not isinstance(new, dict):
            return error("Invalid", "the patch does not leave an object")
        try:
            new = await _outgoing(writer, path, caller, {k: v for k, v in new.items() if k != "status"})
        except SecretValuesError as exc:
            return error(exc.reason, str(exc), name=path.name, kind=path.info.plural)
        expected = str((current.get("metadata") or {}).get("resourceVersion") or "") or None
        request = _request(Op.UPDATE, path, caller, name=path.name, body=new, expected=expected,
                           dryRun=options.dry_run)
        answer = await writer.requests.send(request, caller=caller)
        if answer is not None and answer.status_reason == "Conflict" and attempt < PATCH_RETRIES - 1:
            await writer.store.barrier()
            continue
        if (refusal := _refusal(answer, path, path.name)) is not None:
            return refusal
        if options.dry_run and answer is not None:
            return _dry_run_answer(writer, answer, path, path.name)
        break
    await writer.store.written(path.info, key_of(path), answer.resource_version if answer else None)
    obj = writer.store.get(path.info, key_of(path))
    return json_response(await _answer_object(writer, path, caller, obj)) if obj is not None else \
        json_response(not_found(path.info.plural, path.info.group, path.name), status=404)


async def delete_options(request: web.Request) -> Obj:
    """DeleteOptions from the body (kubectl sends one) and the query (which wins)."""
    options: Obj = {}
    if request.can_read_body:
        try:
            options = await json_body(request)
        except BadBody:
            options = {}
    for field in ("propagationPolicy", "gracePeriodSeconds"):
        if field in request.query:
            options[field] = request.query[field]
    return options


async def delete(request: web.Request, writer: Writer, path: ResourcePath, caller: Caller) -> web.Response:
    options = await delete_options(request)
    try:
        dry_run = _options(request, "Delete").dry_run
    except BadBody as exc:
        return error(exc.reason, str(exc))
    return await delete_object(writer, path, caller, options, dry_run=dry_run)


async def delete_object(writer: Writer, path: ResourcePath, caller: Caller, options: Obj, *,
                        dry_run: bool = False) -> web.Response:
    """Delete `path`'s object as `caller` with `options` (a DeleteOptions' JSON): the object
    while it is still terminating, a Status Success once gone, or the refusal (also used by
    `services.apiserver.eviction`)."""
    dry_run = dry_run or "All" in (options.get("dryRun") or [])
    policy = options.get("propagationPolicy")
    if policy not in (None, "Background", "Foreground", "Orphan"):
        return error("BadRequest", f"propagationPolicy: Unsupported value: {policy!r}")
    grace = options.get("gracePeriodSeconds")
    expected = own_version((options.get("preconditions") or {}).get("resourceVersion"))
    delete_request = _request(Op.DELETE, path, caller, name=path.name, expected=expected,
                              propagationPolicy=policy,
                              gracePeriodSeconds=int(grace) if grace not in (None, "") else None, dryRun=dry_run)
    answer = await writer.requests.send(delete_request, caller=caller)
    if (refusal := _refusal(answer, path, path.name)) is not None:
        return refusal
    if dry_run and answer is not None:
        return _dry_run_answer(writer, answer, path, path.name)
    await writer.store.barrier()
    obj = writer.store.get(path.info, key_of(path))
    if obj is not None:  # graceful deletion or finalizers: the object, with its deletionTimestamp
        return json_response(obj)
    return json_response(success(name=path.name, group=path.info.group, kind=path.info.plural,
                                 uid=answer.uid if answer else None))
